-- The column profiles of one quality run ($1) as the Quality page filters and draws them, with each
-- column's schema, table, type and type family from the connection's newest scan: a per-run frame,
-- read once and filtered in Polars (dsa.reports.ColumnFilter). Only what the page shows is read
-- (a column's whole profile is app_column_profile.sql).
WITH cols AS (
    SELECT table_qualified_name, column_name, schema_name, table_name, data_type, type_family
    FROM latest_column_metadata
    WHERE connection = (SELECT connection FROM sync_runs WHERE run_id = $1)
)
SELECT m.qualified_name, m.table_qualified_name, m.column_name,
       coalesce(c.schema_name, m.schema_name) AS schema_name, coalesce(c.table_name, m.table_name) AS table_name,
       coalesce(c.data_type, m.data_type) AS data_type, coalesce(c.type_family, m.type_family) AS type_family,
       m.total_count, m.null_count, m.null_percentage, m.distinct_count, m.distinct_percentage, m.quality_score,
       m.score_explanation, m.skipped_metrics,
       -- what the values chart of a column without repeating values needs (dsa.ui.value_charts)
       m.masked, m.min_length, m.avg_length, m.max_length, m.empty_count, m.whitespace_count, m.numeric_text_count
FROM column_quality_metrics m
LEFT JOIN cols c USING (table_qualified_name, column_name)
WHERE m.run_id = $1
