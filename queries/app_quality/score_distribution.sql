-- How many filtered columns fall in each 5-point score bin (the last bin holds 95-100).
SELECT least(floor(quality_score / 5) * 5, 95) AS bin, count(*) AS columns
FROM quality_columns
WHERE quality_score IS NOT NULL
GROUP BY 1 ORDER BY 1
