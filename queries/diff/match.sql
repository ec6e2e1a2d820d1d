-- Which object of the older run is which object of the newer one.
--
-- Tables and columns match by name below the connection (full outer joins). With renames on,
-- an unmatched old object and an unmatched new one of the same shape are a rename, when each
-- has exactly one such partner:
--   table shape:  table type, normalized view SQL, and its columns in order (name, type,
--                 nullability, default, primary key, unique, foreign-key target)
--   column shape: same table (after table renames), position, type, nullability, default,
--                 identity, generated, primary key, unique, foreign-key target, indexes
-- A column of a renamed table matches the same-named column of the new table.

CREATE OR REPLACE TEMP TABLE diff_table_match AS
WITH f AS (SELECT * FROM diff_tables WHERE side = 'from'),
     t AS (SELECT * FROM diff_tables WHERE side = 'to'),
by_name AS (
    SELECT f.qualified_name AS from_qn, t.qualified_name AS to_qn
    FROM f FULL JOIN t ON f.schema_name = t.schema_name AND f.table_name = t.table_name
),
lonely AS (
    SELECT 'from' AS side, from_qn AS qn FROM by_name WHERE to_qn IS NULL AND getvariable('diff_renames')
    UNION ALL
    SELECT 'to', to_qn FROM by_name WHERE from_qn IS NULL AND getvariable('diff_renames')
),
shape AS (
    SELECT l.side, l.qn, d.table_type, v.view_key,
           coalesce((SELECT md5(to_json(list([c.column_name, c.type_key, c.is_nullable::VARCHAR, c.column_default,
                                              c.is_primary_key::VARCHAR, c.is_unique::VARCHAR, c.foreign_key]
                                             ORDER BY c.ordinal_position)))
                     FROM diff_columns c WHERE c.side = l.side AND c.table_qualified_name = l.qn), '') AS cols
    FROM lonely l
    JOIN diff_tables d ON d.side = l.side AND d.qualified_name = l.qn
    LEFT JOIN diff_view_sql v ON v.side = l.side AND v.qualified_name = l.qn
),
pairs AS (
    SELECT r.qn AS from_qn, a.qn AS to_qn,
           count(*) OVER (PARTITION BY r.qn) AS partners_of_old,
           count(*) OVER (PARTITION BY a.qn) AS partners_of_new
    FROM shape r JOIN shape a
      ON r.side = 'from' AND a.side = 'to' AND r.table_type IS NOT DISTINCT FROM a.table_type
     AND r.view_key IS NOT DISTINCT FROM a.view_key AND r.cols = a.cols
),
renames AS (SELECT from_qn, to_qn FROM pairs WHERE partners_of_old = 1 AND partners_of_new = 1)
SELECT from_qn, to_qn, false AS renamed FROM by_name WHERE from_qn IS NOT NULL AND to_qn IS NOT NULL
UNION ALL
SELECT from_qn, to_qn, true FROM renames
UNION ALL
SELECT from_qn, NULL, false FROM by_name WHERE to_qn IS NULL AND from_qn NOT IN (SELECT from_qn FROM renames)
UNION ALL
SELECT NULL, to_qn, false FROM by_name WHERE from_qn IS NULL AND to_qn NOT IN (SELECT to_qn FROM renames);

