-- Primary, unique, foreign key and check constraints (NOT NULL is in the columns).
-- A DuckDB foreign key always points into the same schema.
SELECT database_name, schema_name, table_name, constraint_name,
       CASE constraint_type WHEN 'PRIMARY KEY' THEN 'primary_key' WHEN 'UNIQUE' THEN 'unique'
            WHEN 'FOREIGN KEY' THEN 'foreign_key' ELSE 'check' END AS constraint_type,
       to_json(constraint_column_names) AS columns,
       CASE WHEN constraint_type = 'FOREIGN KEY' THEN schema_name END AS ref_schema,
       referenced_table AS ref_table,
       CASE WHEN constraint_type = 'FOREIGN KEY' THEN to_json(referenced_column_names) END AS ref_columns,
       CASE WHEN constraint_type = 'CHECK' THEN expression ELSE constraint_text END AS definition
FROM duckdb_constraints()
WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK')
  AND database_name NOT IN ('system', 'temp')
ORDER BY database_name, schema_name, table_name, constraint_index
