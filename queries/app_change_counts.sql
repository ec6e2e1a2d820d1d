-- How many objects of each type a stored diff run ($1) found added, removed, renamed, modified,
-- moved or unknown (diff_summary), one row per entity and change type.
SELECT entity_type, change_type, n
FROM (UNPIVOT (SELECT entity_type, added, removed, renamed, modified, moved, unknown
               FROM diff_summary WHERE run_id = $1)
      ON COLUMNS(* EXCLUDE entity_type) INTO NAME change_type VALUE n)
