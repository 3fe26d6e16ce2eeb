-- The identity provider's refresh token, sealed like the access token: a
-- session whose access token has ended is renewed with it rather than ended,
-- so a form being filled in is not lost to a short-lived token.
ALTER TABLE web_sessions ADD COLUMN refresh BYTEA;
