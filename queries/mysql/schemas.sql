-- Every database the user can see is a schema; %(database)s (if set) narrows it to one.
SELECT SCHEMA_NAME AS schema_name,
       JSON_OBJECT('character_set', DEFAULT_CHARACTER_SET_NAME, 'collation', DEFAULT_COLLATION_NAME) AS extra
FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND (%(database)s IS NULL OR SCHEMA_NAME = %(database)s)
ORDER BY SCHEMA_NAME
