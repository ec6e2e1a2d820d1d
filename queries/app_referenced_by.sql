-- The tables of a scan run ($1) with a foreign key to table $2.
SELECT DISTINCT schema_name, table_name
FROM normalized_columns
WHERE run_id = $1 AND starts_with(foreign_key, $2 || '.')
ORDER BY ALL
