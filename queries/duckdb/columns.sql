-- Columns of tables and views with the full type text: STRUCT(a INTEGER, b VARCHAR),
-- INTEGER[], INTEGER[3], MAP(VARCHAR, INTEGER), UNION(...), ENUM('a', 'b').
SELECT c.database_name, c.schema_name, c.table_name, c.column_name,
       c.column_index AS ordinal_position, c.data_type, c.is_nullable, c.column_default, c.comment,
       json_object('numeric_precision', c.numeric_precision, 'numeric_scale', c.numeric_scale,
                   'max_length', c.character_maximum_length) AS extra
FROM duckdb_columns() c
WHERE NOT c.internal AND c.database_name NOT IN ('system', 'temp')
  AND c.schema_name NOT IN ('information_schema', 'pg_catalog')
ORDER BY c.database_name, c.schema_name, c.table_name, c.column_index
