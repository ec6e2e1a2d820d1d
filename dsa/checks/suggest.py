"""`dsa checks suggest SOURCE`: a starting set of checks from the source's latest profile.

Suggested: a non-empty table; no missing values where none were seen; no duplicates in keys
(primary, unique, or every value distinct); accepted values for low-cardinality text (never for
masked columns); the observed range of numbers. The result is YAML for a person to review.
"""

from __future__ import annotations

import math

import yaml

from dsa.catalog import Catalog, latest_run
from dsa.errors import NotFound

MAX_ACCEPTED = 12  # at most this many distinct values make an accepted-values check


def _bound(value: str | None, down: bool) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    rounded = math.floor(number) if down else math.ceil(number)
    return int(rounded)


def suggestions(store: Catalog, source: str) -> list[dict]:
    """`checks:` entries (one per table) for `source` from its newest successful quality run."""
    try:
        run_id = latest_run(store, "quality", source)
    except NotFound:
        raise NotFound(f"no successful quality run of '{source}' in the catalog at {store.path}: "
                       f"run `dsa quality {source}` first") from None
    con = store.connect()
    try:
        tables = con.execute("SELECT table_qualified_name, schema_name, table_name, row_count FROM table_quality_metrics "
                             "WHERE run_id = ? AND status = 'profiled' ORDER BY schema_name, table_name", [run_id]).fetchall()
        columns = con.execute(
            "SELECT m.table_qualified_name, m.column_name, m.type_family, m.total_count, m.null_count, m.distinct_count, "
            "m.approximate, m.masked, m.min_value, m.max_value, m.unique_expected, c.is_primary_key, c.is_unique "
            "FROM column_quality_metrics m LEFT JOIN normalized_columns c "
            "ON c.run_id = json_extract_string((SELECT details FROM sync_runs WHERE run_id = m.run_id), '$.scan_run_id') "
            "AND c.qualified_name = m.qualified_name "
            "WHERE m.run_id = ? ORDER BY m.table_qualified_name, m.ordinal_position", [run_id]).fetchall()
        tops = con.execute("SELECT column_qualified_name, table_qualified_name, column_name, value FROM column_top_values "
                           "WHERE run_id = ? AND NOT coalesce(masked, false) ORDER BY rank", [run_id]).fetchall()
    finally:
        con.close()
    values: dict[tuple[str, str], list[str]] = {}
    for _, tq, col, value in tops:
        values.setdefault((tq, col), []).append(value)
    out = []
    for tq, schema, table, rows in tables:
        checks: list[str] = ["row_count > 0"]
        for (ctq, col, family, total, nulls, distinct, approx, masked, lo, hi, unique_expected, pk, uq) in columns:
            if ctq != tq or not total:
                continue
            ident = col if col.isidentifier() else '"' + col.replace('"', '""') + '"'
            if nulls == 0:
                checks.append(f"missing_count({ident}) = 0")
            if pk or uq or unique_expected or (not approx and distinct == total - (nulls or 0) and total > 1 and family != "boolean"):
                checks.append(f"duplicate_count({ident}) = 0")
            seen = values.get((tq, col), [])
            if family == "string" and not masked and distinct and distinct <= MAX_ACCEPTED and len(seen) == distinct \
                    and distinct < total and None not in seen:
                listed = ", ".join("'" + v.replace("'", "''") + "'" for v in seen)
                checks.append(f"values({ident}) in [{listed}]")
            if family in ("integer", "decimal", "float") and not masked:
                low, high = _bound(lo, True), _bound(hi, False)
                if low is not None and high is not None:
                    checks.append(f"min({ident}) >= {low}")
                    checks.append(f"max({ident}) <= {high}")
        out.append({"source": source, "table": f"{schema}.{table}" if schema else table, "checks": checks})
    return out


def suggest_yaml(store: Catalog, source: str) -> str:
    head = f"# Suggested from the latest profile of '{source}': review, then paste under checks: in dsa.yaml\n"
    return head + yaml.safe_dump({"checks": suggestions(store, source)}, sort_keys=False, allow_unicode=True, width=200)
