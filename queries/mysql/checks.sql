-- CHECK constraints, MariaDB: names are per table (CHECK_CONSTRAINTS has TABLE_NAME).
-- A column-level json_valid(`c`) check is how MariaDB stores the JSON type.
SELECT cc.CONSTRAINT_SCHEMA AS schema_name,
       cc.TABLE_NAME AS table_name,
       cc.CONSTRAINT_NAME AS constraint_name,
       'check' AS constraint_type,
       cc.CHECK_CLAUSE AS definition,
       cc.LEVEL AS level
FROM information_schema.CHECK_CONSTRAINTS cc
WHERE cc.CONSTRAINT_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY 1, 2, 3
