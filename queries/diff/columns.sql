-- Columns: matched through diff_column_match (names, then renames). Every attribute that
-- defines a column is compared; the type text is compared in its diff_type_key form, so a
-- length, precision or scale change is a change and letter case or spacing is not.
--
-- Position: a column is `moved` when its rank among the columns present in both runs changed
-- (dropping or adding another column moves nobody; decided in match.sql). A move alone is
-- never `modified`; a modified column that also moved lists ordinal_position among its changes.
WITH detail AS (
    -- the few older-side rows needed in full: changed, renamed, moved, or gone
    SELECT rowid AS f_id, * FROM diff_columns
    WHERE rowid IN (SELECT f_id FROM diff_column_match WHERE differs OR renamed OR moved OR t_id IS NULL)
),
pairs AS (
    -- every column of the newer run with its match, and the older side's columns that are gone
    SELECT m.f_id, m.f_pos, m.renamed, m.differs, m.moved, m.unobserved, t.*
    FROM diff_column_match m LEFT JOIN diff_columns t ON t.rowid = m.t_id
),
j AS (
    SELECT CASE WHEN t.f_id IS NULL THEN NULL
                WHEN f.qualified_name IS NOT NULL THEN f.qualified_name
                -- matched by name: the same names below the connection
                ELSE getvariable('diff_from_prefix') || diff_local(t.qualified_name, getvariable('diff_to_prefix')) END AS from_qn,
           t.qualified_name AS to_qn, t.renamed, t.moved, t.unobserved,
           coalesce(t.table_qualified_name, f.table_qualified_name) AS table_qn,
           f.schema_name AS f_schema, f.table_name AS f_table, f.column_name AS f_column, t.f_pos,
           t.schema_name AS t_schema, t.table_name AS t_table, t.column_name AS t_column, t.ordinal_position AS t_pos,
           coalesce(t.data_type, f.data_type) AS data_type,
           CASE WHEN t.differs THEN diff_changed([
                   diff_change('data_type', f.data_type, t.data_type, f.type_key IS DISTINCT FROM t.type_key),
                   diff_change('is_nullable', f.is_nullable, t.is_nullable, f.is_nullable IS DISTINCT FROM t.is_nullable),
                   diff_change('column_default', f.column_default, t.column_default, f.column_default IS DISTINCT FROM t.column_default),
                   diff_change('is_identity', f.is_identity, t.is_identity, f.is_identity IS DISTINCT FROM t.is_identity),
                   diff_change('is_generated', f.is_generated, t.is_generated, f.is_generated IS DISTINCT FROM t.is_generated),
                   diff_change('generation_expression', f.generation_expression, t.generation_expression,
                               f.generation_expression IS DISTINCT FROM t.generation_expression),
                   diff_change('is_primary_key', f.is_primary_key, t.is_primary_key, f.is_primary_key IS DISTINCT FROM t.is_primary_key),
                   diff_change('is_unique', f.is_unique, t.is_unique, f.is_unique IS DISTINCT FROM t.is_unique),
                   diff_change('foreign_key', f.foreign_key, t.foreign_key, f.foreign_key IS DISTINCT FROM t.foreign_key),
                   diff_change('indexes', f.indexes, t.indexes, f.indexes IS DISTINCT FROM t.indexes),
                   diff_change('comment', f.comment, t.comment, f.comment IS DISTINCT FROM t.comment)
               ])
           END AS changes
    FROM pairs t
    LEFT JOIN detail f ON f.f_id = t.f_id
),
typed AS (
    SELECT *,
           CASE WHEN from_qn IS NULL THEN CASE WHEN unobserved THEN 'unknown' ELSE 'added' END
                WHEN to_qn IS NULL THEN CASE WHEN unobserved THEN 'unknown' ELSE 'removed' END
                WHEN renamed THEN 'renamed'
                WHEN changes IS NOT NULL THEN 'modified'
                WHEN moved THEN 'moved'
                ELSE 'unchanged' END AS change_type
    FROM j
)
SELECT getvariable('diff_run_id') AS run_id, getvariable('diff_connection') AS connection,
       coalesce(to_qn, from_qn) AS qualified_name,
       CASE WHEN from_qn <> to_qn THEN from_qn END AS previous_name,
       change_type,
       CASE WHEN change_type IN ('added', 'removed', 'unknown', 'unchanged') THEN '[]'
            ELSE to_json(list_concat(
                     CASE WHEN change_type = 'renamed' THEN [diff_entry('qualified_name', from_qn, to_qn)] ELSE [] END,
                     coalesce(changes, []),
                     CASE WHEN moved THEN [diff_entry('ordinal_position', f_pos, t_pos)] ELSE [] END))::VARCHAR
       END AS changes,
       getvariable('diff_from_run') AS from_run_id, getvariable('diff_to_run') AS to_run_id,
       coalesce(t_schema, f_schema) AS schema_name, table_qn AS table_qualified_name,
       coalesce(t_table, f_table) AS table_name, coalesce(t_column, f_column) AS column_name,
       data_type, f_pos AS from_position, t_pos AS to_position
FROM typed;
