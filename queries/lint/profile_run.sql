-- One quality run's ($1) column metrics: what the never_null, empty_strings and all_null rules
-- read when a report names the quality run that profiled its scan (dsa/lint.py).
SELECT m.run_id, m.table_qualified_name, m.column_name, m.total_count, m.null_count, m.empty_count, m.approximate
FROM column_quality_metrics m
WHERE m.run_id = $1
