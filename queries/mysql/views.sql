-- View definitions and options, matched to tables.sql by the connector (a join makes MariaDB
-- re-read the catalog per row).
SELECT v.TABLE_SCHEMA AS schema_name,
       v.TABLE_NAME AS table_name,
       v.VIEW_DEFINITION AS view_definition,
       v.IS_UPDATABLE AS is_updatable,
       v.CHECK_OPTION AS check_option,
       v.SECURITY_TYPE AS security_type
FROM information_schema.VIEWS v
WHERE v.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
