"""The app's reports: one named function per question a page asks, each a query in
`queries/app_*.sql` over a read-only DuckDB catalog connection, returning a Polars frame.

Pages call these through `dsa.ui.report(function, *args)`, which caches the frame on the run
list (a new or finished run refreshes it). Nothing here imports Streamlit, so the CLI, tests and
scripts can ask the same questions.

The Quality page's filtered column profiles (`app_quality_columns.sql`) are the common input of
several of its reports: their queries, in `queries/app_quality/`, read them as `quality_columns`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import polars as pl

from dsa import queries


@dataclass(frozen=True)
class ColumnFilter:
    """Which profiled columns of a quality run the Quality page shows."""

    run_id: str
    schema: str | None = None
    table: str | None = None
    families: tuple[str, ...] = ()
    low: int = 0
    high: int = 100

    def params(self) -> list:
        return [self.run_id, self.schema, self.table, list(self.families), self.low, self.high]


def _read(con: duckdb.DuckDBPyConnection, name: str, *params) -> pl.DataFrame:
    return con.sql(queries.text(name), params=list(params)).pl()


def _filtered(con: duckdb.DuckDBPyConnection, name: str, where: ColumnFilter) -> pl.DataFrame:
    sql = f"WITH quality_columns AS ({queries.text('app_quality_columns')}) {queries.text('app_quality/' + name)}"
    return con.sql(sql, params=where.params()).pl()


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


def table(con, scan_run: str, schema: str | None, name: str) -> pl.DataFrame:
    return _read(con, "app_table", scan_run, schema, name)


def table_columns(con, scan_run: str, table_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_table_columns", scan_run, table_qualified_name)


def table_metrics(con, quality_run: str, table_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_table_metrics", quality_run, table_qualified_name)


def referenced_by(con, scan_run: str, table_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_referenced_by", scan_run, table_qualified_name)


def column_profile(con, quality_run: str, table_qualified_name: str, column: str) -> pl.DataFrame:
    return _read(con, "app_column_profile", quality_run, table_qualified_name, column)


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


def quality_score(con, quality_run: str, schema: str | None, table_name: str | None) -> float | None:
    """The quality score of a run (or of one schema or table in it): the mean of the table scores."""
    return _read(con, "app_quality_score", quality_run, schema, table_name)["quality_score"][0]


def quality_totals(con, where: ColumnFilter) -> pl.DataFrame:
    return _filtered(con, "quality_totals", where)


def score_distribution(con, where: ColumnFilter) -> pl.DataFrame:
    return _filtered(con, "score_distribution", where)


def null_distinct_points(con, where: ColumnFilter) -> pl.DataFrame:
    return _filtered(con, "null_distinct_points", where)


def null_distinct_cells(con, where: ColumnFilter) -> pl.DataFrame:
    return _filtered(con, "null_distinct_cells", where)


def worst_columns(con, where: ColumnFilter) -> pl.DataFrame:
    return _filtered(con, "worst_columns", where)


def column_choices(con, where: ColumnFilter) -> pl.DataFrame:
    return _filtered(con, "column_choices", where)


def top_values(con, quality_run: str, column_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_top_values", quality_run, column_qualified_name)


def histogram(con, quality_run: str, column_qualified_name: str) -> pl.DataFrame:
    return _read(con, "app_histogram", quality_run, column_qualified_name)


def skipped_metrics(con, quality_run: str, column_qualified_name: str) -> pl.DataFrame:
    """The metrics a quality run skipped on a column, one row each: metric, reason (the engine's)."""
    rows = _read(con, "app_skipped_metrics", quality_run, column_qualified_name)["skipped_metrics"].to_list()
    pairs = [(metric, why) for text in rows for metric, why in json.loads(text).items()]
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
