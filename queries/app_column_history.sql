-- A column's ($1) score and null % in every quality run that profiled it, newest first.
SELECT r.started_at, m.run_id, m.quality_score, m.null_percentage
FROM column_quality_metrics m
JOIN sync_runs r USING (run_id)
WHERE m.qualified_name = $1
ORDER BY r.started_at DESC
LIMIT 5000
