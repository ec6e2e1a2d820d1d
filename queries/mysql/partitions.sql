-- Partitions and subpartitions of partitioned tables, in order.
SELECT p.TABLE_SCHEMA AS schema_name,
       p.TABLE_NAME AS table_name,
       p.PARTITION_NAME AS partition_name,
       p.SUBPARTITION_NAME AS subpartition_name,
       p.PARTITION_ORDINAL_POSITION AS partition_position,
       p.PARTITION_METHOD AS method,
       p.SUBPARTITION_METHOD AS subpartition_method,
       p.PARTITION_EXPRESSION AS expression,
       p.SUBPARTITION_EXPRESSION AS subpartition_expression,
       p.PARTITION_DESCRIPTION AS description,
       p.TABLE_ROWS AS row_estimate,
       p.DATA_LENGTH + p.INDEX_LENGTH AS size_bytes,
       NULLIF(p.PARTITION_COMMENT, '') AS comment
FROM information_schema.PARTITIONS p
WHERE p.PARTITION_NAME IS NOT NULL
  AND p.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY p.TABLE_SCHEMA, p.TABLE_NAME, p.PARTITION_ORDINAL_POSITION, p.SUBPARTITION_ORDINAL_POSITION
