-- Full type text (COLUMN_TYPE: decimal(12,2), int(10) unsigned, enum('a','b')). MariaDB writes
-- defaults as SQL ('new', current_timestamp()) and no default as the word NULL (the connector
-- makes that null); MySQL writes literals unquoted. json on MariaDB is longtext with a
-- json_valid() check (see checks.sql).
SELECT c.TABLE_SCHEMA AS schema_name,
       c.TABLE_NAME AS table_name,
       c.COLUMN_NAME AS column_name,
       c.ORDINAL_POSITION AS ordinal_position,
       c.COLUMN_TYPE AS data_type,
       c.DATA_TYPE AS base_type,
       c.IS_NULLABLE = 'YES' AS is_nullable,
       c.COLUMN_DEFAULT AS column_default,
       c.EXTRA AS extra_text,
       COALESCE(c.GENERATION_EXPRESSION, '') <> '' AS is_generated,
       NULLIF(c.GENERATION_EXPRESSION, '') AS generation_expression,
       NULLIF(c.COLUMN_COMMENT, '') AS comment,
       c.CHARACTER_SET_NAME AS character_set,
       c.COLLATION_NAME AS collation,
       c.CHARACTER_MAXIMUM_LENGTH AS max_length,
       c.NUMERIC_PRECISION AS numeric_precision,
       c.NUMERIC_SCALE AS numeric_scale
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
