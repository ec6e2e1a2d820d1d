-- Indexes: identified by table (after table renames) and index name. Compared: columns (after
-- column renames), uniqueness, primary, method, predicate. With renames on, an index that
-- disappeared while one of the same table and shape appeared is `renamed`.
-- (run_id, connection, from_run_id and to_run_id, the same on every row, are added by dsa/diff.py.)
WITH f AS (
    SELECT i.*, tm.to_qn AS to_table, coalesce(tm.renamed, false) AS table_renamed,
           CASE WHEN r.renames IS NULL THEN i.columns
                ELSE list_transform(i.columns, lambda x: coalesce(list_filter(r.renames, lambda y: y.old = x)[1].new, x)) END AS key_columns
    FROM diff_indexes i
    LEFT JOIN diff_table_match tm ON tm.from_qn = i.table_qualified_name
    LEFT JOIN diff_column_renames r ON r.from_table = i.table_qualified_name
    WHERE i.side = 'from'
),
t AS (SELECT * FROM diff_indexes WHERE side = 'to'),
by_name AS (
    SELECT f.id AS f_id, t.id AS t_id
    FROM f FULL JOIN t ON f.to_table = t.table_qualified_name AND f.index_name = t.index_name
),
pairs AS (
    SELECT f.id AS f_id, t.id AS t_id,
           count(*) OVER (PARTITION BY f.id) AS partners_of_old, count(*) OVER (PARTITION BY t.id) AS partners_of_new
    -- only unmatched indexes can be renames: filter both sides before joining them
    FROM (SELECT * FROM f WHERE id IN (SELECT f_id FROM by_name WHERE t_id IS NULL)) f
    JOIN (SELECT * FROM t WHERE id IN (SELECT t_id FROM by_name WHERE f_id IS NULL)) t
      ON f.to_table = t.table_qualified_name AND f.key_columns = t.columns AND f.is_unique = t.is_unique
     AND f.is_primary = t.is_primary AND f.method IS NOT DISTINCT FROM t.method
     AND f.predicate IS NOT DISTINCT FROM t.predicate
    WHERE getvariable('diff_renames')
),
renames AS (SELECT f_id, t_id FROM pairs WHERE partners_of_old = 1 AND partners_of_new = 1),
matched AS (
    SELECT f_id, t_id, false AS renamed FROM by_name WHERE f_id IS NOT NULL AND t_id IS NOT NULL
    UNION ALL SELECT f_id, t_id, true FROM renames
    UNION ALL SELECT f_id, NULL, false FROM by_name WHERE t_id IS NULL AND f_id NOT IN (SELECT f_id FROM renames)
    UNION ALL SELECT NULL, t_id, false FROM by_name WHERE f_id IS NULL AND t_id NOT IN (SELECT t_id FROM renames)
),
j AS (
    SELECT f.table_qualified_name || '.' || diff_quote(f.index_name) AS from_qn,
           t.table_qualified_name || '.' || diff_quote(t.index_name) AS to_qn,
           m.renamed OR coalesce(f.table_renamed, false) AS renamed,
           f.schema_name AS f_schema, f.table_name AS f_table, t.schema_name AS t_schema, t.table_name AS t_table,
           coalesce(t.table_qualified_name, f.table_qualified_name) AS table_qn,
           coalesce(t.index_name, f.index_name) AS index_name, coalesce(t.columns, f.columns) AS columns,
           -- the change list (JSON of both values) is built only where something differs
           CASE WHEN f.key_columns IS DISTINCT FROM t.columns OR f.is_unique IS DISTINCT FROM t.is_unique
                  OR f.is_primary IS DISTINCT FROM t.is_primary OR f.method IS DISTINCT FROM t.method
                  OR f.predicate IS DISTINCT FROM t.predicate THEN diff_changed([
               diff_change('columns', f.columns, t.columns, f.key_columns IS DISTINCT FROM t.columns),
               diff_change('is_unique', f.is_unique, t.is_unique, f.is_unique IS DISTINCT FROM t.is_unique),
               diff_change('is_primary', f.is_primary, t.is_primary, f.is_primary IS DISTINCT FROM t.is_primary),
               diff_change('method', f.method, t.method, f.method IS DISTINCT FROM t.method),
               diff_change('predicate', f.predicate, t.predicate, f.predicate IS DISTINCT FROM t.predicate)
           ]) ELSE [] END AS changes
    FROM matched m
    LEFT JOIN f ON f.id = m.f_id
    LEFT JOIN t ON t.id = m.t_id
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
       CASE change_type
           WHEN 'renamed' THEN to_json(list_prepend(diff_entry('qualified_name', from_qn, to_qn), changes))::VARCHAR
           WHEN 'modified' THEN to_json(changes)::VARCHAR
           ELSE '[]' END AS changes,
       coalesce(t_schema, f_schema) AS schema_name, table_qn AS table_qualified_name,
       coalesce(t_table, f_table) AS table_name, index_name, to_json(columns)::VARCHAR AS columns
FROM typed;
