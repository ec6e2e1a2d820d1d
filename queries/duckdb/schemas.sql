-- Schemas of the opened file and of every attached database (the connector names the latter
-- `database.schema`). DuckDB marks `main` internal, so only the system catalogs are left out.
SELECT database_name, schema_name, comment
FROM duckdb_schemas()
WHERE database_name NOT IN ('system', 'temp')
  AND schema_name NOT IN ('information_schema', 'pg_catalog')
ORDER BY database_name, schema_name
