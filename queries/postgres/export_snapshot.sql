-- The snapshot of this session's transaction, for the other sessions profiling the same table
-- (each runs BEGIN ... REPEATABLE READ, then SET TRANSACTION SNAPSHOT with this value).
SELECT pg_export_snapshot()
