-- Every statement profiling a table reads one snapshot: its row count, its column statements
-- (on this session and the ones that join it, see export_snapshot.sql) and its foreign-key checks.
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY
