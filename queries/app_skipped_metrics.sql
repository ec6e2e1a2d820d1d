-- The metrics a quality run ($1) skipped on one column ($2), as JSON (metric -> the engine's reason).
SELECT skipped_metrics
FROM column_quality_metrics
WHERE run_id = $1 AND qualified_name = $2 AND skipped_metrics IS NOT NULL
