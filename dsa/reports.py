"""The app's reports: one named function per question a page asks, each a query in
`queries/app_*.sql` over a read-only DuckDB catalog connection, returning a Polars frame.

Pages call these through `dsa.ui.report(function, *args)`, which caches the frame on the run
list (a new or finished run refreshes it). Nothing here imports Streamlit, so the CLI, tests and
scripts can ask the same questions.

A run's frames that a page picks from again and again (a quality run's column profiles, a scan's
tables and columns) are read once per run (`dsa.ui.frame`) and picked from in Polars by the
functions below them, which take the frame: a filter or a table picked costs milliseconds, not a
query over every run's files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from dsa import queries


@dataclass(frozen=True)
class ColumnFilter:
    """Which profiled columns of a quality run the Quality page shows: a schema and a table
    (None: all), type families (empty: all) and a score range (a column without a score counts
    as 100)."""

    schema: str | None = None
    table: str | None = None
    families: tuple[str, ...] = ()
    low: int = 0
    high: int = 100

    def apply(self, columns: pl.DataFrame) -> pl.DataFrame:
        """The rows of `quality_columns` that pass."""
        keep = pl.col("quality_score").fill_null(100).is_between(self.low, self.high)
        if self.schema is not None:
            keep &= pl.col("schema_name") == self.schema
        if self.table is not None:
            keep &= pl.col("table_name") == self.table
        if self.families:
            keep &= pl.col("type_family").is_in(list(self.families))
        return columns.filter(keep)


def _read(con: duckdb.DuckDBPyConnection, name: str, *params) -> pl.DataFrame:
    return con.sql(queries.text(name), params=list(params)).pl()


# -- runs ----------------------------------------------------------------------------------


def connections(con) -> pl.DataFrame:
    return _read(con, "app_connections")


def scan_runs(con) -> pl.DataFrame:
    """Successful and partial scans of every connection, newest first per connection."""
    return _read(con, "app_scan_runs")


def quality_runs(con, connection: str) -> pl.DataFrame:
    return _read(con, "app_quality_run", connection)


def run_history(con) -> pl.DataFrame:
    return _read(con, "app_run_history")


def run_errors(con, run_id: str) -> pl.DataFrame:
    return _read(con, "app_run_errors", run_id)


# -- overview ------------------------------------------------------------------------------


def overview(con) -> pl.DataFrame:
    """Each connection's newest scan and quality run, with the newest scan's counts."""
    return _read(con, "app_overview")


def score_trend(con) -> pl.DataFrame:
    """Each connection's quality score per quality run (the one definition: docs/quality.md)."""
    return _read(con, "app_score_trend")


def attention(con) -> pl.DataFrame:
    """What needs attention on each connection, most pressing first: failed and erroring checks,
    anomalies, tables whose score dropped, schema changes (connection, kind, severity, what,
    detail, run_id)."""
    return _read(con, "app_attention")


def anomalies(con, connection: str) -> pl.DataFrame:
    """A connection's anomalies with the run that flagged them, newest first."""
    return _read(con, "app_anomalies", connection)


def marks(flagged: pl.DataFrame) -> pl.DataFrame:
    """Anomalies as marks on a time chart: one row per run that flagged any (run_id, anomalies,
    explanation: the strongest one's)."""
    return flagged.group_by("run_id", maintain_order=True).agg(
        pl.len().alias("anomalies"), pl.col("explanation").first().alias("explanation"))


# -- explore -------------------------------------------------------------------------------


def tables(con, scan_run: str, quality_run: str | None) -> pl.DataFrame:
    """The tables of a scan with row counts, scores, column counts and their last change."""
    return _read(con, "app_tables", scan_run, quality_run)


def scan_tables(con, scan_run: str) -> pl.DataFrame:
    """Every table of a scan run, as stored (a per-run frame: `table` picks one)."""
    return _read(con, "app_scan_tables", scan_run)


