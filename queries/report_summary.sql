-- A report's counts: scan run $1, quality run $2 (NULL: none), the tables in $3 (NULL: all).
WITH t AS (
    SELECT * FROM normalized_tables
    WHERE run_id = $1 AND ($3::VARCHAR[] IS NULL OR list_contains($3::VARCHAR[], qualified_name))
),
c AS (SELECT * FROM normalized_columns WHERE run_id = $1 AND table_qualified_name IN (SELECT qualified_name FROM t)),
tq AS (SELECT * FROM table_quality_metrics WHERE run_id = $2 AND table_qualified_name IN (SELECT qualified_name FROM t)),
cq AS (SELECT * FROM column_quality_metrics WHERE run_id = $2 AND table_qualified_name IN (SELECT qualified_name FROM t))
SELECT
    (SELECT count(DISTINCT schema_name) FROM t) AS schemas,
    (SELECT count(*) FROM t) AS tables,
    (SELECT count(*) FROM c) AS columns,
    (SELECT sum(row_count) FROM tq) AS rows,
    (SELECT count(*) FROM tq WHERE quality_score IS NOT NULL) AS profiled_tables,
    (SELECT count(*) FROM tq WHERE status IS DISTINCT FROM 'profiled') AS unprofiled_tables,
    (SELECT avg(quality_score) FROM tq) AS score,
    (SELECT count(*) FROM tq WHERE quality_score < 80) AS low_tables,
    (SELECT count(*) FROM cq WHERE quality_score < 80) AS low_columns,
    (SELECT count(*) FROM cq) AS profiled_columns
