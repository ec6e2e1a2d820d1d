-- One scan run's lineage edges ($1: the run id), tables first, in a stable order.
SELECT level, upstream, downstream, kind, method
FROM lineage_edges
WHERE run_id = $1
ORDER BY level DESC, downstream, upstream
