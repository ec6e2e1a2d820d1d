-- Column count and mean null % of the filtered column profiles (quality_columns: app_quality_columns.sql).
SELECT count(*) AS columns, avg(null_percentage) AS nulls FROM quality_columns
