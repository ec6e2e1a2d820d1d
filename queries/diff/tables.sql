-- Tables, views, materialized views, partitions: matched through diff_table_match (names, then
-- renames). Compared: table type, owner, comment, partition parent, and the view SQL after
-- sqlglot normalization (diff_view_sql.view_key), so whitespace or quoting alone is no change.
-- A table whose columns, constraints or indexes changed is modified too, its changes naming
-- them: {attribute: 'columns', from: null, to: ['email modified', 'loyalty_tier added']}. Those
-- come from the column, constraint and index results (diff_result_<entity>, registered by
-- dsa/diff.py before this query runs). A renamed table's parts went with it: not listed again.
-- (run_id, connection, from_run_id and to_run_id, the same on every row, are added by dsa/diff.py.)
WITH parts AS (
    SELECT 'columns' AS attribute, table_qualified_name AS table_qn, qualified_name, change_type FROM diff_result_column
    UNION ALL SELECT 'constraints', table_qualified_name, qualified_name, change_type FROM diff_result_constraint
    UNION ALL SELECT 'indexes', table_qualified_name, qualified_name, change_type FROM diff_result_index
),
touched AS (
    -- keyed by the newer run's table name (a removed part carries the older run's)
    SELECT table_qn, list({'attribute': attribute, 'from': NULL::JSON, 'to': to_json(names)} ORDER BY attribute) AS entries
    FROM (
        SELECT coalesce(m.to_qn, p.table_qn) AS table_qn, attribute,
               list(diff_unquote(diff_local(p.qualified_name, p.table_qn || '.')) || ' ' || p.change_type
                    ORDER BY diff_local(p.qualified_name, p.table_qn || '.')) AS names
        FROM parts p
        LEFT JOIN diff_table_match m ON m.from_qn = p.table_qn AND m.to_qn IS NOT NULL
        WHERE p.change_type IN ('added', 'removed', 'modified', 'renamed', 'moved')
        GROUP BY ALL
    )
    GROUP BY table_qn
),
j AS (
    SELECT m.from_qn, m.to_qn, m.renamed,
           f.schema_name AS f_schema, f.table_name AS f_table, t.schema_name AS t_schema, t.table_name AS t_table,
           coalesce(t.table_type, f.table_type) AS table_type,
           list_concat(diff_changed([
               diff_change('table_type', f.table_type, t.table_type, f.table_type IS DISTINCT FROM t.table_type),
               diff_change('owner', f.owner, t.owner, f.owner IS DISTINCT FROM t.owner),
               diff_change('comment', f.comment, t.comment, f.comment IS DISTINCT FROM t.comment),
               diff_change('parent_table', f.parent_table, t.parent_table, f.parent_table IS DISTINCT FROM t.parent_table),
               diff_change('view_definition', f.view_definition, t.view_definition, fv.view_key IS DISTINCT FROM tv.view_key)
           ]), CASE WHEN NOT m.renamed THEN tt.entries END) AS changes
    FROM diff_table_match m
    LEFT JOIN diff_tables f ON f.side = 'from' AND f.qualified_name = m.from_qn
    LEFT JOIN diff_tables t ON t.side = 'to' AND t.qualified_name = m.to_qn
    LEFT JOIN diff_view_sql fv ON fv.side = 'from' AND fv.qualified_name = m.from_qn
    LEFT JOIN diff_view_sql tv ON tv.side = 'to' AND tv.qualified_name = m.to_qn
    LEFT JOIN touched tt ON tt.table_qn = m.to_qn
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
SELECT coalesce(to_qn, from_qn) AS qualified_name,
       CASE WHEN from_qn <> to_qn THEN from_qn END AS previous_name,
       change_type,
       to_json(CASE change_type
                   WHEN 'renamed' THEN list_prepend(diff_entry('qualified_name', from_qn, to_qn), changes)
                   WHEN 'modified' THEN changes
                   ELSE [] END)::VARCHAR AS changes,
       coalesce(t_schema, f_schema) AS schema_name, coalesce(t_table, f_table) AS table_name, table_type
FROM typed;
