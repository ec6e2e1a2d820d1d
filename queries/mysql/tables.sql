-- Tables and views with estimates and sizes. View text (views.sql) and partitions
-- (partitions.sql, into the custom attribute `partitioning`) are added by the connector.
SELECT t.TABLE_SCHEMA AS schema_name,
       t.TABLE_NAME AS table_name,
       CASE t.TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SYSTEM VIEW' THEN 'view'
                         WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END AS table_type,
       NULLIF(t.TABLE_COMMENT, '') AS comment,
       t.TABLE_ROWS AS row_estimate,
       t.DATA_LENGTH + t.INDEX_LENGTH AS size_bytes,
       t.ENGINE AS engine,
       t.TABLE_COLLATION AS collation,
       t.AUTO_INCREMENT AS auto_increment,
       t.DATA_LENGTH AS data_bytes,
       t.INDEX_LENGTH AS index_bytes,
       NULLIF(t.CREATE_OPTIONS, '') AS create_options
FROM information_schema.TABLES t
WHERE t.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME
