-- The schemas, tables and type families of a connection's newest scan ($1): the Quality page's filters.
SELECT DISTINCT schema_name, table_name, type_family
FROM latest_column_metadata
WHERE connection = $1
ORDER BY ALL
