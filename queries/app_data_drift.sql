-- The data drift a stored diff run ($1) found between the quality runs of its two scans, largest first.
SELECT entity_type, qualified_name, metric, from_value, to_value, change, unit, severity
FROM incremental_diff_data
WHERE run_id = $1
ORDER BY drift_rank
LIMIT 5000
