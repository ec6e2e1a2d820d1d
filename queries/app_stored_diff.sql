-- The changes a stored diff run ($1, `dsa diff`) found, one row per changed attribute
-- (objects without attribute changes get one row with NULL attribute), unchanged left out.
-- Values are text; lists (an index's columns, a table's changed parts) are comma-separated.
WITH c AS (
    SELECT entity_type, qualified_name, previous_name, change_type,
           from_json(coalesce(changes, '[]'), '[{"attribute": "VARCHAR", "from": "JSON", "to": "JSON"}]') AS items
    FROM diff_changes
    WHERE run_id = $1
)
SELECT * FROM (
SELECT entity_type, qualified_name AS object, change_type, NULL::VARCHAR AS attribute,
       NULL::VARCHAR AS "from", NULL::VARCHAR AS "to", previous_name
FROM c WHERE len(items) = 0
UNION ALL
SELECT entity_type, qualified_name, change_type, item.attribute,
       CASE WHEN json_type(item."from") = 'ARRAY' THEN array_to_string(from_json(item."from", '["VARCHAR"]'), ', ')
            ELSE coalesce(json_extract_string(item."from", '$'), item."from"::VARCHAR) END,
       CASE WHEN json_type(item."to") = 'ARRAY' THEN array_to_string(from_json(item."to", '["VARCHAR"]'), ', ')
            ELSE coalesce(json_extract_string(item."to", '$'), item."to"::VARCHAR) END, previous_name
FROM (SELECT *, unnest(items) AS item FROM c)
)
ORDER BY CASE entity_type WHEN 'schema' THEN 0 WHEN 'table' THEN 1 WHEN 'column' THEN 2 ELSE 3 END,
         object, attribute
LIMIT 20000
