-- Overview: what needs attention, per connection: failed and erroring checks of the newest check
-- run, anomalies of the newest quality run, schema changes of the newest diff, and tables whose
-- score dropped 5 points or more between the two newest successful quality runs.
WITH last_checks AS (
    SELECT connection, arg_max(run_id, started_at) AS run_id FROM check_runs GROUP BY connection
), last_quality AS (
    SELECT connection, run_id, started_at,
           row_number() OVER (PARTITION BY connection ORDER BY started_at DESC, run_id DESC) AS n
    FROM sync_runs WHERE run_type = 'quality' AND status = 'success'
), last_diff AS (
    SELECT connection, arg_max(run_id, started_at) AS run_id FROM sync_runs
    WHERE run_type = 'diff' AND status = 'success' GROUP BY connection
), scores AS (
    SELECT q.connection, q.n, t.qualified_name, t.quality_score
    FROM last_quality q JOIN table_quality_metrics t USING (run_id) WHERE q.n <= 2
)
SELECT r.connection, 'failed check' AS kind, r.outcome AS severity, r.qualified_name AS what,
       r.name || ': ' || coalesce(r.error, r.value_text || ' (' || r.outcome || ' unless ' || r.fail_threshold || ')') AS detail
FROM check_results r JOIN last_checks USING (connection, run_id)
WHERE r.outcome IN ('fail', 'error')
UNION ALL
SELECT a.connection, 'anomaly', 'anomaly', a.qualified_name, a.explanation
FROM anomalies a JOIN last_quality q USING (connection, run_id) WHERE q.n = 1
UNION ALL
SELECT a.connection, 'schema change', 'change', a.qualified_name, a.explanation
FROM anomalies a JOIN last_diff USING (connection, run_id)
UNION ALL
SELECT new.connection, 'score drop', 'drop', new.qualified_name,
       'quality score ' || CAST(CAST(new.quality_score AS DECIMAL(6, 1)) AS VARCHAR)
           || ', was ' || CAST(CAST(old.quality_score AS DECIMAL(6, 1)) AS VARCHAR)
FROM scores new JOIN scores old USING (connection, qualified_name)
WHERE new.n = 1 AND old.n = 2 AND new.quality_score <= old.quality_score - 5
ORDER BY 1, 2, 4, 5
