-- The columns of one scan run ($1) as Explore shows them, by table and position: a per-run frame
-- Explore picks a table's columns (and the tables referencing it) from.
SELECT table_qualified_name, qualified_name, schema_name, table_name, ordinal_position, column_name, data_type,
       is_nullable, column_default, is_primary_key, is_unique, foreign_key, comment
FROM normalized_columns
WHERE run_id = $1
ORDER BY table_qualified_name, ordinal_position
