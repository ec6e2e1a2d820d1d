-- One table's ($2) metrics in a quality run ($1).
SELECT * FROM table_quality_metrics WHERE run_id = $1 AND table_qualified_name = $2
