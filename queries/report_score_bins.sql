-- Columns per quality score bin of 5 points (the Quality page's distribution) of quality run
-- $1, in the tables named in $2 (NULL: all).
SELECT least(floor(quality_score / 5) * 5, 95) AS bin, count(*) AS columns
FROM column_quality_metrics
WHERE run_id = $1 AND quality_score IS NOT NULL
  AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], table_qualified_name))
GROUP BY 1
ORDER BY 1
