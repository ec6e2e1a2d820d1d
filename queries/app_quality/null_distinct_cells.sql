-- Null % against distinct % for many columns: one row per 2 x 2 point cell, with its column count.
SELECT round(null_percentage / 2) * 2 AS null_percentage, round(distinct_percentage / 2) * 2 AS distinct_percentage,
       count(*) AS columns, avg(quality_score) AS quality_score
FROM quality_columns
GROUP BY ALL
