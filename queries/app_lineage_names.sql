-- Every table and column of each connection's newest successful scan: what `dsa lineage NAME`
-- and Explore's lineage look a name up in.
SELECT 'table' AS level, connection, run_id, qualified_name
FROM latest_table_metadata
UNION ALL
SELECT 'column', connection, run_id, qualified_name
FROM latest_column_metadata
ORDER BY level DESC, qualified_name
