SELECT t.schema AS schema_name,
       t.name AS table_name,
       CASE t.type WHEN 'view' THEN 'view' WHEN 'virtual' THEN 'virtual_table' ELSE 'table' END AS table_type,
       CASE WHEN t.type = 'view' THEN m.sql END AS view_definition,
       json_object('without_rowid', t.wr = 1, 'strict', t.strict = 1, 'sql', m.sql) AS extra
FROM pragma_table_list t
LEFT JOIN sqlite_schema m ON m.name = t.name AND t.schema = 'main'
WHERE t.schema <> 'temp' AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'
