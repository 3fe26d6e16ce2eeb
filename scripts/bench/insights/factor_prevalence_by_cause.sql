-- Factor (item) prevalence by cause of the incident, pooled, 2024.
WITH scope AS (
  SELECT review_key, cause FROM facts_reviews
  WHERE quarter BETWEEN '2024-Q1' AND '2024-Q4' AND jurisdiction <> 'us-wa'
),
per_cause AS (SELECT cause, count(*) AS n FROM scope GROUP BY cause)
SELECT s.cause, l.item_code, count(DISTINCT l.review_key) AS reviews, p.n AS of
FROM facts_levels l JOIN scope s USING (review_key) JOIN per_cause p USING (cause)
WHERE l.level >= 2
GROUP BY s.cause, l.item_code, p.n
ORDER BY s.cause, l.item_code;
