-- The successful and partial scan runs of every connection, newest first per connection.
SELECT connection, run_id, started_at, status
FROM sync_runs
WHERE run_type = 'scan' AND status IN ('success', 'partial')
ORDER BY connection, started_at DESC, run_id DESC
