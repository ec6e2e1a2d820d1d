-- Tables (estimated_size is DuckDB's row estimate) and views with their SQL.
SELECT database_name, schema_name, table_name, 'table' AS table_type, comment,
       estimated_size AS row_estimate, NULL AS view_definition,
       json_object('sql', sql, 'index_count', index_count,
                   'check_constraint_count', check_constraint_count, 'tags', tags) AS extra
FROM duckdb_tables()
WHERE NOT internal AND NOT temporary
UNION ALL
SELECT database_name, schema_name, view_name, 'view', comment, NULL, sql,
       json_object('tags', tags)
FROM duckdb_views()
WHERE NOT internal AND NOT temporary
ORDER BY 1, 2, 3
