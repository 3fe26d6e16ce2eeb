-- "At most one" rules of a review's parts, kept by the database rather than
-- by a read before the write: a part that must be unique carries a key
-- (`SCR_LEAD` for the lead, so a review has one; `ROLE:subject` for other
-- team members), and two rows of one review and kind cannot share it. NULL
-- keys (parts without such a rule) never conflict.
ALTER TABLE review_items ADD COLUMN unique_key TEXT;
CREATE UNIQUE INDEX review_items_unique_key ON review_items (review_id, kind, unique_key);
