-- Each connection's quality score per quality run (connection_quality_scores: the mean of its
-- tables' scores, a table's being the mean of its columns'), oldest first.
SELECT r.connection, r.run_id, r.started_at, s.quality_score, s.table_count AS tables
FROM connection_quality_scores s
JOIN sync_runs r USING (run_id)
WHERE r.status IN ('success', 'partial') AND s.quality_score IS NOT NULL
ORDER BY r.connection, r.started_at
