-- One table of a scan run ($1) by schema ($2) and table name ($3).
SELECT * FROM normalized_tables
WHERE run_id = $1 AND schema_name IS NOT DISTINCT FROM $2 AND table_name = $3