def scan_columns(con, scan_run: str) -> pl.DataFrame:
    """The columns of a scan run as Explore shows them, by table and position (a per-run frame:
    `table_columns` and `referenced_by` pick from it)."""
    return _read(con, "app_scan_columns", scan_run)


def table(tables_: pl.DataFrame, schema: str | None, name: str) -> pl.DataFrame:
    """One table of `scan_tables` by schema (None: a source without schemas) and name."""
    return tables_.filter(pl.col("schema_name").eq_missing(schema) & (pl.col("table_name") == name))


def table_columns(columns: pl.DataFrame, table_qualified_name: str) -> pl.DataFrame:
    """The columns of one table of `scan_columns`, in their order."""
    return columns.filter(pl.col("table_qualified_name") == table_qualified_name)


def referenced_by(columns: pl.DataFrame, table_qualified_name: str) -> pl.DataFrame:
    """The tables of `scan_columns` with a foreign key to the table: schema_name, table_name."""
    return (columns.filter(pl.col("foreign_key").str.starts_with(table_qualified_name + "."))
            .select("schema_name", "table_name").unique().sort(pl.all(), nulls_last=False))


def quality_tables(con, quality_run: str) -> pl.DataFrame:
    """Every table's metrics in a quality run, with the schema and table name of the connection's
    newest scan (a per-run frame: `table_metrics` and `quality_score` pick from it)."""
    return _read(con, "app_quality_tables", quality_run)


def table_metrics(tables_: pl.DataFrame, table_qualified_name: str) -> pl.DataFrame:
    """One table's row of `quality_tables`."""
    return tables_.filter(pl.col("table_qualified_name") == table_qualified_name)


def column_profile(con, quality_run: str, table_qualified_name: str, column: str) -> pl.DataFrame:
    """One column's whole profile in a quality run."""
    return _read(con, "app_column_profile", quality_run, table_qualified_name, column)


def quality_column(columns: pl.DataFrame, table_qualified_name: str, column: str) -> dict | None:
    """One column's row of `quality_columns` (what the Quality page shows of it), or None."""
    found = columns.filter((pl.col("table_qualified_name") == table_qualified_name) & (pl.col("column_name") == column))
    return found.row(0, named=True) if found.height else None


# The column profile as a person reads it: label and how to write each stored metric; what is
# not listed (run and entity ids, names, JSON internals) is not shown.
PROFILE_METRICS = {
    "total_count": ("rows profiled", "{:,}"), "null_count": ("nulls", "{:,}"), "null_percentage": ("null %", "{:.1f}"),
    "distinct_count": ("distinct values", "{:,}"), "distinct_percentage": ("distinct %", "{:.1f}"),
    "approximate": ("distinct count approximate", "{}"), "min_value": ("minimum", "{}"), "max_value": ("maximum", "{}"),
    "mean": ("mean", "{:,.4g}"), "stddev": ("standard deviation", "{:,.4g}"), "q1_value": ("first quartile", "{}"),
    "median_value": ("median", "{}"), "q3_value": ("third quartile", "{}"), "zero_count": ("zeros", "{:,}"),
    "negative_count": ("negative values", "{:,}"), "nan_count": ("NaN values", "{:,}"),
    "infinite_count": ("infinite values", "{:,}"), "min_length": ("shortest (characters)", "{:,}"),
    "avg_length": ("mean length (characters)", "{:,.1f}"), "max_length": ("longest (characters)", "{:,}"),
    "empty_count": ("empty strings", "{:,}"), "whitespace_count": ("blank strings", "{:,}"),
    "numeric_text_count": ("numbers stored as text", "{:,}"), "future_count": ("dates in the future", "{:,}"),
    "invalid_count": ("invalid values", "{:,}"), "true_count": ("true", "{:,}"), "false_count": ("false", "{:,}"),
    "orphan_count": ("values without a referenced row", "{:,}"), "unique_expected": ("values should be unique", "{}"),
    "masked": ("values masked", "{}"), "quality_score": ("score", "{:.1f}"),
    "completeness_score": ("completeness score", "{:.1f}"), "uniqueness_score": ("uniqueness score", "{:.1f}"),
    "validity_score": ("validity score", "{:.1f}"), "referential_score": ("referential score", "{:.1f}"),
    "score_explanation": ("why the score", "{}"),
}


