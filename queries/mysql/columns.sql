-- Columns, a table's at a time: each row holds up to %(columns_per_row)s columns of one table as
-- a JSON array of arrays (GROUP_CONCAT, whose length the connector raises for its session), and
-- how many columns it should hold, so that a cut one is seen. Few rows of one text field each
-- cost PyMySQL a fraction of one row per column, and plain fields cost the server least: the
-- connector names them and works out the flags and the engine-specific facts with Polars.
-- Each column's array:
--   [schema, table, column, position, COLUMN_TYPE (full type text: decimal(12,2), int(10) unsigned,
--    enum('a','b')), IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION, COLUMN_COMMENT,
--    DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION,
--    NUMERIC_SCALE]
-- MariaDB writes defaults as SQL ('new', current_timestamp()) and no default as the word NULL;
-- MySQL writes literals unquoted. json on MariaDB is longtext with a json_valid() check (see
-- checks.sql).
SELECT CONCAT('[', GROUP_CONCAT(
           JSON_ARRAY(c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.ORDINAL_POSITION, c.COLUMN_TYPE,
                      c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, c.GENERATION_EXPRESSION, c.COLUMN_COMMENT,
                      c.DATA_TYPE, c.CHARACTER_SET_NAME, c.COLLATION_NAME, c.CHARACTER_MAXIMUM_LENGTH,
                      c.NUMERIC_PRECISION, c.NUMERIC_SCALE)
           ORDER BY c.ORDINAL_POSITION SEPARATOR ','), ']') AS columns_json,
       COUNT(*) AS column_count
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA IN %(schemas)s  -- the wanted databases, from schemas.sql
GROUP BY c.TABLE_SCHEMA, c.TABLE_NAME, (c.ORDINAL_POSITION - 1) DIV %(columns_per_row)s
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, (c.ORDINAL_POSITION - 1) DIV %(columns_per_row)s
