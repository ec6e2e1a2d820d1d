-- A column's ($2) most frequent values in one quality run ($1); masked values are not shown.
SELECT rank, CASE WHEN masked THEN 'masked value #' || rank ELSE coalesce(value, 'NULL') END AS value, count
FROM column_top_values
WHERE run_id = $1 AND column_qualified_name = $2
ORDER BY rank
LIMIT 50
