-- Every schema except the system ones (pg_catalog, information_schema, TOAST and temp schemas).
-- extra.usage is false (and only then set) when the user may not use the schema: it is listed, and the run is partial.
SELECT n.nspname AS schema_name,
       pg_get_userbyid(n.nspowner) AS owner,
       d.description AS comment,
       CASE WHEN NOT has_schema_privilege(n.oid, 'USAGE') THEN json_build_object('usage', false) END AS extra
FROM pg_namespace n
LEFT JOIN pg_description d
       ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY n.nspname
