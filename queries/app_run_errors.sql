-- What one run ($1) could not read, object by object.
SELECT qualified_name, object_type, phase, error
FROM run_errors
WHERE run_id = $1
ORDER BY qualified_name
LIMIT 5000
