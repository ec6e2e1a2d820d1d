"""Reading lineage back: finding a node by the name a person types, walking the graph, and the
impact of a diff's changes on the views downstream of them.

The edges are a scan run's `lineage_edges` (written by `dsa.lineage`). A walk follows edges
whose upstream is the node reached: from a table through table-level edges to the views that
read it, from a column through column-level edges to the view columns it feeds and to the views
it filters or joins. `impact` is the one answer to "what does this change break?": `dsa diff`
(JSON and text) and the app's Changes page both call it.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from dsa import queries
from dsa.errors import ConfigError, NotFound
from dsa.names import qualified_name, split_name

if TYPE_CHECKING:
    from dsa.catalog import Catalog

DIRECTIONS = ("upstream", "downstream", "both")
MAX_DEPTH = 50
# changes that leave a reader of the object with nothing to read
BREAKING = ("removed", "renamed")


@dataclass(frozen=True)
class Node:
    connection: str
    run_id: str  # the newest successful scan of the connection
    qualified_name: str
    level: str  # table | column


def resolve(catalog: Catalog, name: str) -> Node:
    """The table or column `name` means, in each connection's newest scan: a full qualified
    name, or its end (`schema.table`, `table`, `table.column` ...) when only one object has it.
    Raises `NotFound`, or `ConfigError` listing the candidates when several have it."""
    try:
        wanted = split_name(name.strip())
    except ValueError as exc:
        raise ConfigError(f"lineage: {exc}") from None
    names = catalog.sql(queries.text("app_lineage_names"))
    found: list[Node] = []
    for folded in (False, True):
        want = [p.lower() for p in wanted] if folded else wanted
        for level, connection, run_id, qn in names.select("level", "connection", "run_id", "qualified_name").iter_rows():
            parts = split_name(qn)
            if len(want) > len(parts):
                continue
            tail = parts[len(parts) - len(want):]
            if (tail if not folded else [p.lower() for p in tail]) == want:
                found.append(Node(connection, run_id, qn, level))
        if found:
            break
    if not found:
        raise NotFound(f"lineage: no table or column named {name!r} in the newest scans")
    if len(found) > 1:
        shown = ", ".join(n.qualified_name for n in found[:10]) + (" ..." if len(found) > 10 else "")
        raise ConfigError(f"lineage: {name!r} is ambiguous ({len(found)} matches: {shown}); give more of its name")
    return found[0]


def edges(catalog: Catalog, run_id: str) -> pl.DataFrame:
    """A scan run's lineage edges: level, upstream, downstream, kind, method."""
    return catalog.sql(queries.text("app_lineage"), [run_id])


def walk(edge_frame: pl.DataFrame, start: str, direction: str = "both", depth: int = MAX_DEPTH) -> pl.DataFrame:
    """The edges reachable from `start` within `depth` steps, each with the step it was reached
    at (`depth`) and the way it was walked (`direction`: upstream | downstream)."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"lineage: direction must be one of {', '.join(DIRECTIONS)} (got {direction!r})")
    rows: list[dict[str, Any]] = []
    ways = ("upstream", "downstream") if direction == "both" else (direction,)
    for way in ways:
        near, far = ("downstream", "upstream") if way == "upstream" else ("upstream", "downstream")
        by_node: dict[str, list[dict[str, Any]]] = {}
        for edge in edge_frame.iter_rows(named=True):
            by_node.setdefault(edge[near], []).append(edge)
        seen, queue = {start}, deque([(start, 0)])
        while queue:
            node, at = queue.popleft()
            if at >= depth:
                continue
            for edge in by_node.get(node, []):
                rows.append({**edge, "depth": at + 1, "direction": way})
                if edge[far] not in seen:
                    seen.add(edge[far])
                    queue.append((edge[far], at + 1))
    schema = {**{c: pl.Utf8 for c in ("level", "upstream", "downstream", "kind", "method")},
              "depth": pl.Int64, "direction": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


# -- impact of a diff ------------------------------------------------------------------------


def impact(edge_frame: pl.DataFrame, tables: pl.DataFrame, columns: pl.DataFrame) -> list[dict[str, Any]]:
    """What each removed, renamed or retyped table and column of a diff reaches downstream in
    the older scan's lineage (`edge_frame`); `breaking` when something reads what is gone.
    `tables`/`columns`: the diff's changed rows (qualified_name, previous_name, change_type,
    changes). Views and columns the diff also removed are not counted as broken."""
    gone = set(tables.filter(pl.col("change_type") == "removed")["qualified_name"].to_list()) | set(
        columns.filter(pl.col("change_type") == "removed")["qualified_name"].to_list())
    out = []
    for entity, frame in (("table", tables), ("column", columns)):
        for row in frame.iter_rows(named=True):
            change = row["change_type"]
            changes = json.loads(row["changes"]) if isinstance(row.get("changes"), str) else (row.get("changes") or [])
            retyped = change == "modified" and any(c.get("attribute") == "data_type" for c in changes)
            if change not in BREAKING and not retyped:
                continue
            old = row.get("previous_name") or row["qualified_name"]
            reached = walk(edge_frame, old, "downstream")
            downstream = []
            for node in reached.group_by("downstream", maintain_order=True).agg(
                    pl.col("level").first(), pl.col("kind").first(), pl.col("depth").min()).iter_rows(named=True):
                if node["downstream"] in gone or _view_of(node["downstream"], node["level"]) in gone:
                    continue
                downstream.append({"qualified_name": node["downstream"], "level": node["level"],
                                   "kind": node["kind"], "depth": node["depth"]})
            out.append({"entity_type": entity, "qualified_name": row["qualified_name"], "previous_name": old,
                        "change_type": "retyped" if retyped else change,
                        "breaking": change in BREAKING and bool(downstream), "downstream": downstream})
    return out


def _view_of(name: str, level: str) -> str:
    """The view a downstream node belongs to (a column edge's downstream may be a view column)."""
    parts = split_name(name)
    return qualified_name(*parts[:-1]) if level == "column" and len(parts) > 3 else name


def diff_impact(catalog: Catalog, diff_run_id: str) -> list[dict[str, Any]]:
    """`impact` of a stored diff run (the app's Changes page), from the catalog."""
    changed = catalog.sql(queries.text("app_impact_changes"), [diff_run_id])
    if not changed.height:
        return []
    return impact_of_changes(changed, edges(catalog, changed["from_run_id"][0]))


def impact_of_changes(changed: pl.DataFrame, edge_frame: pl.DataFrame) -> list[dict[str, Any]]:
    """`impact` of `queries/app_impact_changes.sql`'s rows (tables and columns in one frame)."""
    kind = pl.col("entity_type")
    return impact(edge_frame, changed.filter(kind == "table"), changed.filter(kind == "column"))
