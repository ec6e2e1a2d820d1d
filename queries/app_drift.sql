-- Data drift between two quality runs ($1 older, $2 newer): per column, the change in null %,
-- distinct count and score, matched on names below the connection; largest moves first.
WITH a AS (
    SELECT m.*, c.schema_name, c.table_name FROM column_quality_metrics m
    LEFT JOIN normalized_columns c ON c.qualified_name = m.qualified_name
     AND c.run_id = (SELECT arg_max(run_id, started_at) FROM sync_runs WHERE run_type = 'scan'
                     AND connection = m.connection AND started_at <= (SELECT started_at FROM sync_runs WHERE run_id = $1))
    WHERE m.run_id = $1
),
b AS (
    SELECT m.*, c.schema_name, c.table_name FROM column_quality_metrics m
    LEFT JOIN normalized_columns c ON c.qualified_name = m.qualified_name
     AND c.run_id = (SELECT arg_max(run_id, started_at) FROM sync_runs WHERE run_type = 'scan'
                     AND connection = m.connection AND started_at <= (SELECT started_at FROM sync_runs WHERE run_id = $2))
    WHERE m.run_id = $2
)
SELECT coalesce(b.table_name, a.table_name, b.table_qualified_name) AS table_name, b.column_name,
       a.total_count AS old_rows, b.total_count AS new_rows,
       a.null_percentage AS old_null_pct, b.null_percentage AS new_null_pct,
       b.null_percentage - a.null_percentage AS null_pct_change,
       a.distinct_count AS old_distinct, b.distinct_count AS new_distinct,
       a.min_value AS old_min, b.min_value AS new_min, a.max_value AS old_max, b.max_value AS new_max,
       a.quality_score AS old_score, b.quality_score AS new_score, b.quality_score - a.quality_score AS score_change
FROM a JOIN b ON a.schema_name IS NOT DISTINCT FROM b.schema_name AND a.table_name = b.table_name
              AND a.column_name = b.column_name
ORDER BY greatest(abs(coalesce(b.null_percentage - a.null_percentage, 0)),
                  abs(coalesce(b.quality_score - a.quality_score, 0))) DESC,
         table_name, column_name
LIMIT 5000
