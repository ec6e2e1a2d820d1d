-- Every database the user can see is a schema; %(database)s (if set) narrows it to one.
-- Like every catalog query here, one JSON object per row (see tables.sql).
SELECT JSON_OBJECT(
           'schema_name', SCHEMA_NAME,
           'extra', JSON_OBJECT('character_set', DEFAULT_CHARACTER_SET_NAME, 'collation', DEFAULT_COLLATION_NAME)
       ) AS row_json
FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND (%(database)s IS NULL OR SCHEMA_NAME = %(database)s)
ORDER BY SCHEMA_NAME
