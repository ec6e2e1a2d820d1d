-- The worst columns of quality run $1 (in the tables named in $2, NULL: all) scoring under $3,
-- and why: the profiler's own explanation.
SELECT schema_name, table_name, column_name, data_type, quality_score, null_percentage, distinct_percentage,
       score_explanation AS why
FROM column_quality_metrics
WHERE run_id = $1 AND quality_score < $3
  AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], table_qualified_name))
ORDER BY quality_score, null_percentage DESC NULLS LAST, schema_name, table_name, column_name
LIMIT 25
