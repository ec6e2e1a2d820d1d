-- The columns of one scan run ($1) the lint rules read (dsa/lint.py).
SELECT qualified_name, table_qualified_name, schema_name, table_name, column_name, ordinal_position, data_type,
       type_family, is_nullable, is_primary_key, foreign_key
FROM normalized_columns
WHERE run_id = $1
ORDER BY table_qualified_name, ordinal_position
