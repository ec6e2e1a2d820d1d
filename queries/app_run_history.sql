-- The newest 1,000 runs of every kind.
SELECT run_id, connection, run_type, status, started_at, duration_s, schema_count, table_count, column_count,
       error_count, error, triggered_by
FROM sync_runs
ORDER BY started_at DESC, run_id DESC
LIMIT 1000
