-- Whether an implemented recommendation worked, once checked (the review's
-- `effectiveness`; 0 until checked).
ALTER TABLE facts_recommendations ADD COLUMN effectiveness INTEGER NOT NULL DEFAULT 0;
