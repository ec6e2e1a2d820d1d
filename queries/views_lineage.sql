-- Views of the lineage feature (dsa/lineage.py): the edges of each connection's newest
-- successful scan.
CREATE OR REPLACE VIEW latest_lineage_edges AS
SELECT e.* FROM lineage_edges e JOIN latest_scan_runs l USING (run_id);
