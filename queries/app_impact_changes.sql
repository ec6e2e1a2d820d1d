-- A diff run's changed tables and columns ($1: the diff run id), with the older scan they are
-- looked up in, for their impact downstream (dsa.lineage_graph.diff_impact).
WITH changed AS (
    SELECT 'table' AS entity_type, qualified_name, previous_name, change_type, changes
    FROM incremental_diff_table
    WHERE run_id = $1 AND change_type IN ('removed', 'renamed', 'modified')
    UNION ALL
    SELECT 'column', qualified_name, previous_name, change_type, changes
    FROM incremental_diff_column
    WHERE run_id = $1 AND change_type IN ('removed', 'renamed', 'modified')
)
SELECT d.from_run_id, c.*
FROM changed c CROSS JOIN (SELECT from_run_id FROM diff_sync_runs WHERE run_id = $1) d
ORDER BY c.entity_type DESC, c.qualified_name
