-- Schemas: matched by name; owner and comment are compared.
WITH j AS (
    SELECT f.qualified_name AS from_qn, t.qualified_name AS to_qn,
           coalesce(t.schema_name, f.schema_name) AS schema_name,
           diff_changed([
               diff_change('owner', f.owner, t.owner, f.owner IS DISTINCT FROM t.owner),
               diff_change('comment', f.comment, t.comment, f.comment IS DISTINCT FROM t.comment)
           ]) AS changes
    FROM (SELECT * FROM diff_schemas WHERE side = 'from') f
    FULL JOIN (SELECT * FROM diff_schemas WHERE side = 'to') t ON f.schema_name = t.schema_name
)
SELECT getvariable('diff_run_id') AS run_id, getvariable('diff_connection') AS connection,
       coalesce(to_qn, from_qn) AS qualified_name,
       CASE WHEN from_qn <> to_qn THEN from_qn END AS previous_name,
       CASE WHEN from_qn IS NULL THEN CASE WHEN diff_unobserved('from', schema_name, NULL, NULL) THEN 'unknown' ELSE 'added' END
            WHEN to_qn IS NULL THEN CASE WHEN diff_unobserved('to', schema_name, NULL, NULL) THEN 'unknown' ELSE 'removed' END
            WHEN len(changes) > 0 THEN 'modified'
            ELSE 'unchanged' END AS change_type,
       to_json(CASE WHEN from_qn IS NOT NULL AND to_qn IS NOT NULL THEN changes ELSE [] END)::VARCHAR AS changes,
       getvariable('diff_from_run') AS from_run_id, getvariable('diff_to_run') AS to_run_id,
       schema_name
FROM j;
