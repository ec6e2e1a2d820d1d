-- Overview: what needs attention, per connection, most pressing first: failed and erroring checks
-- of the newest run that judged checks, anomalies of the newest usable quality run, tables whose
-- score dropped 5 points or more between the two newest usable quality runs, and the schema
-- changes of the newest usable diff. Usable: successful or partial (dsa.catalog.USABLE).
-- `run_id` is the run that reported the row.
WITH last_checks AS (
    SELECT connection, run_id,
           row_number() OVER (PARTITION BY connection ORDER BY started_at DESC, run_id DESC) AS n
    FROM check_runs
), last_quality AS (
    SELECT connection, run_id,
           row_number() OVER (PARTITION BY connection ORDER BY started_at DESC, run_id DESC) AS n
    FROM sync_runs WHERE run_type = 'quality' AND status IN ('success', 'partial')
), last_diff AS (
    SELECT connection, run_id,
           row_number() OVER (PARTITION BY connection ORDER BY started_at DESC, run_id DESC) AS n
    FROM sync_runs WHERE run_type = 'diff' AND status IN ('success', 'partial')
), scores AS (
    SELECT q.connection, q.n, t.qualified_name, t.quality_score
    FROM last_quality q JOIN table_quality_metrics t USING (run_id)
    WHERE q.n <= 2 AND t.quality_score IS NOT NULL
), found AS (
    SELECT r.connection, CASE r.outcome WHEN 'fail' THEN 0 ELSE 1 END AS rank, 'failed check' AS kind,
           r.outcome AS severity, r.qualified_name AS what, r.run_id,
           r.name || ': ' || coalesce(r.error, r.value_text || ' (' || r.outcome || ' unless ' || r.fail_threshold || ')')
               AS detail
    FROM check_results r JOIN last_checks c USING (connection, run_id)
    WHERE c.n = 1 AND r.outcome IN ('fail', 'error')
    UNION ALL
    SELECT a.connection, 2, 'anomaly', 'anomaly', a.qualified_name, a.run_id, a.explanation
    FROM anomalies a JOIN last_quality q USING (connection, run_id)
    WHERE q.n = 1
    UNION ALL
    SELECT new.connection, 3, 'score drop', 'drop', new.qualified_name, NULL,
           'quality score ' || CAST(CAST(new.quality_score AS DECIMAL(6, 1)) AS VARCHAR)
               || ', was ' || CAST(CAST(old.quality_score AS DECIMAL(6, 1)) AS VARCHAR)
    FROM scores new JOIN scores old USING (connection, qualified_name)
    WHERE new.n = 1 AND old.n = 2 AND new.quality_score <= old.quality_score - 5
    UNION ALL
    SELECT a.connection, 4, 'schema change', 'change', a.qualified_name, a.run_id, a.explanation
    FROM anomalies a JOIN last_diff d USING (connection, run_id)
    WHERE d.n = 1
)
SELECT connection, kind, severity, what, detail, run_id FROM found
ORDER BY connection, rank, what, detail
