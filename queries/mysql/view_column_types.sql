-- The types of view columns as a session with the server's default settings reports them (the
-- columns query's own session raises group_concat_max_len, which changes how the server types a
-- view's GROUP_CONCAT columns). Run only for views with a longtext/longblob column there.
SELECT JSON_OBJECT(
           'schema_name', c.TABLE_SCHEMA,
           'table_name', c.TABLE_NAME,
           'column_name', c.COLUMN_NAME,
           'data_type', c.COLUMN_TYPE,
           'base_type', c.DATA_TYPE,
           'max_length', c.CHARACTER_MAXIMUM_LENGTH
       ) AS row_json
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA IN %(schemas)s
  AND c.TABLE_NAME IN %(tables)s
