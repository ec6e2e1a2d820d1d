-- Columns of JSON files with the types DuckDB infers ($1 files, $2 hive partitioning, $3 union
-- by name, $4 format: auto for .json, newline_delimited for .ndjson / .jsonl).
DESCRIBE SELECT * FROM read_json($1, hive_partitioning = $2, union_by_name = $3, format = $4)
