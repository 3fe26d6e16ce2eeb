-- Sessions signed in with the identity provider keep its access token, to
-- call the services as the person: sealed with a key derived from the
-- cookie's value (which the table never holds), and ending the session when
-- the token does (`ends`, microseconds). Development sessions have neither.
ALTER TABLE web_sessions ADD COLUMN token BLOB;
ALTER TABLE web_sessions ADD COLUMN ends BIGINT;
