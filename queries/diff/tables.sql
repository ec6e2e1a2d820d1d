-- Tables, views, materialized views, partitions: matched through diff_table_match (names, then
-- renames). Compared: table type, owner, comment, partition parent, and the view SQL after
-- sqlglot normalization (diff_view_sql.view_key), so whitespace or quoting alone is no change.
WITH j AS (
    SELECT m.from_qn, m.to_qn, m.renamed,
           f.schema_name AS f_schema, f.table_name AS f_table, t.schema_name AS t_schema, t.table_name AS t_table,
           coalesce(t.table_type, f.table_type) AS table_type,
           diff_changed([
               diff_change('table_type', f.table_type, t.table_type, f.table_type IS DISTINCT FROM t.table_type),
               diff_change('owner', f.owner, t.owner, f.owner IS DISTINCT FROM t.owner),
               diff_change('comment', f.comment, t.comment, f.comment IS DISTINCT FROM t.comment),
               diff_change('parent_table', f.parent_table, t.parent_table, f.parent_table IS DISTINCT FROM t.parent_table),
               diff_change('view_definition', f.view_definition, t.view_definition, fv.view_key IS DISTINCT FROM tv.view_key)
           ]) AS changes
    FROM diff_table_match m
    LEFT JOIN diff_tables f ON f.side = 'from' AND f.qualified_name = m.from_qn
    LEFT JOIN diff_tables t ON t.side = 'to' AND t.qualified_name = m.to_qn
    LEFT JOIN diff_view_sql fv ON fv.side = 'from' AND fv.qualified_name = m.from_qn
    LEFT JOIN diff_view_sql tv ON tv.side = 'to' AND tv.qualified_name = m.to_qn
),
typed AS (
    SELECT *,
           CASE WHEN from_qn IS NULL THEN CASE WHEN diff_unobserved('from', t_schema, t_table, NULL) THEN 'unknown' ELSE 'added' END
                WHEN to_qn IS NULL THEN CASE WHEN diff_unobserved('to', f_schema, f_table, NULL) THEN 'unknown' ELSE 'removed' END
                WHEN renamed THEN 'renamed'
                WHEN len(changes) > 0 THEN 'modified'
                ELSE 'unchanged' END AS change_type
    FROM j
)
SELECT getvariable('diff_run_id') AS run_id, getvariable('diff_connection') AS connection,
       coalesce(to_qn, from_qn) AS qualified_name,
       CASE WHEN from_qn <> to_qn THEN from_qn END AS previous_name,
       change_type,
       to_json(CASE change_type
                   WHEN 'renamed' THEN list_prepend(diff_entry('qualified_name', from_qn, to_qn), changes)
                   WHEN 'modified' THEN changes
                   ELSE [] END)::VARCHAR AS changes,
       getvariable('diff_from_run') AS from_run_id, getvariable('diff_to_run') AS to_run_id,
       coalesce(t_schema, f_schema) AS schema_name, coalesce(t_table, f_table) AS table_name, table_type
FROM typed;
