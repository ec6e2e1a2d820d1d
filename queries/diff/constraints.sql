-- Constraints (primary key, unique, check, foreign key) as entities of their own. A constraint
-- is identified by its table (after table renames), kind and columns (after column renames);
-- a check also by its definition. Its qualified name is its table's plus `kind(columns)`, e.g.
-- shop.main.orders."foreign_key(customer_id)". A foreign key's target and actions are compared;
-- constraint names are reported but not compared (SQLite has none).
-- (run_id, connection, from_run_id and to_run_id, the same on every row, are added by dsa/diff.py.)
WITH f AS (
    SELECT c.*, tm.to_qn AS to_table, coalesce(tm.renamed, false) AS table_renamed,
           CASE WHEN r.renames IS NULL THEN c.columns
                ELSE list_transform(c.columns, lambda x: coalesce(list_filter(r.renames, lambda y: y.old = x)[1].new, x)) END AS key_columns
    FROM diff_constraints c
    LEFT JOIN diff_table_match tm ON tm.from_qn = c.table_qualified_name
    LEFT JOIN diff_column_renames r ON r.from_table = c.table_qualified_name
    WHERE c.side = 'from'
),
t AS (SELECT * FROM diff_constraints WHERE side = 'to'),
j AS (
    SELECT f.table_qualified_name AS f_table_qn, t.table_qualified_name AS t_table_qn,
           f.schema_name AS f_schema, f.table_name AS f_table, t.schema_name AS t_schema, t.table_name AS t_table,
           coalesce(t.constraint_type, f.constraint_type) AS constraint_type,
           coalesce(t.constraint_name, f.constraint_name) AS constraint_name,
           f.columns AS f_columns, t.columns AS t_columns, f.definition AS f_definition, t.definition AS t_definition,
           f.table_renamed,
           diff_changed([
               diff_change('references', f.ref_target, t.ref_target, f.ref_target IS DISTINCT FROM t.ref_target),
               diff_change('on_update', f.on_update, t.on_update, f.on_update IS DISTINCT FROM t.on_update),
               diff_change('on_delete', f.on_delete, t.on_delete, f.on_delete IS DISTINCT FROM t.on_delete)
           ]) AS changes
    FROM f FULL JOIN t
      ON f.to_table = t.table_qualified_name AND f.constraint_type = t.constraint_type
     AND f.key_columns = t.columns AND f.definition IS NOT DISTINCT FROM t.definition
),
named AS (
    SELECT *,
           CASE WHEN f_table_qn IS NOT NULL THEN f_table_qn || '.' || diff_quote(
               CASE constraint_type WHEN 'check' THEN 'check(' || coalesce(f_definition, '') || ')'
                    ELSE constraint_type || '(' || array_to_string(f_columns, ', ') || ')' END) END AS from_qn,
           CASE WHEN t_table_qn IS NOT NULL THEN t_table_qn || '.' || diff_quote(
               CASE constraint_type WHEN 'check' THEN 'check(' || coalesce(t_definition, '') || ')'
                    ELSE constraint_type || '(' || array_to_string(t_columns, ', ') || ')' END) END AS to_qn
    FROM j
),
typed AS (
    SELECT *,
           CASE WHEN f_table_qn IS NULL THEN CASE WHEN diff_unobserved('from', t_schema, t_table, NULL) THEN 'unknown' ELSE 'added' END
                WHEN t_table_qn IS NULL THEN CASE WHEN diff_unobserved('to', f_schema, f_table, NULL) THEN 'unknown' ELSE 'removed' END
                WHEN table_renamed OR f_columns <> t_columns THEN 'renamed'
                WHEN len(changes) > 0 THEN 'modified'
                ELSE 'unchanged' END AS change_type
    FROM named
)
SELECT coalesce(to_qn, from_qn) AS qualified_name,
       CASE WHEN from_qn <> to_qn THEN from_qn END AS previous_name,
       change_type,
       to_json(CASE change_type
                   WHEN 'renamed' THEN list_prepend(diff_entry('qualified_name', from_qn, to_qn), changes)
                   WHEN 'modified' THEN changes
                   ELSE [] END)::VARCHAR AS changes,
       coalesce(t_schema, f_schema) AS schema_name, coalesce(t_table_qn, f_table_qn) AS table_qualified_name,
       coalesce(t_table, f_table) AS table_name, constraint_type, constraint_name,
       to_json(coalesce(t_columns, f_columns))::VARCHAR AS columns
FROM typed;
