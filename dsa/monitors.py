"""Monitors: values far outside their own history, flagged without anyone writing a rule.

Every quality run adds a point to each table's and column's history (`queries/monitor_history.sql`:
row count, score, null %, distinct %, min, max, mean, freshness). The detector is robust: the
expectation is the median of the metric's earlier values (the newest `window`), the spread their
median absolute deviation (MAD, scaled by 1.4826 so it matches a standard deviation on normal
data, and never below 0.1% of the median, so a constant history does not flag a tiny move). A value
is flagged when it lies more than `sensitivity` such deviations away, and only once the metric has
`min_history` earlier values. Flags are `anomalies` rows of the run (docs/checks.md, "Monitors").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from dsa import model, queries
from dsa.catalog import USABLE

MAD_SCALE = 1.4826
RELATIVE_FLOOR = 0.001


@dataclass(frozen=True)
class Flag:
    value: float
    expected: float
    score: float  # signed robust z-score
    history: int


def detect(value: float | None, history: list[float], sensitivity: float, min_history: int) -> Flag | None:
    """Is `value` an outlier of `history` (oldest first)?"""
    points = [h for h in history if h is not None and math.isfinite(h)]
    if value is None or not math.isfinite(value) or len(points) < min_history:
        return None
    from statistics import median as med  # here: most runs judge nothing

    median = med(points)
    mad = med([abs(h - median) for h in points])
    spread = max(MAD_SCALE * mad, RELATIVE_FLOOR * abs(median), 1e-9)
    score = (value - median) / spread
    if abs(score) <= sensitivity:
        return None
    return Flag(value, median, score, len(points))


def number(value: float) -> str:
    """1,204 / 3.25 / 0.0012, as a person writes them."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def explain(name: str, metric: str, flag: Flag) -> str:
    """'orders.row_count 1,204 is 6.1 MADs below its 14-run median 20,086'."""
    side = "below" if flag.score < 0 else "above"
    return (f"{name}.{metric} {number(flag.value)} is {abs(flag.score):.1f} MADs {side} "
            f"its {flag.history}-run median {number(flag.expected)}")


def history(store, connection: str, run_id: str, window: int, min_history: int = 0) -> pl.DataFrame:
    """Each metric's values in this run and the `window` usable quality runs before it; nothing
    is read while fewer than `min_history` runs came before (no metric could be judged yet).

    Only those runs' two metric tables are read (not every view of the catalog, whose definition
    alone cost more than the rest of a small table's `dsa quality`)."""
    from dsa import duck

    manifests = [m for m in store.manifests() if m.get("connection") == connection and m.get("run_type") == "quality"]
    current = [m for m in manifests if m["run_id"] == run_id]
    earlier = [m for m in manifests if current and m.get("status") in USABLE and m["started_at"] < current[0]["started_at"]]
    if not current or len(earlier) < min_history:
        return pl.DataFrame(schema={"run_id": pl.Utf8, "started_at": pl.Datetime("us", "UTC"), "qualified_name": pl.Utf8,
                                    "table_qualified_name": pl.Utf8, "column_name": pl.Utf8, "label": pl.Utf8,
                                    "metric": pl.Utf8, "value": pl.Float64})
    runs = current + sorted(earlier, key=lambda m: m["started_at"], reverse=True)[:window]
    con = duck.connect()
    try:
        con.register("sync_runs", _Stream(pl.DataFrame({
            "run_id": [m["run_id"] for m in runs], "connection": [connection] * len(runs),
            "run_type": ["quality"] * len(runs), "status": [m.get("status") for m in runs],
            "started_at": [datetime.fromisoformat(m["started_at"]) for m in runs]})))
        for table in ("table_quality_metrics", "column_quality_metrics"):
            parts = [store.run_table(m["run_id"], table) for m in runs]
            con.register(table, _Stream(pl.concat(parts, how="diagonal_relaxed")))
        return pl.DataFrame(con.sql(queries.text("monitor_history"), params=[connection, run_id, window]))
    finally:
        con.close()


class _Stream:
    """A frame handed to DuckDB as an Arrow stream (the PyCapsule interface), and DuckDB's result
    read back the same way: `.to_arrow()` and `.pl()` import pyarrow, which takes longer than
    the rest of the history."""

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema=None):
        return self.frame.__arrow_c_stream__(requested_schema)


def anomalies(store, connection: str, run_id: str, options) -> list[dict]:
    """The run's flags: one row per table or column metric outside its history."""
    frame = history(store, connection, run_id, options.window, options.min_history)
    rows = []
    now = datetime.now(timezone.utc)
    for (qn, metric), part in frame.group_by(["qualified_name", "metric"], maintain_order=True):
        part = part.sort("started_at")
        current = part.filter(pl.col("run_id") == run_id)
        if current.height != 1:
            continue
        earlier = part.filter(pl.col("run_id") != run_id)["value"].to_list()
        flag = detect(current["value"][0], earlier, options.sensitivity, options.min_history)
        if flag is None:
            continue
        table, column = current["table_qualified_name"][0], current["column_name"][0]
        label = current["label"][0]
        rows.append({"run_id": run_id, "connection": connection, "qualified_name": qn, "table_qualified_name": table,
                     "column_name": column, "metric": metric, "value": flag.value, "expected": flag.expected,
                     "score": flag.score, "history": flag.history, "explanation": explain(label, metric, flag),
                     "detected_at": now})
    return rows


def record(run, store, options) -> int:
    """Write the run's flags into it (a quality run, before it finishes); how many."""
    rows = anomalies(store, run.connection, run.run_id, options)
    if rows:
        run.write("anomalies", model.frame(rows, model.ANOMALIES))
    run.counts["anomaly_count"] = len(rows)
    return len(rows)


def schema_events(diff_run_id: str, connection: str, changes: dict[str, pl.DataFrame]) -> list[dict]:
    """`anomalies` rows of metric `schema`: the tables and columns a diff found added, removed,
    modified, renamed or moved."""
    now = datetime.now(timezone.utc)
    rows = []
    for kind in ("table", "column"):
        frame = changes.get(kind)
        if frame is None:
            continue
        for c in frame.iter_rows(named=True):
            if c["change_type"] in ("unchanged", "unknown"):
                continue
            table = c.get("table_qualified_name") or c["qualified_name"]
            rows.append({"run_id": diff_run_id, "connection": connection, "qualified_name": c["qualified_name"],
                         "table_qualified_name": table, "column_name": c.get("column_name"), "metric": "schema",
                         "explanation": f"{kind} {c['qualified_name']} {c['change_type']}", "detected_at": now})
    return rows
