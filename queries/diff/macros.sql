-- Helpers of the diff queries. They are TEMP: they live only on the diff's own connection.
-- Session variables set by dsa/diff.py before these files run:
--   diff_from_run, diff_to_run          the two scan runs (from = older side, to = newer side)
--   diff_from_prefix, diff_to_prefix    each run's quoted connection name plus '.', stripped from
--                                       qualified names so runs of two connections compare by the
--                                       names below the connection
--   diff_renames                        detect renames (config diff.renames, --renames/--no-renames)
--   diff_run_id, diff_connection        the diff run being written

-- A qualified-name part, quoted exactly as dsa.names.quote_part does.
CREATE OR REPLACE TEMP MACRO diff_quote(part) AS
    CASE WHEN regexp_full_match(part, '[A-Za-z_][A-Za-z0-9_]*') THEN part
         ELSE '"' || replace(part, '"', '""') || '"' END;

-- The comparable form of a type text: `numeric(12, 2)` and `NUMERIC(12,2)` are one type,
-- `numeric(10,2)` and `numeric(12,2)` are two. (Dropping every space is safe: no two type
-- names differ only by spaces, and it is much cheaper than a regular expression.)
CREATE OR REPLACE TEMP MACRO diff_type_key(t) AS
    upper(replace(replace(replace(t, ' ', ''), chr(9), ''), chr(10), ''));

-- A qualified name with its connection part removed (names below the connection).
CREATE OR REPLACE TEMP MACRO diff_local(name, prefix) AS
    CASE WHEN starts_with(name, prefix) THEN substr(name, length(prefix) + 1) ELSE name END;

-- Was this object out of sight in that side's run? diff_errors holds the run's unreadable
-- objects (NULL parts = everything below), and one all-NULL row when the run failed as a whole.
CREATE OR REPLACE TEMP MACRO diff_unobserved(run_side, sch, tab, col) AS EXISTS (
    SELECT 1 FROM diff_errors e
    WHERE e.side = run_side
      AND (e.schema_name IS NULL OR e.schema_name = sch)
      AND (e.table_name IS NULL OR e.table_name = tab)
      AND (e.column_name IS NULL OR e.column_name = col));

-- One {attribute, from, to} entry; `differs` decides whether it is kept.
CREATE OR REPLACE TEMP MACRO diff_change(attribute, a, b, differs) AS
    {'attribute': attribute, 'from': to_json(a), 'to': to_json(b), 'differs': differs};

-- The kept entries of a list built with diff_change, without the `differs` flag.
CREATE OR REPLACE TEMP MACRO diff_changed(candidates) AS
    list_transform(list_filter(candidates, lambda x: x.differs),
                   lambda x: {'attribute': x.attribute, 'from': x.from, 'to': x.to});

-- An {attribute, from, to} entry that is always kept (renames, moves).
CREATE OR REPLACE TEMP MACRO diff_entry(attribute, a, b) AS
    {'attribute': attribute, 'from': to_json(a), 'to': to_json(b)};

-- A min/max value as a number: numbers as they are, dates and timestamps as epoch seconds.
CREATE OR REPLACE TEMP MACRO diff_number(v) AS
    coalesce(TRY_CAST(v AS DOUBLE), epoch(TRY_CAST(v AS TIMESTAMP)));
