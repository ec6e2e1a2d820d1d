-- The catalog tables the diff reads, as TEMP views over just the Parquet files of the runs it
-- compares (variables diff_files_<table>, listed by dsa/diff.py: the table's empty schema file,
-- so every column of the current schema exists, then the runs' parts). The diff's connection
-- has no other catalog views: the store-wide ones glob every run of the store and would read
-- every run's run_id column to find two runs.
CREATE OR REPLACE TEMP VIEW normalized_schemas AS
SELECT * FROM read_parquet(getvariable('diff_files_normalized_schemas'), union_by_name = true);

CREATE OR REPLACE TEMP VIEW normalized_tables AS
SELECT * FROM read_parquet(getvariable('diff_files_normalized_tables'), union_by_name = true);

CREATE OR REPLACE TEMP VIEW normalized_columns AS
SELECT * FROM read_parquet(getvariable('diff_files_normalized_columns'), union_by_name = true);

CREATE OR REPLACE TEMP VIEW run_errors AS
SELECT * FROM read_parquet(getvariable('diff_files_run_errors'), union_by_name = true);
