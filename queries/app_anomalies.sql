-- Anomalies of connection $1 (the monitors' flags and the diffs' schema events), with the run that
-- flagged them and when it started, newest first: the marks on the app's time charts.
SELECT s.started_at, a.run_id, s.run_type, a.qualified_name, a.table_qualified_name, a.column_name, a.metric,
       a.value, a.expected, a.score, a.explanation
FROM anomalies a JOIN sync_runs s USING (run_id)
WHERE a.connection = $1
ORDER BY s.started_at DESC, abs(coalesce(a.score, 0)) DESC, a.qualified_name, a.metric
