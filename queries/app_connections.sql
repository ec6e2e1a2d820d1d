-- Every connection with a run in the catalog.
SELECT DISTINCT connection FROM sync_runs ORDER BY connection
