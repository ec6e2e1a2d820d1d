-- Column profiles of one quality run ($1) with the filters of the Quality page:
-- schema ($2, NULL = all), table ($3, NULL = all), type families ($4, empty = all), score range ($5, $6).
-- Joined to the newest scan of the connection for each column's schema, table and type family.
WITH cols AS (
    SELECT table_qualified_name, column_name, schema_name, table_name, data_type, type_family
    FROM latest_column_metadata
    WHERE connection = (SELECT connection FROM sync_runs WHERE run_id = $1)
)
SELECT m.table_qualified_name, m.column_name, c.schema_name, c.table_name, c.data_type, c.type_family,
       m.total_count, m.null_count, m.null_percentage, m.distinct_count, m.distinct_percentage,
       m.min_value, m.max_value, m.quality_score, m.qualified_name
FROM column_quality_metrics m
LEFT JOIN cols c USING (table_qualified_name, column_name)
WHERE m.run_id = $1
  AND ($2 IS NULL OR c.schema_name = $2)
  AND ($3 IS NULL OR c.table_name = $3)
  AND (len($4::VARCHAR[]) = 0 OR list_contains($4::VARCHAR[], c.type_family))
  AND coalesce(m.quality_score, 100) BETWEEN $5 AND $6