-- One row per column pair, by diff_columns row ids (integers join much faster than names);
-- f_id or t_id is NULL where the column exists on one side only. Also decided here, on narrow
-- rows: `differs` (the attribute hashes differ), `moved` (its rank among the columns kept in both runs changed; ranked only in tables
-- where some kept column changed position) and `unobserved` (a one-sided column the other run
-- could not see: unknown, not added or removed).
CREATE OR REPLACE TEMP TABLE diff_column_match AS
WITH f AS (
    SELECT c.rowid AS f_id, c.schema_name, c.table_name, c.column_name, c.ordinal_position, c.attr_hash,
           m.to_qn AS to_table, coalesce(m.renamed, false) AS table_renamed
    FROM diff_columns c LEFT JOIN diff_table_match m ON m.from_qn = c.table_qualified_name
    WHERE c.side = 'from'
),
t AS (
    SELECT rowid AS t_id, table_qualified_name, schema_name, table_name, column_name, ordinal_position, attr_hash
    FROM diff_columns WHERE side = 'to'
),
by_name AS (
    SELECT f.f_id, t.t_id, coalesce(t.table_qualified_name, f.to_table) AS to_table, f.table_renamed,
           f.ordinal_position AS f_pos, t.ordinal_position AS t_pos, f.attr_hash <> t.attr_hash AS differs,
           f.schema_name AS f_schema, f.table_name AS f_table, f.column_name AS f_column,
           t.schema_name AS t_schema, t.table_name AS t_table, t.column_name AS t_column
    FROM f FULL JOIN t ON f.to_table = t.table_qualified_name AND f.column_name = t.column_name
),
old AS (
    SELECT b.f_id, b.to_table, c.*
    FROM by_name b JOIN diff_columns c ON c.rowid = b.f_id
    WHERE b.t_id IS NULL AND b.to_table IS NOT NULL AND getvariable('diff_renames')
),
new AS (
    SELECT b.t_id, c.*
    FROM by_name b JOIN diff_columns c ON c.rowid = b.t_id
    WHERE b.f_id IS NULL AND getvariable('diff_renames')
),
pairs AS (
    SELECT o.f_id, n.t_id, n.table_qualified_name AS to_table, o.ordinal_position AS f_pos, n.ordinal_position AS t_pos,
           o.attr_hash <> n.attr_hash AS differs,
           count(*) OVER (PARTITION BY o.f_id) AS partners_of_old,
           count(*) OVER (PARTITION BY n.t_id) AS partners_of_new
    FROM old o JOIN new n
      ON o.to_table = n.table_qualified_name AND o.ordinal_position = n.ordinal_position
     AND o.type_key IS NOT DISTINCT FROM n.type_key AND o.is_nullable IS NOT DISTINCT FROM n.is_nullable
     AND o.column_default IS NOT DISTINCT FROM n.column_default AND o.is_identity = n.is_identity
     AND o.is_generated = n.is_generated AND o.is_primary_key = n.is_primary_key
     AND o.is_unique = n.is_unique AND o.foreign_key IS NOT DISTINCT FROM n.foreign_key
     AND o.indexes = n.indexes
),
renames AS (SELECT * FROM pairs WHERE partners_of_old = 1 AND partners_of_new = 1),
matched AS (
    SELECT f_id, t_id, table_renamed AS renamed, to_table, f_pos, t_pos, differs
    FROM by_name WHERE f_id IS NOT NULL AND t_id IS NOT NULL
    UNION ALL
    SELECT f_id, t_id, true, to_table, f_pos, t_pos, differs FROM renames
),
shifted AS (
    SELECT DISTINCT to_table FROM matched WHERE f_pos <> t_pos
),
moves AS (
    SELECT f_id,
           rank() OVER (PARTITION BY to_table ORDER BY f_pos) <> rank() OVER (PARTITION BY to_table ORDER BY t_pos) AS moved
    FROM matched SEMI JOIN shifted USING (to_table)
)
SELECT m.f_id, m.t_id, m.f_pos, m.renamed, m.differs, coalesce(v.moved, false) AS moved, NULL::BOOLEAN AS unobserved
FROM matched m LEFT JOIN moves v USING (f_id)
UNION ALL
SELECT f_id, NULL, f_pos, false, false, false, diff_unobserved('to', f_schema, f_table, f_column)
FROM by_name WHERE t_id IS NULL AND f_id NOT IN (SELECT f_id FROM renames)
UNION ALL
SELECT NULL, t_id, NULL, false, false, false, diff_unobserved('from', t_schema, t_table, t_column)
FROM by_name WHERE f_id IS NULL AND t_id NOT IN (SELECT t_id FROM renames);

-- Column renames, old name -> new name per old table (constraints and indexes follow them).
CREATE OR REPLACE TEMP TABLE diff_column_renames AS
SELECT f.table_qualified_name AS from_table, list({'old': f.column_name, 'new': t.column_name}) AS renames
FROM diff_column_match m
JOIN diff_columns f ON f.rowid = m.f_id
JOIN diff_columns t ON t.rowid = m.t_id
WHERE m.renamed AND f.column_name <> t.column_name
GROUP BY ALL;
