-- The newest finished quality run's column metrics of a connection ($1): what the never_null,
-- empty_strings and all_null rules read.
WITH newest AS (
    SELECT run_id FROM sync_runs
    WHERE run_type = 'quality' AND connection = $1 AND status IN ('success', 'partial')
    ORDER BY started_at DESC
    LIMIT 1
)
SELECT m.run_id, m.table_qualified_name, m.column_name, m.total_count, m.null_count, m.empty_count, m.approximate
FROM column_quality_metrics m JOIN newest USING (run_id)
