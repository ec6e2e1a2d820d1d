-- The tables of one scan run ($1) the lint rules read (dsa/lint.py).
SELECT qualified_name, schema_name, table_name, table_type, row_estimate, primary_key, custom_attributes
FROM normalized_tables
WHERE run_id = $1
ORDER BY qualified_name
