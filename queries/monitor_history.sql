-- The history monitors read (dsa/monitors.py): each table and column metric in quality run $2 and
-- in the $3 usable (successful or partial: dsa.catalog.USABLE) quality runs of connection $1 before it, one row per run and metric.
WITH current_run AS (
    SELECT started_at FROM sync_runs WHERE run_id = $2
), runs AS (
    SELECT run_id, started_at FROM sync_runs
    WHERE connection = $1 AND run_type = 'quality'
      AND (run_id = $2 OR (status IN ('success', 'partial') AND started_at < (SELECT started_at FROM current_run)))
    ORDER BY started_at DESC
    LIMIT $3 + 1
), tables AS (
    SELECT m.* FROM table_quality_metrics m JOIN runs USING (run_id) WHERE m.status = 'profiled'
), columns AS (
    SELECT c.*, t.profiled_at FROM column_quality_metrics c JOIN tables t USING (run_id, table_qualified_name)
)
SELECT t.run_id, r.started_at, t.qualified_name, t.table_qualified_name, NULL::VARCHAR AS column_name,
       t.table_name AS label, x.metric, x.value
FROM tables t JOIN runs r USING (run_id),
     LATERAL (VALUES ('row_count', t.row_count::DOUBLE), ('quality_score', t.quality_score)) x(metric, value)
WHERE x.value IS NOT NULL
UNION ALL
SELECT c.run_id, r.started_at, c.qualified_name, c.table_qualified_name, c.column_name,
       c.table_name || '.' || c.column_name AS label, x.metric, x.value
FROM columns c JOIN runs r USING (run_id),
     LATERAL (VALUES
        ('null_percentage', c.null_percentage),
        ('distinct_percentage', c.distinct_percentage),
        ('min', CASE WHEN c.type_family IN ('integer', 'decimal', 'float') THEN TRY_CAST(c.min_value AS DOUBLE) END),
        ('max', CASE WHEN c.type_family IN ('integer', 'decimal', 'float') THEN TRY_CAST(c.max_value AS DOUBLE) END),
        ('mean', c.mean),
        ('freshness_hours', CASE WHEN c.type_family IN ('date', 'timestamp')
            THEN (epoch(c.profiled_at) - epoch(TRY_CAST(c.max_value AS TIMESTAMP))) / 3600.0 END)
     ) x(metric, value)
WHERE x.value IS NOT NULL
ORDER BY 3, 7, 2
