-- Recommendations by category and strength, pooled, reviews of 2024.
SELECT r.category, r.strength, count(*) AS recommendations,
       count(*) FILTER (WHERE r.status = 4) AS implemented
FROM facts_recommendations r
JOIN facts_reviews v USING (review_key)
WHERE v.quarter BETWEEN '2024-Q1' AND '2024-Q4' AND v.jurisdiction <> 'us-wa'
GROUP BY r.category, r.strength
ORDER BY r.category, r.strength;