def profile_rows(profile: dict) -> pl.DataFrame:
    """A column profile as (metric, value) rows with readable labels and formatted numbers;
    metrics the profiler did not measure for this column are left out."""
    rows = []
    for name in ("q1", "median", "q3"):  # runs from before the exact quartiles: the doubles
        if profile.get(f"{name}_value") is None and profile.get(name) is not None:
            profile = {**profile, f"{name}_value": f"{profile[name]:,.4g}"}
    for key, (label, form) in PROFILE_METRICS.items():
        value = profile.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        rows.append({"metric": label, "value": form.format(value)})
    return pl.DataFrame(rows, schema={"metric": pl.Utf8, "value": pl.Utf8})


def search(con, term: str) -> pl.DataFrame:
    """Tables and columns of every connection's newest scan whose name or comment holds `term`."""
    return _read(con, "app_search", term)


# -- quality -------------------------------------------------------------------------------


def quality_filters(con, connection: str) -> pl.DataFrame:
    return _read(con, "app_quality_filters", connection)


def quality_columns(con, quality_run: str) -> pl.DataFrame:
    """Every column profile of a quality run, as far as the Quality page shows it, with its schema,
    table, type and type family from the connection's newest scan, worst first (a per-run frame:
    `ColumnFilter.apply` keeps the order, and the functions below pick from it)."""
    return _read(con, "app_quality_columns", quality_run)


def quality_score(tables_: pl.DataFrame, schema: str | None, table_name: str | None) -> float | None:
    """The quality score of a run (or of one schema or table in it), from `quality_tables`: the
    mean of the table scores (as connection_quality_scores for the whole run)."""
    if schema is not None:
        tables_ = tables_.filter(pl.col("schema_name") == schema)
    if table_name is not None:
        tables_ = tables_.filter(pl.col("table_name") == table_name)
    return tables_["quality_score"].mean()


def table_findings(tables_: pl.DataFrame, schema: str | None, table_name: str | None) -> list[str]:
    """What reading the tables found wrong with their data (`findings`: malformed CSV rows), one
    line each naming the table and the CSV dialect it was read with, from `quality_tables`."""
    if "findings" not in tables_.columns:  # runs from before findings were recorded
        return []
    if schema is not None:
        tables_ = tables_.filter(pl.col("schema_name") == schema)
    if table_name is not None:
        tables_ = tables_.filter(pl.col("table_name") == table_name)
    lines = []
    for row in tables_.filter(pl.col("findings").is_not_null()).sort("schema_name", "table_name").iter_rows(named=True):
        for f in json.loads(row["findings"]):
            dialect = ", ".join(f"{k} {v!r}" for k, v in (f.get("csv") or {}).items() if k != "given")
            lines.append(f"{row['table_name']}: {f['message']}" + (f"; read as CSV with {dialect}" if dialect else ""))
    return lines


def quality_totals(columns: pl.DataFrame) -> dict:
    """Column count and mean null % of filtered column profiles: columns, nulls."""
    return {"columns": columns.height, "nulls": columns["null_percentage"].mean()}


def score_distribution(columns: pl.DataFrame) -> pl.DataFrame:
    """How many filtered columns fall in each 5-point score bin (the last bin holds 95-100): bin, columns."""
    return (columns.filter(pl.col("quality_score").is_not_null())
            .group_by(bin=pl.min_horizontal((pl.col("quality_score") / 5).floor() * 5, pl.lit(95.0)))
            .agg(columns=pl.len()).sort("bin"))


def null_distinct_points(columns: pl.DataFrame) -> pl.DataFrame:
    """Null % against distinct % of each filtered column."""
    return columns.select("table_name", "column_name", "null_percentage", "distinct_percentage", "quality_score")


