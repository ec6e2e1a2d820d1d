"""The Altair charts the app draws and the report embeds: one function per chart, a frame in,
a chart out, so a chart in an exported report is the same specification as on the page.

Every function takes a Polars frame with the columns it names and returns an `alt.Chart`
(the pages draw it with `st.altair_chart`, the report with vega-embed from `to_dict()`).
"""

from __future__ import annotations

import altair as alt
import polars as pl

# (seconds in a unit, Vega's interval name, label format when the runs span a few of that unit)
_TIME_UNITS = [(1, "second", "%H:%M:%S"), (60, "minute", "%H:%M"), (3600, "hour", "%b %d %H:%M"),
               (86400, "day", "%b %d"), (30 * 86400, "month", "%b %Y")]
_STEPS = (1, 2, 5, 10, 15, 30)
MAX_TICKS = 6


def time_x(times: pl.Series, title: str, field: str = "started_at", layered: bool = False) -> alt.X:
    """A UTC time axis labelled in the unit the runs' span calls for (seconds apart: 12:04:05,
    days apart: Dec 07), with at most six ticks on whole units: never ".800" for runs seconds
    apart, nor one minute repeated. `layered`: for a chart of several layers, where Vega draws
    nothing if ticks are counted as {interval, step}: a tick on every whole unit (the labels that
    would overlap are left out)."""
    times = times.drop_nulls()
    span = (times.max() - times.min()).total_seconds() if times.len() > 1 else 0
    seconds, interval, label = _TIME_UNITS[0]
    for unit in _TIME_UNITS:
        if span >= 2 * unit[0]:
            seconds, interval, label = unit
    step = next((s for s in _STEPS if span / (seconds * s) <= MAX_TICKS), _STEPS[-1])
    return alt.X(f"{field}:T", title=title, scale=alt.Scale(type="utc"),
                 axis=alt.Axis(format=label, formatType="utc",
                               tickCount=interval if layered else {"interval": interval, "step": step},
                               labelOverlap=True))


def time_tooltip(title: str = "run", field: str = "started_at") -> alt.Tooltip:
    return alt.Tooltip(f"{field}:T", title=title, format="%Y-%m-%d %H:%M:%S UTC", formatType="utc")


ANOMALY_COLOR = "#c62828"


def score_trend(scores: pl.DataFrame, marks: pl.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """A connection's score per quality run: started_at, quality_score, run_id, tables; with
    `marks` (run_id, anomalies, explanation: `dsa.reports.marks`) the runs that flagged anomalies
    carry a red diamond."""
    line = alt.Chart(scores).mark_line(point=True).encode(
        y=alt.Y("quality_score:Q", title="quality score", scale=alt.Scale(zero=False, nice=True)),
        tooltip=[time_tooltip(),
                 alt.Tooltip("quality_score:Q", title="score", format=".1f"),
                 alt.Tooltip("tables:Q", title="tables", format=",")],
    ).properties(height=160)
    return _marked(line, "quality run (UTC)", scores, marks, "quality_score")


def column_history(history: pl.DataFrame, marks: pl.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """A column's score per quality run: started_at, run_id, quality_score, null_percentage; with
    `marks` as in `score_trend`."""
    line = alt.Chart(history).mark_line(point=True).encode(
        y=alt.Y("quality_score:Q", title="column score", scale=alt.Scale(zero=False, nice=True)),
        tooltip=[time_tooltip(),
                 alt.Tooltip("quality_score:Q", title="score", format=".1f"),
                 alt.Tooltip("null_percentage:Q", title="null %", format=".1f")],
    ).properties(height=260, title="score over time")
    return _marked(line, "quality run (UTC)", history, marks, "quality_score")


def _marked(line: alt.Chart, x_title: str, points: pl.DataFrame, marks: pl.DataFrame | None,
            y: str) -> alt.Chart | alt.LayerChart:
    """`line` over the runs' time axis, with a red diamond on each of its points whose run flagged
    anomalies."""
    flagged = points.join(marks, on="run_id", how="inner") if marks is not None and marks.height else None
    if flagged is None or flagged.height == 0:
        return line.encode(x=time_x(points["started_at"], x_title))
    x = time_x(points["started_at"], x_title, layered=True)
    diamond = dict(shape="diamond", size=180, filled=True, opacity=1, color=ANOMALY_COLOR)
    diamonds = alt.Chart(flagged).mark_point(**diamond).encode(
        x=x, y=f"{y}:Q",
        tooltip=[time_tooltip(), alt.Tooltip("anomalies:Q", title="anomalies"),
                 alt.Tooltip("explanation:N", title="strongest")])
    return alt.layer(line.encode(x=x), diamonds)


OUTCOME_COLORS = {"pass": "#2e7d32", "warn": "#f9a825", "fail": ANOMALY_COLOR, "error": "#ef6c00"}


def check_history(history: pl.DataFrame, metric: str) -> alt.Chart:
    """One check's value per run, each point colored by its outcome: started_at, run_id, value,
    value_text, outcome. (Its points are a layer of their own: the time axis counts ticks as
    `time_x(layered=True)`.)"""
    return alt.Chart(history).mark_line(point=alt.OverlayMarkDef(size=60)).encode(
        x=time_x(history["started_at"], "run (UTC)", layered=True), y=alt.Y("value:Q", title=metric),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=list(OUTCOME_COLORS), range=list(OUTCOME_COLORS.values()))),
        tooltip=[time_tooltip(), "value_text", "outcome"]).properties(height=220)


