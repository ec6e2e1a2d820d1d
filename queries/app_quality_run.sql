-- The quality runs of a connection, newest first (status success or partial).
SELECT run_id, started_at, status
FROM sync_runs
WHERE connection = $1 AND run_type = 'quality' AND status IN ('success', 'partial')
ORDER BY started_at DESC, run_id DESC
