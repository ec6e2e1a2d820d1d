SELECT t.schema AS schema_name,
       t.name AS table_name,
       il.name AS index_name,
       il."unique" = 1 AS is_unique,
       il.origin = 'pk' AS is_primary,
       'btree' AS method,
       (SELECT json_group_array(coalesce(ix.name, '<expression>'))
          FROM (SELECT * FROM pragma_index_xinfo(il.name, t.schema) WHERE key = 1 ORDER BY seqno) ix) AS columns,
       CASE WHEN il.partial = 1 THEN m.sql END AS predicate,
       m.sql AS definition,
       json_object('origin', il.origin, 'partial', il.partial = 1) AS extra
FROM pragma_table_list t
JOIN pragma_index_list(t.name, t.schema) il
LEFT JOIN sqlite_schema m ON m.type = 'index' AND m.name = il.name AND t.schema = 'main'
WHERE t.schema <> 'temp' AND t.type = 'table' AND t.name NOT LIKE 'sqlite\_%' ESCAPE '\'
