-- Primary keys (from the column list), unique constraints (from their automatic indexes)
-- and foreign keys. CHECK constraints are read from the table's SQL by the connector.
WITH tabs AS (
    SELECT schema, name FROM pragma_table_list
    WHERE schema <> 'temp' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
),
pk AS (
    SELECT t.schema, t.name, c.name AS col, c.pk
    FROM tabs t JOIN pragma_table_xinfo(t.name, t.schema) c WHERE c.pk > 0 ORDER BY t.schema, t.name, c.pk
),
uq AS (
    SELECT t.schema, t.name, il.name AS index_name, ix.name AS col, ix.seqno
    FROM tabs t
    JOIN pragma_index_list(t.name, t.schema) il
    JOIN pragma_index_info(il.name, t.schema) ix
    WHERE il.origin = 'u'
    ORDER BY t.schema, t.name, il.name, ix.seqno
),
fk AS (
    SELECT t.schema, t.name, f.id, f.seq, f."table" AS ref_table, f."from" AS col, f."to" AS ref_col,
           f.on_update, f.on_delete
    FROM tabs t JOIN pragma_foreign_key_list(t.name, t.schema) f
    ORDER BY t.schema, t.name, f.id, f.seq
)
SELECT schema AS schema_name, name AS table_name, NULL AS constraint_name, 'primary_key' AS constraint_type,
       json_group_array(col) AS columns, NULL AS ref_schema, NULL AS ref_table, NULL AS ref_columns,
       NULL AS on_update, NULL AS on_delete
FROM pk GROUP BY schema, name
UNION ALL
SELECT schema, name, index_name, 'unique', json_group_array(col), NULL, NULL, NULL, NULL, NULL
FROM uq GROUP BY schema, name, index_name
UNION ALL
SELECT schema, name, 'fk_' || name || '_' || id, 'foreign_key', json_group_array(col), schema, ref_table,
       json_group_array(ref_col), min(on_update), min(on_delete)
FROM fk GROUP BY schema, name, id
