-- Null % against distinct % of each filtered column.
SELECT table_name, column_name, null_percentage, distinct_percentage, quality_score FROM quality_columns
