-- The tables of one scan run ($1) with what a reader sorts them by: rows (the quality run's
-- count $2, else the engine's estimate), quality score, column count and the last change
-- (the newest scan run, up to this one, whose stored diff changed the table).
WITH changed AS (
    SELECT c.qualified_name, max(r.started_at) AS changed_at
    FROM incremental_diff_table c
    JOIN sync_runs r ON r.run_id = c.to_run_id
    WHERE c.change_type NOT IN ('unchanged', 'unknown')
      AND r.connection = (SELECT connection FROM sync_runs WHERE run_id = $1)
      AND r.started_at <= (SELECT started_at FROM sync_runs WHERE run_id = $1)
    GROUP BY ALL
)
SELECT t.schema_name, t.table_name, t.table_type, t.qualified_name,
       coalesce(q.row_count, t.row_estimate) AS row_count, q.quality_score,
       t.column_count,
       ch.changed_at
FROM normalized_tables t
LEFT JOIN table_quality_metrics q ON q.run_id = $2 AND q.table_qualified_name = t.qualified_name
LEFT JOIN changed ch ON ch.qualified_name = t.qualified_name
WHERE t.run_id = $1
ORDER BY t.schema_name, t.table_name
