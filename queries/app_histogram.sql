-- A column's ($2) histogram in one quality run ($1): numeric bins, or months or years.
SELECT kind, bin, lower, upper, period, count
FROM column_histograms
WHERE run_id = $1 AND column_qualified_name = $2
ORDER BY bin
LIMIT 5000
