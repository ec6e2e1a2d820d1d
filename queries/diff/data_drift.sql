-- Data drift between the quality runs that profiled the two scans (diff_from_quality,
-- diff_to_quality), for the tables and columns matched above (so renames and runs of two
-- connections are followed). One row per metric that moved at least its threshold:
--   row_count, distinct_count    relative change in percent of the older value
--   null_percentage, quality_score  absolute change in points
--   min_value, max_value         numbers, dates, timestamps: the move in percent of the older
--                                run's range (max - min; of the old value when the range is 0);
--                                text: any change counts, with severity 1
-- severity = measured / threshold; the largest drift has drift_rank 1.
WITH tq AS (
    SELECT m.from_qn, m.to_qn, f.row_count AS f_rows, t.row_count AS t_rows,
           f.quality_score AS f_score, t.quality_score AS t_score
    FROM diff_table_match m
    JOIN table_quality_metrics f ON f.run_id = getvariable('diff_from_quality') AND f.table_qualified_name = m.from_qn
    JOIN table_quality_metrics t ON t.run_id = getvariable('diff_to_quality') AND t.table_qualified_name = m.to_qn
),
cq AS (
    SELECT fc.qualified_name AS from_qn, tc.qualified_name AS to_qn, tc.table_qualified_name AS table_qn,
           tc.column_name,
           f.null_percentage AS f_null, t.null_percentage AS t_null,
           f.distinct_count AS f_distinct, t.distinct_count AS t_distinct,
           f.min_value::VARCHAR AS f_min, t.min_value::VARCHAR AS t_min,
           f.max_value::VARCHAR AS f_max, t.max_value::VARCHAR AS t_max,
           f.quality_score AS f_score, t.quality_score AS t_score
    FROM diff_column_match m
    JOIN diff_columns fc ON fc.rowid = m.f_id
    JOIN diff_columns tc ON tc.rowid = m.t_id
    JOIN column_quality_metrics f ON f.run_id = getvariable('diff_from_quality')
     AND f.table_qualified_name = fc.table_qualified_name AND f.column_name = fc.column_name
    JOIN column_quality_metrics t ON t.run_id = getvariable('diff_to_quality')
     AND t.table_qualified_name = tc.table_qualified_name AND t.column_name = tc.column_name
),
metrics AS (
    SELECT 'table' AS entity_type, to_qn AS qualified_name, from_qn, to_qn AS table_qn, NULL AS column_name,
           'row_count' AS metric, f_rows::VARCHAR AS from_value, t_rows::VARCHAR AS to_value,
           (t_rows - f_rows)::DOUBLE AS change,
           CASE WHEN f_rows = 0 THEN CASE WHEN t_rows = 0 THEN 0 ELSE 100 END
                ELSE abs(t_rows - f_rows) * 100.0 / abs(f_rows) END AS measured,
           'pct' AS unit, getvariable('diff_t_row_count_pct') AS threshold
    FROM tq WHERE f_rows IS NOT NULL AND t_rows IS NOT NULL
    UNION ALL
    SELECT 'table', to_qn, from_qn, to_qn, NULL, 'quality_score', f_score::VARCHAR, t_score::VARCHAR,
           t_score - f_score, abs(t_score - f_score), 'points', getvariable('diff_t_quality_score_points')
    FROM tq WHERE f_score IS NOT NULL AND t_score IS NOT NULL
    UNION ALL
    SELECT 'column', to_qn, from_qn, table_qn, column_name, 'null_percentage', f_null::VARCHAR, t_null::VARCHAR,
           t_null - f_null, abs(t_null - f_null), 'points', getvariable('diff_t_null_percentage_points')
    FROM cq WHERE f_null IS NOT NULL AND t_null IS NOT NULL
    UNION ALL
    SELECT 'column', to_qn, from_qn, table_qn, column_name, 'distinct_count', f_distinct::VARCHAR, t_distinct::VARCHAR,
           (t_distinct - f_distinct)::DOUBLE,
           CASE WHEN f_distinct = 0 THEN CASE WHEN t_distinct = 0 THEN 0 ELSE 100 END
                ELSE abs(t_distinct - f_distinct) * 100.0 / abs(f_distinct) END,
           'pct', getvariable('diff_t_distinct_count_pct')
    FROM cq WHERE f_distinct IS NOT NULL AND t_distinct IS NOT NULL
    UNION ALL
    SELECT 'column', to_qn, from_qn, table_qn, column_name, 'quality_score', f_score::VARCHAR, t_score::VARCHAR,
           t_score - f_score, abs(t_score - f_score), 'points', getvariable('diff_t_quality_score_points')
    FROM cq WHERE f_score IS NOT NULL AND t_score IS NOT NULL
    UNION ALL
    -- min/max: numbers, dates and timestamps move by a share of the older run's value range
    SELECT 'column', to_qn, from_qn, table_qn, column_name, metric, a, b, nb - na,
           CASE WHEN na IS NULL OR nb IS NULL THEN NULL
                WHEN lo IS NOT NULL AND hi > lo THEN abs(nb - na) * 100.0 / (hi - lo)
                WHEN na = 0 THEN CASE WHEN nb = 0 THEN 0 ELSE 100 END
                ELSE abs(nb - na) * 100.0 / abs(na) END,
           CASE WHEN na IS NULL OR nb IS NULL THEN 'changed' ELSE 'pct' END,
           getvariable('diff_t_min_max_pct')
    FROM (SELECT *, diff_number(a) AS na, diff_number(b) AS nb, diff_number(f_min) AS lo, diff_number(f_max) AS hi
          FROM (SELECT *, 'min_value' AS metric, f_min AS a, t_min AS b FROM cq
                UNION ALL SELECT *, 'max_value', f_max, t_max FROM cq))
    WHERE a IS DISTINCT FROM b
),
scored AS (
    SELECT *, CASE WHEN unit = 'changed' THEN 1.0 ELSE measured / threshold END AS severity
    FROM metrics
)
SELECT getvariable('diff_run_id') AS run_id, getvariable('diff_connection') AS connection,
       qualified_name, CASE WHEN from_qn <> qualified_name THEN from_qn END AS previous_name,
       entity_type, table_qn AS table_qualified_name, column_name, metric, from_value, to_value, change,
       measured, unit, threshold, severity,
       row_number() OVER (ORDER BY severity DESC, qualified_name, metric) AS drift_rank,
       getvariable('diff_from_quality') AS from_quality_run, getvariable('diff_to_quality') AS to_quality_run
FROM scored
WHERE severity >= 1
ORDER BY drift_rank
