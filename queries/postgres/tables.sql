-- Tables, views, materialized views, partitioned tables (and their partitions) and foreign tables.
-- parent_schema/parent_table: the partitioned table of a partition, or the (first) parent of an
--   INHERITS child; extra.inherits lists every parent of a child with several.
-- row_estimate: the planner's reltuples (-1 = never analyzed -> NULL).
-- size_bytes: pages of the table, its TOAST table and its indexes times the block size, from
--   pg_class.relpages (kept by VACUUM, ANALYZE and CREATE INDEX). One join instead of a
--   pg_total_relation_size() call per table, which stats every file of every relation;
--   NULL for relations without storage (views, foreign and partitioned tables).
WITH idx AS (
    SELECT i.indrelid, sum(ic.relpages)::bigint AS pages
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    GROUP BY i.indrelid
)
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       CASE WHEN c.relispartition THEN 'partition'
            ELSE CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
                                WHEN 'p' THEN 'partitioned_table' WHEN 'f' THEN 'foreign_table' END
       END AS table_type,
       pg_get_userbyid(c.relowner) AS owner,
       d.description AS comment,
       CASE WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END AS row_estimate,
       CASE WHEN c.relkind IN ('r', 'm')
            THEN (c.relpages::bigint + coalesce(t.relpages, 0) + coalesce(idx.pages, 0))
                 * current_setting('block_size')::bigint END AS size_bytes,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
       pn.nspname AS parent_schema,
       pc.relname AS parent_table,
       -- built only for the few relations that have something to say (most plain tables do not)
       CASE WHEN c.relkind IN ('p', 'm', 'f') OR c.relispartition OR c.relpersistence = 'u' OR c.relrowsecurity
                 OR NOT has_table_privilege(c.oid, 'SELECT')
                 OR inh.inhrelid IS NOT NULL AND NOT c.relispartition THEN
           jsonb_strip_nulls(jsonb_build_object(
               'readable', CASE WHEN NOT has_table_privilege(c.oid, 'SELECT') THEN false END,
               'partition_bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
               'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
               'is_partitioned', CASE WHEN c.relkind = 'p' AND c.relispartition THEN true END,
               'persistence', CASE c.relpersistence WHEN 'u' THEN 'unlogged' END,
               'populated', CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
               'row_security', CASE WHEN c.relrowsecurity THEN true END,
               'foreign_server', fs.srvname,
               'foreign_options', ft.ftoptions,
               'inherits', CASE WHEN inh.inhrelid IS NOT NULL AND NOT c.relispartition THEN
                   (SELECT jsonb_agg(jsonb_build_array(an.nspname, ac.relname) ORDER BY a.inhseqno)
                    FROM pg_inherits a JOIN pg_class ac ON ac.oid = a.inhparent
                    JOIN pg_namespace an ON an.oid = ac.relnamespace WHERE a.inhrelid = c.oid) END))
       END AS extra
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
LEFT JOIN idx ON idx.indrelid = c.oid
LEFT JOIN pg_inherits inh ON inh.inhrelid = c.oid AND inh.inhseqno = 1
LEFT JOIN pg_class pc ON pc.oid = inh.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
LEFT JOIN pg_foreign_table ft ON c.relkind = 'f' AND ft.ftrelid = c.oid
LEFT JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY n.nspname, c.relname
