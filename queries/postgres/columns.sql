-- Columns with the engine's own type text (format_type: character varying(100), numeric(10,2),
-- integer[], enum and domain names as written in DDL). Enums carry their labels, domains their
-- base type. table_oid/attnum let the connector name the columns of keys and indexes.
-- Defaults are deparsed without their table (pg_get_expr(adbin, 0): a default cannot refer to
-- a column, and this is several times cheaper); generated columns' expressions do need it.
WITH enums AS (
    SELECT enumtypid, array_agg(enumlabel ORDER BY enumsortorder) AS labels
    FROM pg_enum GROUP BY enumtypid
)
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       a.attname AS column_name,
       a.attnum AS ordinal_position,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       CASE ty.typtype WHEN 'e' THEN 'enum' WHEN 'c' THEN 'struct' WHEN 'r' THEN 'other' WHEN 'm' THEN 'other'
       END AS type_family,
       NOT a.attnotnull AS is_nullable,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0) END AS column_default,
       a.attidentity <> '' AS is_identity,
       a.attgenerated <> '' AS is_generated,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generation_expression,
       d.description AS comment,
       CASE WHEN a.attidentity <> '' OR a.attgenerated <> '' OR ty.typtype IN ('e', 'd')
                 OR (a.attcollation <> 0 AND a.attcollation <> ty.typcollation) THEN
           jsonb_strip_nulls(jsonb_build_object(
               'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
               'generated', CASE a.attgenerated WHEN 's' THEN 'stored' END,
               'enum_labels', e.labels,
               'domain_base_type', CASE WHEN ty.typtype = 'd' THEN format_type(ty.typbasetype, ty.typtypmod) END,
               'domain_not_null', CASE WHEN ty.typtype = 'd' AND ty.typnotnull THEN true END,
               'collation', CASE WHEN a.attcollation <> ty.typcollation
                                 THEN (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END))
       END AS extra,
       c.oid AS table_oid
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type ty ON ty.oid = a.atttypid
LEFT JOIN enums e ON ty.typtype = 'e' AND e.enumtypid = a.atttypid
LEFT JOIN pg_attrdef ad ON a.atthasdef AND ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
