-- The quality score of one quality run ($1), for one schema ($2, NULL = all) and table ($3,
-- NULL = all): the mean of the table scores (as connection_quality_scores for the whole run).
SELECT avg(m.quality_score) AS quality_score
FROM table_quality_metrics m
LEFT JOIN latest_table_metadata t ON t.qualified_name = m.table_qualified_name
WHERE m.run_id = $1
  AND ($2 IS NULL OR t.schema_name = $2)
  AND ($3 IS NULL OR t.table_name = $3)
