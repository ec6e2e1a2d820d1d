-- The filtered columns offered for a closer look, worst first (at most 1,000).
SELECT concat_ws('.', schema_name, table_name, column_name) AS label, qualified_name, table_qualified_name, column_name
FROM quality_columns
ORDER BY quality_score NULLS LAST, label
LIMIT 1000
