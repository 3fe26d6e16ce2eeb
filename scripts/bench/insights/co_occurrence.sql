-- Pairs of items agreed at 2 or above in the same review, pooled, 2024, with
-- each item's own count for the lift.
WITH scope AS (
  SELECT review_key FROM facts_reviews
  WHERE quarter BETWEEN '2024-Q1' AND '2024-Q4' AND jurisdiction <> 'us-wa'
),
present AS (
  SELECT DISTINCT l.review_key, l.item_code
  FROM facts_levels l JOIN scope USING (review_key)
  WHERE l.level >= 2
),
single AS (SELECT item_code, count(*) AS n FROM present GROUP BY item_code)
SELECT a.item_code, b.item_code, count(*) AS together, sa.n, sb.n,
       (SELECT count(*) FROM scope) AS of
FROM present a
JOIN present b ON a.review_key = b.review_key AND a.item_code < b.item_code
JOIN single sa ON sa.item_code = a.item_code
JOIN single sb ON sb.item_code = b.item_code
GROUP BY a.item_code, b.item_code, sa.n, sb.n
ORDER BY a.item_code, b.item_code;
