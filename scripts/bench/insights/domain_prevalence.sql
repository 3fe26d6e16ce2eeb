-- Domain prevalence, pooled, 2024: reviews with any item of the domain agreed
-- at "contributed" (2) or above, out of the reviews in scope (opted-out
-- jurisdictions left out).
WITH scope AS (
  SELECT review_key FROM facts_reviews
  WHERE quarter BETWEEN '2024-Q1' AND '2024-Q4' AND jurisdiction <> 'us-wa'
)
SELECT l.domain_code, count(DISTINCT l.review_key) AS reviews,
       (SELECT count(*) FROM scope) AS of
FROM facts_levels l JOIN scope USING (review_key)
WHERE l.level >= 2
GROUP BY l.domain_code
ORDER BY l.domain_code;
