-- The schema tree of one Parquet file (depth first; num_children says where a group ends):
-- the connector reads REQUIRED / OPTIONAL of the top-level fields as nullability.
SELECT name, type, repetition_type, num_children, converted_type, logical_type, duckdb_type
FROM parquet_schema($1)
