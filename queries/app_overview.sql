-- Overview: each connection's newest scan and quality run, with the newest scan's counts.
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY connection, run_type ORDER BY started_at DESC, run_id DESC) AS n
    FROM sync_runs
    WHERE run_type IN ('scan', 'quality')
),
last_scan AS (SELECT * FROM ranked WHERE run_type = 'scan' AND n = 1),
last_quality AS (SELECT * FROM ranked WHERE run_type = 'quality' AND n = 1),
last_good_scan AS (
    SELECT connection, arg_max(run_id, started_at) AS run_id FROM sync_runs
    WHERE run_type = 'scan' AND status IN ('success', 'partial') GROUP BY connection
),
counts AS (
    SELECT g.connection, s.schema_count, s.table_count, s.column_count
    FROM last_good_scan g JOIN sync_runs s USING (run_id)
)
SELECT
    c.connection,
    s.run_id AS scan_run, s.status AS scan_status, s.started_at AS scan_at, s.duration_s AS scan_seconds,
    q.run_id AS quality_run, q.status AS quality_status, q.started_at AS quality_at, q.duration_s AS quality_seconds,
    n.schema_count AS schemas, n.table_count AS tables, n.column_count AS columns
FROM (SELECT DISTINCT connection FROM sync_runs) c
LEFT JOIN last_scan s USING (connection)
LEFT JOIN last_quality q USING (connection)
LEFT JOIN counts n USING (connection)
ORDER BY c.connection
