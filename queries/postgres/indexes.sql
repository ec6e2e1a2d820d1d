-- Indexes with their key columns (a name, or the expression's text for expression keys),
-- INCLUDE columns, partial predicate and access method.
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       ic.relname AS index_name,
       i.indisunique AS is_unique,
       i.indisprimary AS is_primary,
       am.amname AS method,
       ARRAY(SELECT CASE WHEN k.attnum <> 0 THEN a.attname::text ELSE pg_get_indexdef(i.indexrelid, k.i::int, true) END
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, i)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.i <= i.indnkeyatts ORDER BY k.i) AS columns,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       pg_get_indexdef(i.indexrelid) AS definition,
       NULLIF(jsonb_strip_nulls(jsonb_build_object(
           'include', CASE WHEN i.indnatts > i.indnkeyatts THEN
               ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, i)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     WHERE k.i > i.indnkeyatts ORDER BY k.i) END,
           'valid', CASE WHEN NOT i.indisvalid THEN false END,
           'nulls_not_distinct', CASE WHEN i.indnullsnotdistinct THEN true END,
           'constraint', CASE WHEN EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid
                                          AND x.conrelid = i.indrelid AND x.contype IN ('p', 'u', 'x'))
                              THEN true END
       )), '{}'::jsonb) AS extra
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'm', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY n.nspname, c.relname, ic.relname
