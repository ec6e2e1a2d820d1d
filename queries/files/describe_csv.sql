-- Columns of CSV files with the types DuckDB sniffs ($1 files, $2 hive partitioning, $3 union by name).
DESCRIBE SELECT * FROM read_csv($1, hive_partitioning = $2, union_by_name = $3)
