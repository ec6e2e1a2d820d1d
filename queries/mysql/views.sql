-- View definitions and options, matched to tables.sql by the connector (a join makes MariaDB
-- re-read the catalog per row). Run only when tables.sql found a view.
SELECT JSON_OBJECT(
           'schema_name', v.TABLE_SCHEMA,
           'table_name', v.TABLE_NAME,
           'view_definition', v.VIEW_DEFINITION,
           'is_updatable', v.IS_UPDATABLE,
           'check_option', v.CHECK_OPTION,
           'security_type', v.SECURITY_TYPE
       ) AS row_json
FROM information_schema.VIEWS v
WHERE v.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
