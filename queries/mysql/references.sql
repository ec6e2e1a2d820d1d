-- ON UPDATE / ON DELETE actions of foreign keys, matched to constraints.sql by the connector.
SELECT r.CONSTRAINT_SCHEMA AS schema_name,
       r.TABLE_NAME AS table_name,
       r.CONSTRAINT_NAME AS constraint_name,
       r.UPDATE_RULE AS on_update,
       r.DELETE_RULE AS on_delete
FROM information_schema.REFERENTIAL_CONSTRAINTS r
WHERE r.CONSTRAINT_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
