-- Views every catalog connection has. The store defines the base tables first:
-- sync_runs (from run manifests) and one view per catalog table over the runs' Parquet files.

CREATE OR REPLACE VIEW scan_runs AS
SELECT * FROM sync_runs WHERE run_type = 'scan';

-- The newest usable scan of each connection (success, or partial: what it could not read is unknown).
CREATE OR REPLACE VIEW latest_scan_runs AS
SELECT connection, arg_max(run_id, started_at) AS run_id, max(started_at) AS started_at
FROM sync_runs
WHERE run_type = 'scan' AND status IN ('success', 'partial')
GROUP BY connection;

CREATE OR REPLACE VIEW latest_schema_metadata AS
SELECT s.* FROM normalized_schemas s JOIN latest_scan_runs l USING (run_id);

CREATE OR REPLACE VIEW latest_table_metadata AS
SELECT t.* FROM normalized_tables t JOIN latest_scan_runs l USING (run_id);

CREATE OR REPLACE VIEW latest_column_metadata AS
SELECT c.* FROM normalized_columns c JOIN latest_scan_runs l USING (run_id);
