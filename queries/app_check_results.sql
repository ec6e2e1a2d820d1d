-- Checks page: every check result of connection $1's newest run that evaluated checks.
WITH newest AS (
    SELECT run_id, started_at FROM check_runs WHERE connection = $1 ORDER BY started_at DESC, run_id DESC LIMIT 1
)
SELECT r.run_id, n.started_at, r.qualified_name, r.schema_name, r.table_name, r.column_name, r.name, r."check",
       r.metric, r.value, r.value_text, r.outcome, r.fail_threshold, r.warn_threshold, r.samples, r.samples_masked,
       r.error
FROM check_results r JOIN newest n USING (run_id)
ORDER BY CASE r.outcome WHEN 'fail' THEN 0 WHEN 'error' THEN 1 WHEN 'warn' THEN 2 ELSE 3 END,
         r.qualified_name, r.name
