-- Checks page: one check's results over time (connection $1, table $2, check name $3).
SELECT c.started_at, r.run_id, r.value, r.value_text, r.outcome
FROM check_results r JOIN check_runs c USING (run_id)
WHERE r.connection = $1 AND r.qualified_name = $2 AND r.name = $3
ORDER BY c.started_at