def score_distribution(bins: pl.DataFrame) -> alt.Chart:
    """Columns per score bin of 5 points: bin, columns."""
    return alt.Chart(bins).mark_bar().encode(
        x=alt.X("bin:Q", bin=alt.Bin(step=5), title="column score", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("columns:Q", title="columns"),
        tooltip=[alt.Tooltip("bin:Q", title="score from"), alt.Tooltip("columns:Q", format=",")],
    ).properties(height=260)


def top_values(top: pl.DataFrame, title: str | None = "top values") -> alt.Chart:
    """A column's most frequent values: value (masked ones already replaced), count."""
    return alt.Chart(top.with_columns(pl.col("value").fill_null("NULL"))).mark_bar().encode(
        x=alt.X("count:Q", title="rows"), y=alt.Y("value:N", sort="-x", title=title),
        tooltip=[alt.Tooltip("value:N"), alt.Tooltip("count:Q", title="rows", format=",")],
    ).properties(height=max(160, 24 * top.height))


def histogram(bins: pl.DataFrame) -> alt.Chart:
    """A column's histogram: kind (numeric | month | year), lower, upper, period, count."""
    kind = bins["kind"][0] if bins.height else "numeric"
    if kind == "numeric":
        encoding = dict(x=alt.X("lower:Q", bin="binned", title="value"), x2="upper:Q",
                        y=alt.Y("count:Q", title="rows"),
                        tooltip=[alt.Tooltip("lower:Q", title="from"), alt.Tooltip("upper:Q", title="to"),
                                 alt.Tooltip("count:Q", title="rows", format=",")])
    else:
        encoding = dict(x=alt.X("period:O", title=kind), y=alt.Y("count:Q", title="rows"),
                        tooltip=[alt.Tooltip("period:O"), alt.Tooltip("count:Q", title="rows", format=",")])
    return alt.Chart(bins).mark_bar().encode(**encoding).properties(height=220, title="histogram")


def null_moves(moved: pl.DataFrame) -> alt.Chart:
    """Columns whose null % moved: column, null_pct_change (points), old_null_pct, new_null_pct."""
    return alt.Chart(moved).mark_bar().encode(
        x=alt.X("null_pct_change:Q", title="change in null % (points)"), y=alt.Y("column:N", sort="-x"),
        color=alt.condition("datum.null_pct_change > 0", alt.value("#c0392b"), alt.value("#27ae60")),
        tooltip=["column", "old_null_pct", "new_null_pct"]).properties(title="Largest null % moves")


def row_changes(rows: pl.DataFrame) -> alt.Chart:
    """Tables whose row count changed: table_name, row_change, old_rows, new_rows."""
    return alt.Chart(rows).mark_bar().encode(
        x=alt.X("row_change:Q", title="row count change"), y=alt.Y("table_name:N", sort="-x"),
        tooltip=["table_name", "old_rows", "new_rows"]).properties(title="Row count changes")


def drift_null_moves(drift: pl.DataFrame) -> alt.Chart | None:
    """`null_moves` of a diff's data drift (dsa.diff.DiffResult.drift): its 30 largest null % moves."""
    nulls = drift.filter(pl.col("metric") == "null_percentage").head(30)
    if nulls.height == 0:
        return None
    return null_moves(nulls.select(
        pl.col("qualified_name").alias("column"), pl.col("change").alias("null_pct_change"),
        pl.col("from_value").alias("old_null_pct"), pl.col("to_value").alias("new_null_pct")))


def drift_row_changes(drift: pl.DataFrame) -> alt.Chart | None:
    """`row_changes` of a diff's data drift: its 50 largest row count changes."""
    rows = drift.filter(pl.col("metric") == "row_count").head(50)
    if rows.height == 0:
        return None
    return row_changes(rows.select(
        pl.col("qualified_name").alias("table_name"), pl.col("change").alias("row_change"),
        pl.col("from_value").alias("old_rows"), pl.col("to_value").alias("new_rows")))
