-- Search tables and columns of every connection's newest scan by name (case-insensitive).
SELECT 'table' AS kind, connection, schema_name, table_name, NULL AS column_name, table_type AS type
FROM latest_table_metadata
WHERE table_name ILIKE '%' || $1 || '%' OR comment ILIKE '%' || $1 || '%'
UNION ALL
SELECT 'column', connection, schema_name, table_name, column_name, data_type
FROM latest_column_metadata
WHERE column_name ILIKE '%' || $1 || '%' OR comment ILIKE '%' || $1 || '%'
ORDER BY kind DESC, connection, schema_name, table_name, column_name
LIMIT 200
