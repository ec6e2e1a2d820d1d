-- The 25 lowest-scoring filtered columns and why: the profiler's own explanation when it gave
-- one, else what the metrics show.
SELECT c.schema_name, c.table_name, c.column_name, c.data_type, c.quality_score, c.null_percentage,
       c.distinct_percentage,
       coalesce(nullif(m.score_explanation, ''),
                nullif(concat_ws('; ',
                    CASE WHEN c.null_count > 0 THEN printf('%.1f%% null', c.null_percentage) END,
                    CASE WHEN c.total_count > 0 AND c.distinct_count = 1 THEN 'a single value' END,
                    CASE WHEN c.total_count > 0 AND c.null_count = c.total_count THEN 'all values missing' END,
                    CASE WHEN c.total_count = 0 THEN 'empty table' END), ''),
                'no points lost') AS why
FROM quality_columns c
LEFT JOIN column_quality_metrics m ON m.run_id = $1 AND m.qualified_name = c.qualified_name
ORDER BY c.quality_score NULLS LAST, c.null_percentage DESC, c.qualified_name
LIMIT 25
