-- Cell keys: every counted record (a review, a recommendation) carries a
-- permanent random key, set when it enters the projection and never changed or
-- shown. A published cell's perturbation is derived from the sum of its
-- records' keys (docs/insights.md, "Disclosure control").
ALTER TABLE facts_reviews ADD COLUMN cell_key BIGINT NOT NULL DEFAULT 0;
ALTER TABLE facts_recommendations ADD COLUMN cell_key BIGINT NOT NULL DEFAULT 0;
-- gen_random_uuid draws from the operating system's strong random source.
UPDATE facts_reviews
   SET cell_key = ('x' || substr(md5(gen_random_uuid()::text), 1, 8))::bit(32)::bigint;
UPDATE facts_recommendations
   SET cell_key = ('x' || substr(md5(gen_random_uuid()::text), 1, 8))::bit(32)::bigint;
