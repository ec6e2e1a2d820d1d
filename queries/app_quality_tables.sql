-- Every table's metrics in one quality run ($1), with the schema and table name of the newest
-- scan: a per-run frame the quality score of a schema or a table is taken from (the mean of its
-- tables' scores, as connection_quality_scores for the whole run).
SELECT m.* REPLACE (coalesce(t.schema_name, m.schema_name) AS schema_name,
                    coalesce(t.table_name, m.table_name) AS table_name)
FROM table_quality_metrics m
LEFT JOIN latest_table_metadata t ON t.qualified_name = m.table_qualified_name
WHERE m.run_id = $1
