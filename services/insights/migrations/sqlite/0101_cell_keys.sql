-- Cell keys: every counted record (a review, a recommendation) carries a
-- permanent random key, set when it enters the projection and never changed or
-- shown. A published cell's perturbation is derived from the sum of its
-- records' keys (docs/insights.md, "Disclosure control").
ALTER TABLE facts_reviews ADD COLUMN cell_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE facts_recommendations ADD COLUMN cell_key INTEGER NOT NULL DEFAULT 0;
UPDATE facts_reviews SET cell_key = random() & 4294967295;
UPDATE facts_recommendations SET cell_key = random() & 4294967295;
