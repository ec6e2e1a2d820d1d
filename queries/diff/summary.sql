-- Counts per entity type and change type (every entity type appears, with zeros), over the
-- entity results that dsa/diff.py registers as diff_result_<entity>.

WITH rows AS (
    SELECT 'schema' AS entity_type, change_type FROM diff_result_schema
    UNION ALL SELECT 'table', change_type FROM diff_result_table
    UNION ALL SELECT 'column', change_type FROM diff_result_column
    UNION ALL SELECT 'constraint', change_type FROM diff_result_constraint
    UNION ALL SELECT 'index', change_type FROM diff_result_index
),
kinds AS (
    SELECT * FROM (VALUES (1, 'schema'), (2, 'table'), (3, 'column'), (4, 'constraint'), (5, 'index')) v(pos, entity_type)
)
SELECT getvariable('diff_run_id') AS run_id, getvariable('diff_connection') AS connection, k.entity_type,
       count(r.change_type) FILTER (WHERE r.change_type = 'added') AS added,
       count(r.change_type) FILTER (WHERE r.change_type = 'removed') AS removed,
       count(r.change_type) FILTER (WHERE r.change_type = 'modified') AS modified,
       count(r.change_type) FILTER (WHERE r.change_type = 'renamed') AS renamed,
       count(r.change_type) FILTER (WHERE r.change_type = 'moved') AS moved,
       count(r.change_type) FILTER (WHERE r.change_type = 'unknown') AS unknown,
       count(r.change_type) FILTER (WHERE r.change_type = 'unchanged') AS unchanged
FROM kinds k LEFT JOIN rows r USING (entity_type)
GROUP BY k.pos, k.entity_type
ORDER BY k.pos;
