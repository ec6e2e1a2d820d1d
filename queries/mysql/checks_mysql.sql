-- CHECK constraints, MySQL 8.0.16+: names are per schema, the table comes from TABLE_CONSTRAINTS.
SELECT tc.TABLE_SCHEMA AS schema_name,
       tc.TABLE_NAME AS table_name,
       tc.CONSTRAINT_NAME AS constraint_name,
       'check' AS constraint_type,
       cc.CHECK_CLAUSE AS definition,
       NULL AS level
FROM information_schema.TABLE_CONSTRAINTS tc
JOIN information_schema.CHECK_CONSTRAINTS cc
  ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
WHERE tc.CONSTRAINT_TYPE = 'CHECK'
  AND tc.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY 1, 2, 3
