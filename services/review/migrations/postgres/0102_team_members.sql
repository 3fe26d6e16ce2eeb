-- Who a team row names (`member`, the subject), so "the reviews a person is
-- on" is one indexed lookup. Rows written before this column are filled in
-- by the service at start-up (the subject is inside the encoded body).
ALTER TABLE review_items ADD COLUMN member TEXT;
CREATE INDEX review_items_by_member ON review_items (kind, member);
