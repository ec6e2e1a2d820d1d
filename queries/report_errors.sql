-- What scan run $1 and quality run $2 could not read (their objects are unknown, not missing).
SELECT phase, object_type, qualified_name, error
FROM run_errors
WHERE run_id IN ($1, $2)
ORDER BY phase, qualified_name
LIMIT 5000
