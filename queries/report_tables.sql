-- The report's tables of scan run $1, profiled by quality run $2 (NULL: none), limited to the
-- tables named in $3 (a list of qualified names; NULL: all), as one JSON array: one array per
-- table (fields in dsa.report.TABLE_FIELDS order) holding its columns (COLUMN_FIELDS order).
-- Masked columns keep their values hidden: no minimum, maximum or top value text.
WITH wanted AS (
    SELECT * FROM normalized_tables
    WHERE run_id = $1 AND ($3::VARCHAR[] IS NULL OR list_contains($3::VARCHAR[], qualified_name))
),
top AS (
    SELECT column_qualified_name AS qualified_name,
           to_json(list(json_array(CASE WHEN masked THEN 'masked value #' || rank ELSE value END, count, percentage)
                            ORDER BY rank)) AS top
    FROM column_top_values WHERE run_id = $2 GROUP BY ALL
),
hist AS (
    SELECT column_qualified_name AS qualified_name, any_value(kind) AS kind,
           to_json(list(json_array(lower, upper, period, count) ORDER BY bin)) AS bins
    FROM column_histograms WHERE run_id = $2 GROUP BY ALL
),
cols AS (
    SELECT c.table_qualified_name,
           to_json(list(json_array(
               c.column_name, c.data_type, c.type_family, c.is_nullable, c.column_default, c.is_primary_key,
               c.is_unique, c.foreign_key, c.comment,
               m.total_count, m.null_count, m.null_percentage, m.distinct_count, m.distinct_percentage,
               CASE WHEN m.masked THEN NULL ELSE m.min_value END, CASE WHEN m.masked THEN NULL ELSE m.max_value END,
               m.mean, m.quality_score, m.score_explanation, m.masked,
               t.top, h.kind, h.bins) ORDER BY c.ordinal_position)) AS columns
    FROM normalized_columns c
    LEFT JOIN column_quality_metrics m ON m.run_id = $2 AND m.qualified_name = c.qualified_name
    LEFT JOIN top t ON t.qualified_name = c.qualified_name
    LEFT JOIN hist h ON h.qualified_name = c.qualified_name
    WHERE c.run_id = $1 AND c.table_qualified_name IN (SELECT qualified_name FROM wanted)
    GROUP BY ALL
)
SELECT coalesce('[' || string_agg(json_array(
           w.qualified_name, w.schema_name, w.table_name, w.table_type, w.comment,
           coalesce(q.row_count, w.row_estimate), q.row_count IS NULL, coalesce(w.size_bytes, q.size_bytes),
           q.quality_score, q.score_explanation, q.status,
           json(w.primary_key), json_extract(w.custom_attributes, '$.foreign_keys'),
           json_extract(w.custom_attributes, '$.indexes'), json_extract(w.custom_attributes, '$.unique_constraints'),
           json_extract(w.custom_attributes, '$.check_constraints'), coalesce(w.view_definition, json_extract_string(w.custom_attributes, '$.sql')),
           coalesce(c.columns, json('[]')))::VARCHAR, ',' ORDER BY w.schema_name NULLS FIRST, w.table_name) || ']', '[]') AS tables
FROM wanted w
LEFT JOIN table_quality_metrics q ON q.run_id = $2 AND q.table_qualified_name = w.qualified_name
LEFT JOIN cols c ON c.table_qualified_name = w.qualified_name
