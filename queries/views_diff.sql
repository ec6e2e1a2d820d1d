-- Views of the diff feature (dsa/diff.py, queries/diff/*.sql).

-- Diff runs with the runs they compared (from run.json's details).
CREATE OR REPLACE VIEW diff_sync_runs AS
SELECT run_id, connection, status, started_at, finished_at, duration_s, error,
       details->>'from_run' AS from_run_id,
       details->>'to_run' AS to_run_id,
       details->>'from_connection' AS from_connection,
       details->>'to_connection' AS to_connection,
       details->>'from_quality_run' AS from_quality_run,
       details->>'to_quality_run' AS to_quality_run,
       (details->>'renames')::BOOLEAN AS renames,
       (counts->>'change_count')::BIGINT AS change_count,
       (counts->>'drift_count')::BIGINT AS drift_count,
       (counts->>'unknown_count')::BIGINT AS unknown_count,
       triggered_by
FROM sync_runs
WHERE run_type = 'diff';

-- The newest usable diff of each connection (success, or partial: what it could not read is unknown).
CREATE OR REPLACE VIEW latest_diff_runs AS
SELECT connection, arg_max(run_id, started_at) AS run_id, max(started_at) AS started_at
FROM sync_runs
WHERE run_type = 'diff' AND status IN ('success', 'partial')
GROUP BY connection;

-- Every change of every diff (one row per entity that is not unchanged), all entity types.
CREATE OR REPLACE VIEW diff_changes AS
SELECT run_id, connection, 'schema' AS entity_type, qualified_name, previous_name, change_type, changes
FROM incremental_diff_schema WHERE change_type <> 'unchanged'
UNION ALL
SELECT run_id, connection, 'table', qualified_name, previous_name, change_type, changes
FROM incremental_diff_table WHERE change_type <> 'unchanged'
UNION ALL
SELECT run_id, connection, 'column', qualified_name, previous_name, change_type, changes
FROM incremental_diff_column WHERE change_type <> 'unchanged'
UNION ALL
SELECT run_id, connection, 'constraint', qualified_name, previous_name, change_type, changes
FROM incremental_diff_constraint WHERE change_type <> 'unchanged'
UNION ALL
SELECT run_id, connection, 'index', qualified_name, previous_name, change_type, changes
FROM incremental_diff_index WHERE change_type <> 'unchanged';
