-- Every table of one scan run ($1), as stored: a per-run frame Explore picks a table from.
SELECT * FROM normalized_tables
WHERE run_id = $1
ORDER BY schema_name, table_name
