-- The quality metrics of the two quality runs tied to the compared scans (data_drift.sql), as
-- TEMP views over just those runs' Parquet files (see sources.sql).
CREATE OR REPLACE TEMP VIEW table_quality_metrics AS
SELECT * FROM read_parquet(getvariable('diff_files_table_quality_metrics'), union_by_name = true);

CREATE OR REPLACE TEMP VIEW column_quality_metrics AS
SELECT * FROM read_parquet(getvariable('diff_files_column_quality_metrics'), union_by_name = true);
