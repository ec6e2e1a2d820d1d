"""The Altair charts the app draws and the report embeds: one function per chart, a frame in,
a chart out, so a chart in an exported report is the same specification as on the page.

Every function takes a Polars frame with the columns it names and returns an `alt.Chart`
(the pages draw it with `st.altair_chart`, the report with vega-embed from `to_dict()`).
"""

from __future__ import annotations

import altair as alt
import polars as pl

RUN_AXIS = alt.Axis(format="%Y-%m-%d %H:%M")


def score_trend(scores: pl.DataFrame) -> alt.Chart:
    """A connection's score per quality run: started_at, quality_score, run_id, tables."""
    return alt.Chart(scores).mark_line(point=True).encode(
        x=alt.X("started_at:T", title="quality run", axis=RUN_AXIS),
        y=alt.Y("quality_score:Q", title="score", scale=alt.Scale(domain=[0, 100])),
        tooltip=["run_id", alt.Tooltip("quality_score:Q", format=".1f"), "tables"],
    ).properties(height=160)


def score_distribution(bins: pl.DataFrame) -> alt.Chart:
    """Columns per score bin of 5 points: bin, columns."""
    return alt.Chart(bins).mark_bar().encode(
        x=alt.X("bin:Q", bin=alt.Bin(step=5), scale=alt.Scale(domain=[0, 100]), title="quality score"),
        y=alt.Y("columns:Q"), tooltip=["bin", "columns"]).properties(height=260)


def top_values(top: pl.DataFrame, title: str | None = None) -> alt.Chart:
    """A column's most frequent values: value (masked ones already replaced), count, rank."""
    return alt.Chart(top.with_columns(pl.col("value").fill_null("NULL"))).mark_bar().encode(
        x=alt.X("count:Q"), y=alt.Y("value:N", sort="-x", title=title), tooltip=["value", "count", "rank"],
    ).properties(height=max(160, 24 * top.height))


def histogram(bins: pl.DataFrame) -> alt.Chart:
    """A column's histogram: kind (numeric | month | year), lower, upper, period, count."""
    kind = bins["kind"][0] if bins.height else "numeric"
    if kind == "numeric":
        encoding = dict(x=alt.X("lower:Q", bin="binned", title="value"), x2="upper:Q", y=alt.Y("count:Q"),
                        tooltip=["lower", "upper", "count"])
    else:
        encoding = dict(x=alt.X("period:O", title=kind), y=alt.Y("count:Q"), tooltip=["period", "count"])
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
