-- One row per index column (collapsed by the connector). SUB_PART is a prefix length;
-- INDEX_TYPE is BTREE, HASH, FULLTEXT or SPATIAL. A functional key part (MySQL 8) has no
-- column name and is reported as <expression>.
SELECT s.TABLE_SCHEMA AS schema_name,
       s.TABLE_NAME AS table_name,
       s.INDEX_NAME AS index_name,
       s.NON_UNIQUE = 0 AS is_unique,
       s.INDEX_NAME = 'PRIMARY' AS is_primary,
       lower(s.INDEX_TYPE) AS method,
       COALESCE(s.COLUMN_NAME, '<expression>') AS columns,
       s.SUB_PART AS sub_part,
       s.COLLATION AS collation,
       NULLIF(s.INDEX_COMMENT, '') AS comment
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX
