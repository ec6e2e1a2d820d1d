-- Tables and views with estimates and sizes. View text (views.sql) and partitions
-- (partitions.sql, into the custom attribute `partitioning`) are added by the connector.
-- Each row is one JSON object whose keys are the row's field names: PyMySQL decodes every field
-- in Python, so one text field per row costs the client a fraction of ten separate ones.
SELECT JSON_OBJECT(
           'schema_name', t.TABLE_SCHEMA,
           'table_name', t.TABLE_NAME,
           'table_type', CASE t.TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SYSTEM VIEW' THEN 'view'
                                           WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END,
           'comment', NULLIF(t.TABLE_COMMENT, ''),
           'row_estimate', t.TABLE_ROWS,
           'size_bytes', t.DATA_LENGTH + t.INDEX_LENGTH,
           'engine', t.ENGINE,
           'collation', t.TABLE_COLLATION,
           'auto_increment', t.AUTO_INCREMENT,
           'data_bytes', t.DATA_LENGTH,
           'index_bytes', t.INDEX_LENGTH,
           'create_options', NULLIF(t.CREATE_OPTIONS, '')  -- "partitioned" for a partitioned table
       ) AS row_json
FROM information_schema.TABLES t
WHERE t.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME
