-- Every attached database is a schema ("main" for the file itself).
SELECT name AS schema_name, json_object('file', file) AS extra
FROM pragma_database_list
WHERE name <> 'temp'
