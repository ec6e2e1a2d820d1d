-- Indexes made with CREATE INDEX (the ART indexes behind keys are not listed by DuckDB).
-- `expressions` is text like [a, lower(b)]: the connector reads the columns from `sql`.
SELECT database_name, schema_name, table_name, index_name, is_unique, is_primary, 'art' AS method,
       expressions, sql AS definition
FROM duckdb_indexes()
WHERE database_name NOT IN ('system', 'temp')
ORDER BY database_name, schema_name, table_name, index_name
