-- What changed between two scan runs ($1 older, $2 newer), matched on names below the
-- connection (schema, table, column), so runs of different connections compare too.
-- A removed object whose table, schema or connection the newer run could not read is `unknown`:
-- not observed is not removed. `changes` lists {attribute, old, new} for modified objects.
-- Unchanged objects are left out.
WITH errs AS (
    SELECT qualified_name, object_type FROM run_errors WHERE run_id = $2
),
conn_failed AS (
    SELECT count(*) > 0 AS failed FROM errs WHERE object_type = 'connection'
),
sa AS (SELECT * FROM normalized_schemas WHERE run_id = $1),
sb AS (SELECT * FROM normalized_schemas WHERE run_id = $2),
ta AS (SELECT * FROM normalized_tables WHERE run_id = $1),
tb AS (SELECT * FROM normalized_tables WHERE run_id = $2),
ca AS (SELECT * FROM normalized_columns WHERE run_id = $1),
cb AS (SELECT * FROM normalized_columns WHERE run_id = $2),
schemas AS (
    SELECT 'schema' AS entity_type, coalesce(sb.schema_name, sa.schema_name) AS schema_name,
           NULL::VARCHAR AS table_name, NULL::VARCHAR AS column_name, NULL::VARCHAR AS data_type,
           NULL::BIGINT AS position,
           sa.qualified_name AS old_name, sb.qualified_name AS new_name,
           [{'attribute': 'comment', 'old': sa.comment, 'new': sb.comment},
            {'attribute': 'owner', 'old': sa.owner, 'new': sb.owner}] AS attrs,
           sa.qualified_name IN (SELECT qualified_name FROM errs) AS unreadable
    FROM sa FULL OUTER JOIN sb ON sa.schema_name IS NOT DISTINCT FROM sb.schema_name
),
tables AS (
    SELECT 'table', coalesce(tb.schema_name, ta.schema_name), coalesce(tb.table_name, ta.table_name), NULL, NULL, NULL,
           ta.qualified_name, tb.qualified_name,
           [{'attribute': 'table_type', 'old': ta.table_type, 'new': tb.table_type},
            {'attribute': 'primary_key', 'old': ta.primary_key, 'new': tb.primary_key},
            {'attribute': 'view_definition', 'old': ta.view_definition, 'new': tb.view_definition},
            {'attribute': 'comment', 'old': ta.comment, 'new': tb.comment},
            {'attribute': 'foreign_keys',
             'old': json_extract(ta.custom_attributes, '$.foreign_keys')::VARCHAR,
             'new': json_extract(tb.custom_attributes, '$.foreign_keys')::VARCHAR},
            {'attribute': 'indexes',
             'old': json_extract(ta.custom_attributes, '$.indexes')::VARCHAR,
             'new': json_extract(tb.custom_attributes, '$.indexes')::VARCHAR}],
           ta.qualified_name IN (SELECT qualified_name FROM errs)
           OR ta.schema_qualified_name IN (SELECT qualified_name FROM errs)
    FROM ta FULL OUTER JOIN tb
      ON ta.schema_name IS NOT DISTINCT FROM tb.schema_name AND ta.table_name = tb.table_name
),
columns AS (
    SELECT 'column', coalesce(cb.schema_name, ca.schema_name), coalesce(cb.table_name, ca.table_name),
           coalesce(cb.column_name, ca.column_name), coalesce(cb.data_type, ca.data_type),
           coalesce(cb.ordinal_position, ca.ordinal_position), ca.qualified_name, cb.qualified_name,
           [{'attribute': 'data_type', 'old': ca.data_type, 'new': cb.data_type},
            {'attribute': 'is_nullable', 'old': ca.is_nullable::VARCHAR, 'new': cb.is_nullable::VARCHAR},
            {'attribute': 'column_default', 'old': ca.column_default, 'new': cb.column_default},
            {'attribute': 'is_primary_key', 'old': ca.is_primary_key::VARCHAR, 'new': cb.is_primary_key::VARCHAR},
            {'attribute': 'is_unique', 'old': ca.is_unique::VARCHAR, 'new': cb.is_unique::VARCHAR},
            {'attribute': 'foreign_key', 'old': ca.foreign_key, 'new': cb.foreign_key},
            {'attribute': 'indexes', 'old': ca.indexes, 'new': cb.indexes},
            {'attribute': 'comment', 'old': ca.comment, 'new': cb.comment}],
           ca.qualified_name IN (SELECT qualified_name FROM errs)
           OR ca.table_qualified_name IN (SELECT qualified_name FROM errs)
    FROM ca FULL OUTER JOIN cb
      ON ca.schema_name IS NOT DISTINCT FROM cb.schema_name AND ca.table_name = cb.table_name
     AND ca.column_name = cb.column_name
),
everything AS (
    SELECT * FROM schemas UNION ALL SELECT * FROM tables UNION ALL SELECT * FROM columns
),
classified AS (
    SELECT *, list_filter(attrs, lambda a: a.old IS DISTINCT FROM a.new) AS changes
    FROM everything
)
SELECT entity_type, schema_name, table_name, column_name, data_type, position,
       CASE
           WHEN old_name IS NULL THEN 'added'
           WHEN new_name IS NULL AND (unreadable OR (SELECT failed FROM conn_failed)) THEN 'unknown'
           WHEN new_name IS NULL THEN 'removed'
           WHEN len(changes) > 0 THEN 'modified'
           ELSE 'unchanged'
       END AS change_type,
       CASE WHEN old_name IS NOT NULL AND new_name IS NOT NULL THEN changes ELSE [] END AS changes
FROM classified
WHERE old_name IS NULL OR new_name IS NULL OR len(changes) > 0
