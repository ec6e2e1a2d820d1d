-- One row per index column (collapsed by the connector). SUB_PART is a prefix length;
-- INDEX_TYPE is BTREE, HASH, FULLTEXT or SPATIAL. A functional key part (MySQL 8) has no
-- column name and is reported as <expression>.
SELECT JSON_OBJECT(
           'schema_name', s.TABLE_SCHEMA,
           'table_name', s.TABLE_NAME,
           'index_name', s.INDEX_NAME,
           'is_unique', s.NON_UNIQUE = 0,
           'is_primary', s.INDEX_NAME = 'PRIMARY',
           'method', lower(s.INDEX_TYPE),
           'columns', COALESCE(s.COLUMN_NAME, '<expression>'),
           'sub_part', s.SUB_PART,
           'collation', s.COLLATION,
           'comment', NULLIF(s.INDEX_COMMENT, '')
       ) AS row_json
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX
