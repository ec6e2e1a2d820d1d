-- Quality metrics views. The runs themselves are sync_runs rows with run_type = 'quality';
-- their details name the scan they profiled and the sample and top-K used.

CREATE OR REPLACE VIEW quality_metrics_runs AS
SELECT run_id, connection, status, started_at, finished_at, duration_s, error,
       json_extract_string(details, '$.scan_run_id') AS scan_run_id,
       json_extract_string(details, '$.sample') AS sample,
       TRY_CAST(json_extract_string(details, '$.top_k') AS INTEGER) AS top_k,
       json_extract_string(details, '$.tables') AS tables_glob,
       TRY_CAST(json_extract_string(counts, '$.table_count') AS BIGINT) AS table_count,
       TRY_CAST(json_extract_string(counts, '$.failed_tables') AS BIGINT) AS failed_tables,
       TRY_CAST(json_extract_string(counts, '$.quality_score') AS DOUBLE) AS quality_score,
       details, counts
FROM sync_runs
WHERE run_type = 'quality';

-- The newest usable quality run of each connection (success, or partial: what it could not read is unknown).
CREATE OR REPLACE VIEW latest_quality_runs AS
SELECT connection, arg_max(run_id, started_at) AS run_id, max(started_at) AS started_at
FROM sync_runs
WHERE run_type = 'quality' AND status IN ('success', 'partial')
GROUP BY connection;

CREATE OR REPLACE VIEW latest_table_quality_metrics AS
SELECT m.* FROM table_quality_metrics m JOIN latest_quality_runs l USING (run_id);

CREATE OR REPLACE VIEW latest_column_quality_metrics AS
SELECT m.* FROM column_quality_metrics m JOIN latest_quality_runs l USING (run_id);

CREATE OR REPLACE VIEW latest_column_top_values AS
SELECT m.* FROM column_top_values m JOIN latest_quality_runs l USING (run_id);

CREATE OR REPLACE VIEW latest_column_histograms AS
SELECT m.* FROM column_histograms m JOIN latest_quality_runs l USING (run_id);

-- One score per connection and quality run: the mean of its tables' scores.
CREATE OR REPLACE VIEW connection_quality_scores AS
SELECT run_id, connection, avg(quality_score) AS quality_score, count(*) AS table_count,
       count(*) FILTER (WHERE status <> 'profiled') AS failed_tables
FROM table_quality_metrics
GROUP BY run_id, connection;
