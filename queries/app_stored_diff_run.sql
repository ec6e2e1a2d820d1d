-- The newest finished diff run (`dsa diff`) of exactly these two scan runs ($1 older, $2 newer).
SELECT run_id FROM diff_sync_runs
WHERE from_run_id = $1 AND to_run_id = $2 AND status IN ('success', 'partial')
ORDER BY started_at DESC, run_id DESC
LIMIT 1
