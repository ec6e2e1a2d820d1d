-- One row per Parquet file of a dataset, from the footers alone (no data is read): exact row
-- counts, row groups, codecs, sizes, and a signature of the column layout so the connector can
-- tell whether all files share one schema. $1 is the list of the dataset's files.
SELECT file_name,
       coalesce(sum(row_group_num_rows) FILTER (WHERE column_id = 0), 0) AS num_rows,
       count(DISTINCT row_group_id) AS row_groups,
       list(DISTINCT compression ORDER BY compression) AS compression,
       sum(total_compressed_size) AS compressed_bytes,
       sum(total_uncompressed_size) AS uncompressed_bytes,
       string_agg(path_in_schema || ' ' || type, ', ' ORDER BY column_id) FILTER (WHERE row_group_id = 0) AS layout
FROM parquet_metadata($1)
GROUP BY file_name