def null_distinct_cells(columns: pl.DataFrame) -> pl.DataFrame:
    """Null % against distinct % for many columns: one row per 5 x 5 point cell (at most 441),
    with its column count and mean score."""
    return (columns.group_by(null_percentage=(pl.col("null_percentage") / 5).round() * 5,
                             distinct_percentage=(pl.col("distinct_percentage") / 5).round() * 5)
            .agg(columns=pl.len(), quality_score=pl.col("quality_score").mean()))


def worst_columns(columns: pl.DataFrame, limit: int = 25) -> pl.DataFrame:
    """The lowest-scoring filtered columns and why: the profiler's own explanation when it gave
    one, else what the metrics show. `quality_columns` comes worst first: no sort here."""
    worst = columns.head(limit)
    shown = pl.concat_str([
        pl.when(pl.col("null_count") > 0).then(pl.format("{}% null", pl.col("null_percentage").round(1))),
        pl.when((pl.col("total_count") > 0) & (pl.col("distinct_count") == 1)).then(pl.lit("a single value")),
        pl.when((pl.col("total_count") > 0) & (pl.col("null_count") == pl.col("total_count"))).then(pl.lit("all values missing")),
        pl.when(pl.col("total_count") == 0).then(pl.lit("empty table")),
    ], separator="; ", ignore_nulls=True)
    why = pl.coalesce(pl.col("score_explanation").replace("", None), shown.replace("", None), pl.lit("no points lost"))
    return worst.select("schema_name", "table_name", "column_name", "data_type", "quality_score", "null_percentage",
                        "distinct_percentage", why.alias("why"))


def column_choices(columns: pl.DataFrame, limit: int = 1000) -> pl.DataFrame:
    """The filtered columns offered for a closer look, worst first (as `quality_columns` comes):
    label, qualified_name, table_qualified_name, column_name."""
    label = pl.concat_str(["schema_name", "table_name", "column_name"], separator=".", ignore_nulls=True)
    return columns.head(limit).select(label.alias("label"), "qualified_name", "table_qualified_name", "column_name")


def top_values(con, quality_run: str, column_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_top_values", quality_run, column_qualified_name)


def histogram(con, quality_run: str, column_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_histogram", quality_run, column_qualified_name)


def skipped_metrics(profile: dict | None) -> pl.DataFrame:
    """The metrics a quality run skipped on a column (its `column_profile` row), one row each:
    metric, reason (the engine's)."""
    text = (profile or {}).get("skipped_metrics")
    pairs = list(json.loads(text).items()) if text else []
    return pl.DataFrame(pairs, schema={"metric": pl.Utf8, "reason": pl.Utf8}, orient="row")


def column_history(con, column_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_column_history", column_qualified_name)


# -- changes (what `dsa diff` stored) --------------------------------------------------------


def stored_diff(con, from_run: str, to_run: str) -> str | None:
    """The newest stored diff run of exactly these two scan runs, if any."""
    found = _read(con, "app_stored_diff_run", from_run, to_run)
    return found["run_id"][0] if found.height else None


def change_counts(con, diff_run: str) -> pl.DataFrame:
    """entity_type, change_type, n of a stored diff run (its diff_summary)."""
    return _read(con, "app_change_counts", diff_run)


def changes(con, diff_run: str) -> pl.DataFrame:
    """One row per changed attribute of a stored diff run: entity_type, object, change_type,
    attribute, from, to, previous_name."""
    return _read(con, "app_stored_diff", diff_run)


def data_drift(con, diff_run: str) -> pl.DataFrame:
    return _read(con, "app_data_drift", diff_run)


# -- checks (docs/checks.md) --------------------------------------------------------------------

def check_results(con, connection: str) -> pl.DataFrame:
    return _read(con, "app_check_results", connection)


def check_history(con, connection: str, table_qualified_name: str, name: str) -> pl.DataFrame:
    return _read(con, "app_check_history", connection, table_qualified_name, name)
