-- ON UPDATE / ON DELETE actions of foreign keys, matched to constraints.sql by the connector.
-- Run only when constraints.sql found a foreign key.
SELECT JSON_OBJECT(
           'schema_name', r.CONSTRAINT_SCHEMA,
           'table_name', r.TABLE_NAME,
           'constraint_name', r.CONSTRAINT_NAME,
           'on_update', r.UPDATE_RULE,
           'on_delete', r.DELETE_RULE
       ) AS row_json
FROM information_schema.REFERENTIAL_CONSTRAINTS r
WHERE r.CONSTRAINT_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
