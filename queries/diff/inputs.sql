-- Both scan runs' rows, one table per entity with side = 'from' | 'to'. Everything after this
-- file reads only these tables. Qualified names that point at other objects (foreign keys,
-- partition parents) are kept below the connection, so two connections' runs compare.

CREATE OR REPLACE TEMP TABLE diff_schemas AS
SELECT 'from' AS side, qualified_name, schema_name, owner, comment
FROM normalized_schemas WHERE run_id = getvariable('diff_from_run')
UNION ALL
SELECT 'to', qualified_name, schema_name, owner, comment
FROM normalized_schemas WHERE run_id = getvariable('diff_to_run');

CREATE OR REPLACE TEMP TABLE diff_tables AS
WITH t AS (
    SELECT 'from' AS side, getvariable('diff_from_prefix') AS prefix, qualified_name, schema_name, table_name,
           table_type, owner, comment, view_definition, parent_table, primary_key, custom_attributes
    FROM normalized_tables WHERE run_id = getvariable('diff_from_run')
    UNION ALL
    SELECT 'to', getvariable('diff_to_prefix'), qualified_name, schema_name, table_name,
           table_type, owner, comment, view_definition, parent_table, primary_key, custom_attributes
    FROM normalized_tables WHERE run_id = getvariable('diff_to_run')
)
SELECT side, qualified_name, schema_name, table_name, table_type, owner, comment, view_definition,
       diff_local(parent_table, prefix) AS parent_table,
       CAST(primary_key AS JSON)::VARCHAR[] AS primary_key,
       -- parsed once: the constraints and indexes below come from here
       from_json(custom_attributes, '{
           "primary_key_name": "VARCHAR",
           "unique_constraints": [{"name": "VARCHAR", "columns": ["VARCHAR"]}],
           "check_constraints": [{"name": "VARCHAR", "columns": ["VARCHAR"], "definition": "VARCHAR"}],
           "foreign_keys": [{"name": "VARCHAR", "columns": ["VARCHAR"], "ref_schema": "VARCHAR",
                             "ref_table": "VARCHAR", "ref_columns": ["VARCHAR"],
                             "on_update": "VARCHAR", "on_delete": "VARCHAR"}],
           "indexes": [{"name": "VARCHAR", "columns": ["VARCHAR"], "unique": "BOOLEAN", "primary": "BOOLEAN",
                        "method": "VARCHAR", "predicate": "VARCHAR"}]}') AS ca
FROM t;

CREATE OR REPLACE TEMP TABLE diff_columns AS
-- one scan for both runs; the second branch only serves a run compared with itself
WITH r AS (
    SELECT run_id, qualified_name, table_qualified_name, schema_name, table_name, column_name, ordinal_position,
           data_type, is_nullable, column_default, is_identity, is_generated, generation_expression, comment,
           is_primary_key, is_unique, foreign_key, indexes
    FROM normalized_columns WHERE run_id IN (getvariable('diff_from_run'), getvariable('diff_to_run'))
),
c AS (
    SELECT CASE WHEN run_id = getvariable('diff_from_run') THEN 'from' ELSE 'to' END AS side, * EXCLUDE (run_id) FROM r
    UNION ALL
    SELECT 'to', * EXCLUDE (run_id) FROM r WHERE getvariable('diff_from_run') = getvariable('diff_to_run')
)
SELECT *,
       -- one number for every compared attribute: equal numbers are equal columns (a 64-bit hash;
       -- a collision would hide one change in ~10^19), so only changed rows are compared in full
       hash(type_key, is_nullable, column_default, is_identity, is_generated, generation_expression, comment,
            is_primary_key, is_unique, foreign_key, indexes) AS attr_hash
FROM (
    SELECT side, qualified_name, table_qualified_name, schema_name, table_name, column_name, ordinal_position,
           data_type, diff_type_key(data_type) AS type_key, is_nullable, trim(column_default) AS column_default,
           coalesce(is_identity, false) AS is_identity, coalesce(is_generated, false) AS is_generated,
           generation_expression, comment, coalesce(is_primary_key, false) AS is_primary_key,
           coalesce(is_unique, false) AS is_unique,
           diff_local(foreign_key, CASE side WHEN 'from' THEN getvariable('diff_from_prefix')
                                             ELSE getvariable('diff_to_prefix') END) AS foreign_key,
           -- most columns are in no index: parse only the lists that are not empty
           CASE WHEN indexes IS NULL OR indexes = '[]' THEN []::VARCHAR[]
                ELSE list_sort(CAST(indexes AS JSON)::VARCHAR[]) END AS indexes
    FROM c
);

-- Constraints, from each table's custom_attributes. A constraint is identified by its table,
-- kind and columns (a check also by its definition), not by its name: SQLite has no constraint
-- names, so names would make every rebuilt table look changed.
CREATE OR REPLACE TEMP TABLE diff_constraints AS
WITH t AS (
    SELECT side, qualified_name AS table_qualified_name, schema_name, table_name, primary_key AS pk, ca
    FROM diff_tables
),
uq AS (SELECT side, table_qualified_name, schema_name, table_name, unnest(ca.unique_constraints) AS u FROM t),
ck AS (SELECT side, table_qualified_name, schema_name, table_name, unnest(ca.check_constraints) AS c FROM t),
fk AS (SELECT side, table_qualified_name, schema_name, table_name, unnest(ca.foreign_keys) AS f FROM t)
SELECT side, table_qualified_name, schema_name, table_name, 'primary_key' AS constraint_type,
       ca.primary_key_name AS constraint_name, pk AS columns, NULL::VARCHAR AS definition,
       NULL::VARCHAR AS ref_target, NULL::VARCHAR AS on_update, NULL::VARCHAR AS on_delete
FROM t WHERE pk IS NOT NULL
UNION ALL
SELECT side, table_qualified_name, schema_name, table_name, 'unique', u.name, u.columns, NULL, NULL, NULL, NULL
FROM uq
UNION ALL
SELECT side, table_qualified_name, schema_name, table_name, 'check', c.name, coalesce(c.columns, []),
       c.definition, NULL, NULL, NULL
FROM ck
UNION ALL
SELECT side, table_qualified_name, schema_name, table_name, 'foreign_key', f.name, f.columns, NULL,
       diff_quote(f.ref_schema) || '.' || diff_quote(f.ref_table) || '('
           || array_to_string(list_transform(f.ref_columns, lambda x: diff_quote(x)), ', ') || ')',
       f.on_update, f.on_delete
FROM fk;

-- Indexes, from each table's custom_attributes; identified by table and index name.
CREATE OR REPLACE TEMP TABLE diff_indexes AS
WITH ix AS (
    SELECT side, qualified_name AS table_qualified_name, schema_name, table_name, unnest(ca.indexes) AS i
    FROM diff_tables
)
SELECT row_number() OVER () AS id, side, table_qualified_name, schema_name, table_name, i.name AS index_name, i.columns,
       coalesce(i."unique", false) AS is_unique, coalesce(i."primary", false) AS is_primary,
       i.method, i.predicate
FROM ix;
