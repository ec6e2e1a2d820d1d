-- Partitions and subpartitions of partitioned tables, in order. Run only when tables.sql
-- found a partitioned table.
SELECT JSON_OBJECT(
           'schema_name', p.TABLE_SCHEMA,
           'table_name', p.TABLE_NAME,
           'partition_name', p.PARTITION_NAME,
           'subpartition_name', p.SUBPARTITION_NAME,
           'partition_position', p.PARTITION_ORDINAL_POSITION,
           'method', p.PARTITION_METHOD,
           'subpartition_method', p.SUBPARTITION_METHOD,
           'expression', p.PARTITION_EXPRESSION,
           'subpartition_expression', p.SUBPARTITION_EXPRESSION,
           'description', p.PARTITION_DESCRIPTION,
           'row_estimate', p.TABLE_ROWS,
           'size_bytes', p.DATA_LENGTH + p.INDEX_LENGTH,
           'comment', NULLIF(p.PARTITION_COMMENT, '')
       ) AS row_json
FROM information_schema.PARTITIONS p
WHERE p.PARTITION_NAME IS NOT NULL
  AND p.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY p.TABLE_SCHEMA, p.TABLE_NAME, p.PARTITION_ORDINAL_POSITION, p.SUBPARTITION_ORDINAL_POSITION
