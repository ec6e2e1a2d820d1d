-- Primary keys, unique, check and foreign key constraints. Key columns come as attribute
-- numbers (conkey, confkey, in key order) that the connector names from the columns query:
-- much cheaper than a per-constraint subquery. Only CHECK constraints are deparsed; the other
-- kinds are fully described by their columns, target, actions and flags.
-- A foreign key to a partitioned table also gets one internal pg_constraint row per referenced
-- partition (conparentid set, same conrelid): those are skipped, the user declared one key.
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       co.conname AS constraint_name,
       CASE co.contype WHEN 'p' THEN 'primary_key' WHEN 'u' THEN 'unique'
                       WHEN 'f' THEN 'foreign_key' WHEN 'c' THEN 'check' END AS constraint_type,
       rn.nspname AS ref_schema,
       rc.relname AS ref_table,
       CASE WHEN co.contype = 'c' THEN pg_get_constraintdef(co.oid) END AS definition,
       CASE co.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                           WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END AS on_update,
       CASE co.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                           WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END AS on_delete,
       CASE WHEN co.condeferrable OR NOT co.convalidated OR co.confmatchtype IN ('f', 'p')
                 OR (co.contype = 'c' AND co.connoinherit) THEN
           jsonb_strip_nulls(jsonb_build_object(
               'deferrable', CASE WHEN co.condeferrable THEN true END,
               'initially_deferred', CASE WHEN co.condeferred THEN true END,
               'validated', CASE WHEN NOT co.convalidated THEN false END,
               'match', CASE co.confmatchtype WHEN 'f' THEN 'FULL' WHEN 'p' THEN 'PARTIAL' END,
               'no_inherit', CASE WHEN co.contype = 'c' AND co.connoinherit THEN true END))
       END AS extra,
       co.conrelid AS table_oid,
       co.conkey AS column_numbers,
       co.confrelid AS ref_table_oid,
       co.confkey AS ref_column_numbers
FROM pg_constraint co
JOIN pg_class c ON c.oid = co.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON co.contype = 'f' AND rc.oid = co.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_constraint pco ON co.conparentid <> 0 AND pco.oid = co.conparentid
WHERE co.contype IN ('p', 'u', 'f', 'c')
  AND (pco.oid IS NULL OR pco.conrelid <> co.conrelid)
  AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
