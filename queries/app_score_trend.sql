-- Each connection's quality score per quality run: the mean of its tables' scores (0-100).
SELECT r.connection, r.run_id, r.started_at, avg(t.quality_score) AS quality_score, count(*) AS tables
FROM table_quality_metrics t
JOIN sync_runs r USING (run_id)
WHERE r.status IN ('success', 'partial') AND t.quality_score IS NOT NULL
GROUP BY ALL
ORDER BY r.connection, r.started_at
