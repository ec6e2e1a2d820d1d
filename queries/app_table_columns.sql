-- The columns of one table ($2) in a scan run ($1), in their order.
SELECT * FROM normalized_columns
WHERE run_id = $1 AND table_qualified_name = $2
ORDER BY ordinal_position
