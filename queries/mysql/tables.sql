-- Tables and views with estimates, sizes and view text. Partitions are gathered by the
-- connector from partitions.sql into the table's custom attribute `partitioning`.
SELECT t.TABLE_SCHEMA AS schema_name,
       t.TABLE_NAME AS table_name,
       CASE t.TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SYSTEM VIEW' THEN 'view'
                         WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END AS table_type,
       NULLIF(t.TABLE_COMMENT, '') AS comment,
       t.TABLE_ROWS AS row_estimate,
       t.DATA_LENGTH + t.INDEX_LENGTH AS size_bytes,
       v.VIEW_DEFINITION AS view_definition,
       t.ENGINE AS engine,
       t.TABLE_COLLATION AS collation,
       t.AUTO_INCREMENT AS auto_increment,
       t.DATA_LENGTH AS data_bytes,
       t.INDEX_LENGTH AS index_bytes,
       NULLIF(t.CREATE_OPTIONS, '') AS create_options,
       v.IS_UPDATABLE AS is_updatable,
       v.CHECK_OPTION AS check_option,
       v.SECURITY_TYPE AS security_type
FROM information_schema.TABLES t
LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND (%(database)s IS NULL OR t.TABLE_SCHEMA = %(database)s)
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME
