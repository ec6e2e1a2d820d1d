-- CHECK constraints, MariaDB: names are per table (CHECK_CONSTRAINTS has TABLE_NAME).
-- A column-level json_valid(`c`) check is how MariaDB stores the JSON type.
SELECT JSON_OBJECT(
           'schema_name', cc.CONSTRAINT_SCHEMA,
           'table_name', cc.TABLE_NAME,
           'constraint_name', cc.CONSTRAINT_NAME,
           'constraint_type', 'check',
           'definition', cc.CHECK_CLAUSE,
           'level', cc.LEVEL
       ) AS row_json
FROM information_schema.CHECK_CONSTRAINTS cc
WHERE cc.CONSTRAINT_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY cc.CONSTRAINT_SCHEMA, cc.TABLE_NAME, cc.CONSTRAINT_NAME
