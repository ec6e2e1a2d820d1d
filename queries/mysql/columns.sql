-- Full type text (COLUMN_TYPE: decimal(12,2), int(10) unsigned, enum('a','b')). MariaDB writes
-- defaults as SQL ('new', current_timestamp()) and no default as the word NULL (made null here);
-- MySQL writes literals unquoted. json on MariaDB is longtext with a json_valid() check (see
-- checks.sql). The engine-specific facts travel as one JSON object, built by the server: one
-- text field is much cheaper for the client to decode than eight.
SELECT c.TABLE_SCHEMA AS schema_name,
       c.TABLE_NAME AS table_name,
       c.COLUMN_NAME AS column_name,
       c.ORDINAL_POSITION AS ordinal_position,
       c.COLUMN_TYPE AS data_type,
       c.IS_NULLABLE = 'YES' AS is_nullable,
       CASE WHEN c.COLUMN_DEFAULT = 'NULL' AND LOCATE('MariaDB', VERSION()) > 0 THEN NULL
            ELSE c.COLUMN_DEFAULT END AS column_default,
       LOCATE('auto_increment', c.EXTRA) > 0 AS is_identity,
       COALESCE(c.GENERATION_EXPRESSION, '') <> '' AS is_generated,
       NULLIF(c.GENERATION_EXPRESSION, '') AS generation_expression,
       NULLIF(c.COLUMN_COMMENT, '') AS comment,
       JSON_OBJECT(
           'base_type', c.DATA_TYPE,
           'unsigned', JSON_EXTRACT(IF(LOCATE('unsigned', c.COLUMN_TYPE) > 0, 'true', 'false'), '$'),
           'character_set', c.CHARACTER_SET_NAME,
           'collation', c.COLLATION_NAME,
           'max_length', c.CHARACTER_MAXIMUM_LENGTH,
           'numeric_precision', c.NUMERIC_PRECISION,
           'numeric_scale', c.NUMERIC_SCALE,
           'auto_increment', JSON_EXTRACT(IF(LOCATE('auto_increment', c.EXTRA) > 0, 'true', 'false'), '$'),
           'on_update', IF(LOCATE('on update current_timestamp', c.EXTRA) > 0, 'current_timestamp', NULL),
           'stored', JSON_EXTRACT(IF(LOCATE('stored generated', c.EXTRA) > 0 OR LOCATE('persistent', c.EXTRA) > 0,
                                     'true', 'false'), '$'),
           'extra', NULLIF(c.EXTRA, '')
       ) AS extra
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
