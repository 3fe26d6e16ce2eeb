-- Theme prevalence by cause, pooled, 2024.
WITH scope AS (
  SELECT review_key, cause FROM facts_reviews
  WHERE quarter BETWEEN '2024-Q1' AND '2024-Q4' AND jurisdiction <> 'us-wa'
),
per_cause AS (SELECT cause, count(*) AS n FROM scope GROUP BY cause)
SELECT s.cause, t.theme, count(DISTINCT t.review_key) AS reviews, p.n AS of
FROM facts_themes t JOIN scope s USING (review_key) JOIN per_cause p USING (cause)
GROUP BY s.cause, t.theme, p.n
ORDER BY s.cause, t.theme;
