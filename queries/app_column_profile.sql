-- One column's ($3 of table $2) whole profile in a quality run ($1).
SELECT * FROM column_quality_metrics
WHERE run_id = $1 AND table_qualified_name = $2 AND column_name = $3
