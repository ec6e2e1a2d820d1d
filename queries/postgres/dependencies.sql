-- Which relations each view and materialized view reads, from the dependency catalog: a view's
-- rewrite rule (pg_rewrite) depends (pg_depend, deptype 'n') on every table, view and column its
-- query names, as Postgres checked them at CREATE VIEW. One row per (view, relation read).
SELECT DISTINCT vn.nspname AS view_schema,
       v.relname AS view_name,
       rn.nspname AS ref_schema,
       r.relname AS ref_name
FROM pg_depend d
JOIN pg_rewrite w ON w.oid = d.objid
JOIN pg_class v ON v.oid = w.ev_class
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_class r ON r.oid = d.refobjid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refclassid = 'pg_class'::regclass
  AND d.deptype = 'n'
  AND v.relkind IN ('v', 'm')
  AND r.oid <> v.oid
  AND r.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND vn.nspname NOT IN ('pg_catalog', 'information_schema')
