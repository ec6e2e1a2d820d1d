-- CHECK constraints, MySQL 8.0.16+: names are per schema, the table comes from TABLE_CONSTRAINTS.
SELECT JSON_OBJECT(
           'schema_name', tc.TABLE_SCHEMA,
           'table_name', tc.TABLE_NAME,
           'constraint_name', tc.CONSTRAINT_NAME,
           'constraint_type', 'check',
           'definition', cc.CHECK_CLAUSE,
           'level', NULL
       ) AS row_json
FROM information_schema.TABLE_CONSTRAINTS tc
JOIN information_schema.CHECK_CONSTRAINTS cc
  ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
WHERE tc.CONSTRAINT_TYPE = 'CHECK'
  AND tc.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY tc.TABLE_SCHEMA, tc.TABLE_NAME, tc.CONSTRAINT_NAME
