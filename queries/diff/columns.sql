-- Columns: matched through diff_column_match (names, then renames). Every attribute that
-- defines a column is compared; the type text is compared in its diff_type_key form, so a
-- length, precision or scale change is a change and letter case or spacing is not.
--
-- Position: a column is `moved` when its rank among the columns present in both runs changed
-- (dropping or adding another column moves nobody). A move alone is never `modified`; a
-- modified column that also moved lists ordinal_position among its changes.
CREATE OR REPLACE TEMP TABLE diff_result_column AS
WITH j AS (
    SELECT m.from_qn, m.to_qn, m.renamed,
           coalesce(t.table_qualified_name, f.table_qualified_name) AS table_qn,
           f.schema_name AS f_schema, f.table_name AS f_table, f.column_name AS f_column, f.ordinal_position AS f_pos,
           t.schema_name AS t_schema, t.table_name AS t_table, t.column_name AS t_column, t.ordinal_position AS t_pos,
           coalesce(t.data_type, f.data_type) AS data_type,
           diff_changed([
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
           ]) AS changes
    FROM diff_column_match m
    LEFT JOIN diff_columns f ON f.side = 'from' AND f.qualified_name = m.from_qn
    LEFT JOIN diff_columns t ON t.side = 'to' AND t.qualified_name = m.to_qn
),
ranked AS (
    SELECT *,
           rank() OVER (PARTITION BY table_qn, from_qn IS NULL OR to_qn IS NULL ORDER BY f_pos) AS f_rank,
           rank() OVER (PARTITION BY table_qn, from_qn IS NULL OR to_qn IS NULL ORDER BY t_pos) AS t_rank
    FROM j
),
typed AS (
    SELECT *,
           from_qn IS NOT NULL AND to_qn IS NOT NULL AND f_rank <> t_rank AS moved,
           CASE WHEN from_qn IS NULL THEN CASE WHEN diff_unobserved('from', t_schema, t_table, t_column) THEN 'unknown' ELSE 'added' END
                WHEN to_qn IS NULL THEN CASE WHEN diff_unobserved('to', f_schema, f_table, f_column) THEN 'unknown' ELSE 'removed' END
                WHEN renamed THEN 'renamed'
                WHEN len(changes) > 0 THEN 'modified'
                WHEN f_rank <> t_rank THEN 'moved'
                ELSE 'unchanged' END AS change_type
    FROM ranked
)
SELECT getvariable('diff_run_id') AS run_id, getvariable('diff_connection') AS connection,
       coalesce(to_qn, from_qn) AS qualified_name,
       CASE WHEN from_qn <> to_qn THEN from_qn END AS previous_name,
       change_type,
       to_json(CASE WHEN change_type IN ('added', 'removed', 'unknown', 'unchanged') THEN []
                    ELSE list_concat(
                        CASE WHEN change_type = 'renamed' THEN [diff_entry('qualified_name', from_qn, to_qn)] ELSE [] END,
                        changes,
                        CASE WHEN moved THEN [diff_entry('ordinal_position', f_pos, t_pos)] ELSE [] END)
               END)::VARCHAR AS changes,
       getvariable('diff_from_run') AS from_run_id, getvariable('diff_to_run') AS to_run_id,
       coalesce(t_schema, f_schema) AS schema_name, table_qn AS table_qualified_name,
       coalesce(t_table, f_table) AS table_name, coalesce(t_column, f_column) AS column_name,
       data_type, f_pos AS from_position, t_pos AS to_position
FROM typed;
