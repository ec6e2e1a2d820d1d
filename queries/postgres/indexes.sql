-- Indexes: key and INCLUDE columns as attribute numbers (indkey; 0 = an expression), named by
-- the connector from the columns query. Only indexes with expressions or a predicate are
-- deparsed (pg_get_indexdef costs ~25 us per index, a large share of a big scan): `definition`
-- and the expression texts (a JSON array) are given for those; plain indexes are fully described by their
-- columns, method, uniqueness, INCLUDE columns and sort options (indoption: 1 DESC, 2 NULLS FIRST).
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       ic.relname AS index_name,
       i.indisunique AS is_unique,
       i.indisprimary AS is_primary,
       am.amname AS method,
       CASE WHEN i.indpred IS NOT NULL THEN pg_get_expr(i.indpred, i.indrelid, true) END AS predicate,
       CASE WHEN i.indexprs IS NOT NULL OR i.indpred IS NOT NULL THEN pg_get_indexdef(i.indexrelid) END AS definition,
       CASE WHEN NOT i.indisvalid OR i.indnullsnotdistinct OR con.oid IS NOT NULL THEN
           jsonb_strip_nulls(jsonb_build_object(
               'valid', CASE WHEN NOT i.indisvalid THEN false END,
               'nulls_not_distinct', CASE WHEN i.indnullsnotdistinct THEN true END,
               'constraint', CASE WHEN con.oid IS NOT NULL THEN true END))
       END AS extra,
       i.indrelid AS table_oid,
       i.indkey::int2[] AS column_numbers,
       i.indnkeyatts AS key_count,
       -- (indoption is an int2vector, whose array starts at 0: the default it is compared with must too)
       CASE WHEN i.indoption::int2[] <> array_fill(0::int2, ARRAY[i.indnkeyatts], ARRAY[0]) THEN i.indoption::int2[] END AS options,
       CASE WHEN i.indexprs IS NOT NULL THEN
           array_to_json(ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k))::text
       END AS key_texts
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
WHERE c.relkind IN ('r', 'm', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
