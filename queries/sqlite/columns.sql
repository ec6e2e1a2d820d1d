SELECT t.schema AS schema_name,
       t.name AS table_name,
       c.name AS column_name,
       c.cid + 1 AS ordinal_position,
       c.type AS data_type,
       -- an INTEGER PRIMARY KEY is the rowid and never null; so is any key of a WITHOUT ROWID table
       c."notnull" = 0 AND NOT (c.pk > 0 AND (t.wr = 1 OR (upper(c.type) = 'INTEGER'
           AND (SELECT count(*) FROM pragma_table_info(t.name, t.schema) k WHERE k.pk > 0) = 1))) AS is_nullable,
       c.dflt_value AS column_default,
       c.hidden IN (2, 3) AS is_generated,
       json_object('hidden', c.hidden, 'stored', c.hidden = 3) AS extra
FROM pragma_table_list t
JOIN pragma_table_xinfo(t.name, t.schema) c
WHERE t.schema <> 'temp' AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY t.schema, t.name, c.cid
