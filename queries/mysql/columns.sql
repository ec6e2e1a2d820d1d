-- One JSON array per column, of plain information_schema fields (the connector names them and
-- works out the flags and the engine-specific facts with Polars). One text field decodes far
-- faster in PyMySQL than sixteen, and plain fields cost the server least: computing the flags
-- and a JSON object here doubled the server's time for this query.
--   [schema, table, column, position, COLUMN_TYPE (full type text: decimal(12,2), int(10) unsigned,
--    enum('a','b')), IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION, COLUMN_COMMENT,
--    DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION,
--    NUMERIC_SCALE]
-- MariaDB writes defaults as SQL ('new', current_timestamp()) and no default as the word NULL;
-- MySQL writes literals unquoted. json on MariaDB is longtext with a json_valid() check (see
-- checks.sql).
SELECT JSON_ARRAY(c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.ORDINAL_POSITION, c.COLUMN_TYPE,
                  c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, c.GENERATION_EXPRESSION, c.COLUMN_COMMENT,
                  c.DATA_TYPE, c.CHARACTER_SET_NAME, c.COLLATION_NAME, c.CHARACTER_MAXIMUM_LENGTH,
                  c.NUMERIC_PRECISION, c.NUMERIC_SCALE) AS column_fields
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
