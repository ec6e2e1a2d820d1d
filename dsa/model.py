"""The normalized entity model: fixed Polars schemas for every catalog table.

Connectors, profilers and diffs produce frames with exactly these columns (`frame()` makes
sure); the store writes them as Parquet; DuckDB views in `queries/` read them. Columns may be
added in later versions (readers use union_by_name), never renamed or removed.

`attributes` and `custom_attributes` are JSON text, as in the seed's entity model:
`attributes` holds what identifies and types an entity, `custom_attributes` what describes it
(constraints, indexes, partitioning, engine-specific details).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import polars as pl

S, I, F, B, T = pl.Utf8, pl.Int64, pl.Float64, pl.Boolean, pl.Datetime("us", "UTC")

ENTITY = {
    "run_id": S,
    "connection": S,
    "tenant": S,
    "qualified_name": S,
}

SCHEMAS = {
    **ENTITY,
    "database_name": S,
    "schema_name": S,
    "owner": S,
    "comment": S,
    "attributes": S,
    "custom_attributes": S,
}

TABLES = {
    **ENTITY,
    "schema_qualified_name": S,
    "schema_name": S,
    "table_name": S,
    # table | view | materialized_view | partitioned_table | partition | foreign_table | external
    "table_type": S,
    "owner": S,
    "comment": S,
    "row_estimate": I,
    "size_bytes": I,
    "column_count": I,
    "view_definition": S,
    "parent_table": S,  # qualified name of the partitioned parent, for partitions
    "primary_key": S,  # JSON list of column names
    "attributes": S,
    "custom_attributes": S,  # foreign_keys, unique_constraints, check_constraints, indexes, ...
}

COLUMNS = {
    **ENTITY,
    "table_qualified_name": S,
    "schema_name": S,
    "table_name": S,
    "column_name": S,
    "ordinal_position": I,
    "data_type": S,  # the source's own type text, e.g. numeric(12,2)
    "type_family": S,  # see dsa.types.FAMILIES
    "is_nullable": B,
    "column_default": S,
    "is_identity": B,
    "is_generated": B,
    "generation_expression": S,
    "comment": S,
    "is_primary_key": B,
    "is_unique": B,
    "foreign_key": S,  # qualified name of the referenced column, if any
    "indexes": S,  # JSON list of index names the column belongs to
    "attributes": S,
    "custom_attributes": S,
}

# Objects a run could not read: the diff treats them as unknown, never as removed.
RUN_ERRORS = {
    "run_id": S,
    "connection": S,
    "qualified_name": S,  # the schema or table, or the connection itself
    "object_type": S,  # connection | schema | table | column
    "phase": S,  # extract | profile | ...
    "error": S,
    "recorded_at": T,
}

# Every table the store keeps, with the schema of its Parquet files.
CATALOG_TABLES: dict[str, dict[str, pl.DataType]] = {
    "normalized_schemas": SCHEMAS,
    "normalized_tables": TABLES,
    "normalized_columns": COLUMNS,
    "run_errors": RUN_ERRORS,
}


# One encoder for every call: json.dumps with options builds a new JSONEncoder each time, which
# costs as much as encoding a small object (a scan encodes two objects per table).
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":"))


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return _ENCODER.encode(value)


def frame(rows: Iterable[dict[str, Any]] | list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Build a frame with exactly `schema`'s columns from dict rows (missing keys are null)."""
    rows = list(rows)
    columns = {name: [row.get(name) for row in rows] for name in schema}
    return pl.DataFrame(columns, schema=schema, strict=False)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


# ---------------------------------------------------------------------------------------------
# Quality metrics (dsa.quality). `quality_metrics_runs` is a view over sync_runs (views_quality.sql).
# Percentages are 0-100; scores are 0-100 with their components and explanation (docs/quality.md).

TABLE_QUALITY_METRICS = {
    **ENTITY,
    "table_qualified_name": S,
    "schema_name": S,
    "table_name": S,
    "status": S,  # profiled | failed | timeout
    "error": S,
    "row_count": I,  # exact (count(*) over the whole table) unless row_count_estimated
    "row_count_estimated": B,
    "column_count": I,
    "size_bytes": I,  # from the scan, when the engine reports it
    "sample_method": S,  # full | system | bernoulli | reservoir | key_ranges | rowid_hash | random
    "sample_percent": F,
    "sample_rows": I,  # rows actually profiled
    "sample_seed": I,
    "approximate": B,  # true when column metrics come from a sample
    "malformed_rows": I,  # rows that do not fit the table's columns (CSV rows of another width)
    "findings": S,  # JSON list: {finding, count, message, csv (the dialect read with)}
    "quality_score": F,
    "score_components": S,  # JSON: component -> score
    "score_explanation": S,
    "duration_s": F,
    "profiled_at": T,
}

COLUMN_QUALITY_METRICS = {
    **ENTITY,
    "table_qualified_name": S,
    "schema_name": S,
    "table_name": S,
    "column_name": S,
    "ordinal_position": I,
    "data_type": S,
    "type_family": S,
    "total_count": I,  # rows profiled (the sample's rows when sampled)
    "null_count": I,
    "null_percentage": F,
    "distinct_count": I,  # NULL not counted
    "distinct_percentage": F,  # of non-null values
    "approximate": B,
    "min_value": S,
    "max_value": S,
    "mean": F,
    "stddev": F,  # sample standard deviation
    "q1": F,  # the quartiles as doubles (charts, comparisons) ...
    "median": F,
    "q3": F,
    "q1_value": S,  # ... and as the engine writes them, every digit kept (like min_value)
    "median_value": S,
    "q3_value": S,
    "quartiles_method": S,  # percentile_disc (exact over the rows profiled)
    "zero_count": I,
    "negative_count": I,
    "nan_count": I,
    "infinite_count": I,
    "min_length": I,
    "avg_length": F,
    "max_length": I,
    "empty_count": I,
    "whitespace_count": I,
    "numeric_text_count": I,  # text values made only of digits, signs and dots
    "future_count": I,
    "invalid_count": I,  # impossible dates (< 1900-01-01 or unreadable), NaN/infinite numbers
    "true_count": I,
    "false_count": I,
    "orphan_count": I,  # foreign-key values with no referenced row
    "unique_expected": B,
    "masked": B,
    "skipped_metrics": S,  # JSON: metric -> reason
    "quality_score": F,
    "completeness_score": F,
    "uniqueness_score": F,
    "validity_score": F,
    "referential_score": F,
    "score_components": S,  # JSON: component -> {score, weight, reason}
    "score_explanation": S,
}

COLUMN_TOP_VALUES = {
    **ENTITY,
    "column_qualified_name": S,
    "table_qualified_name": S,
    "column_name": S,
    "rank": I,  # 1 = most frequent; ties by value ascending (the engine's order: its collation for text)
    "value": S,  # display text, truncated to 200 characters; NULL when masked
    "value_truncated": B,
    "count": I,
    "percentage": F,  # of rows profiled
    "masked": B,
}

COLUMN_HISTOGRAMS = {
    **ENTITY,
    "column_qualified_name": S,
    "table_qualified_name": S,
    "column_name": S,
    "kind": S,  # numeric | month | year
    "bin": I,
    "lower": F,  # numeric bins: [lower, upper)
    "upper": F,
    "period": S,  # month (YYYY-MM) or year (YYYY) bins
    "count": I,
}

CATALOG_TABLES.update(
    table_quality_metrics=TABLE_QUALITY_METRICS,
    column_quality_metrics=COLUMN_QUALITY_METRICS,
    column_top_values=COLUMN_TOP_VALUES,
    column_histograms=COLUMN_HISTOGRAMS,
)


# -- diff (dsa/diff.py, queries/diff/*.sql) -------------------------------------------------
# One row per entity of either compared scan. `qualified_name` is the newer run's name (the
# older one's for removed objects); `previous_name` the older run's name when it differs
# (renamed, or runs of two connections). change_type: added | removed | modified | renamed |
# moved | unknown | unchanged. `changes`: JSON list of {attribute, from, to}.

DIFF_ENTITY = {
    "run_id": S,
    "connection": S,
    "qualified_name": S,
    "previous_name": S,
    "change_type": S,
    "changes": S,
    "from_run_id": S,
    "to_run_id": S,
    "schema_name": S,
}

DIFF_SCHEMA = dict(DIFF_ENTITY)

DIFF_TABLE = {**DIFF_ENTITY, "table_name": S, "table_type": S}

DIFF_COLUMN = {
    **DIFF_ENTITY,
    "table_qualified_name": S,
    "table_name": S,
    "column_name": S,
    "data_type": S,
    "from_position": I,
    "to_position": I,
}

DIFF_CONSTRAINT = {
    **DIFF_ENTITY,
    "table_qualified_name": S,
    "table_name": S,
    "constraint_type": S,  # primary_key | unique | foreign_key | check
    "constraint_name": S,
    "columns": S,  # JSON list of column names
}

DIFF_INDEX = {
    **DIFF_ENTITY,
    "table_qualified_name": S,
    "table_name": S,
    "index_name": S,
    "columns": S,  # JSON list of column names or expressions
}

# Data drift between the quality runs that profiled the two scans: one row per metric that
# moved at least its threshold (`diff.thresholds` in dsa.yaml). `severity` = measured change /
# threshold, so 1 is "just at the threshold"; drift_rank 1 is the largest drift.
DIFF_DATA = {
    "run_id": S,
    "connection": S,
    "qualified_name": S,  # the table or column
    "previous_name": S,
    "entity_type": S,  # table | column
    "table_qualified_name": S,
    "column_name": S,
    "metric": S,  # row_count | null_percentage | distinct_count | min_value | max_value | quality_score
    "from_value": S,
    "to_value": S,
    "change": F,  # to - from, for numbers
    "measured": F,  # what is compared with the threshold (percent or points)
    "unit": S,  # pct (relative change, percent) | points (absolute change)
    "threshold": F,
    "severity": F,
    "drift_rank": I,
    "from_quality_run": S,
    "to_quality_run": S,
}

DIFF_SUMMARY = {
    "run_id": S,
    "connection": S,
    "entity_type": S,  # schema | table | column | constraint | index
    "added": I,
    "removed": I,
    "modified": I,
    "renamed": I,
    "moved": I,
    "unknown": I,
    "unchanged": I,
}

CATALOG_TABLES.update(
    {
        "incremental_diff_schema": DIFF_SCHEMA,
        "incremental_diff_table": DIFF_TABLE,
        "incremental_diff_column": DIFF_COLUMN,
        "incremental_diff_constraint": DIFF_CONSTRAINT,
        "incremental_diff_index": DIFF_INDEX,
        "incremental_diff_data": DIFF_DATA,
        "diff_summary": DIFF_SUMMARY,
    }
)


# -- checks and monitors (dsa/checks/, docs/checks.md) ---------------------------------------
# A check run is a sync_runs row of run_type 'check' (`dsa check`), or a quality run whose
# checks were evaluated with its profile. `check_runs`: one row per run that evaluated checks.

CHECK_RUNS = {
    "run_id": S,
    "connection": S,
    "run_type": S,  # check | quality
    "scan_run_id": S,  # the scan whose tables were checked
    "check_count": I,
    "passed": I,
    "warned": I,
    "failed": I,
    "errored": I,
    "started_at": T,
    "finished_at": T,
}

# One row per check and table it applied to. `qualified_name`: the table's, or the table glob
# when it matched nothing. outcome: pass | warn | fail | error. `value`: the measured number
# (freshness in seconds); `value_text` how it reads. `samples`: JSON list of {value, count}
# of failing values, NULL when the column is masked (`samples_masked`).
CHECK_RESULTS = {
    **ENTITY,
    "schema_name": S,
    "table_name": S,
    "column_name": S,
    "name": S,
    "check": S,
    "metric": S,
    "value": F,
    "value_text": S,
    "outcome": S,
    "fail_threshold": S,
    "warn_threshold": S,
    "samples": S,
    "samples_masked": B,
    "error": S,
    "checked_at": T,
}

# Values far outside their own history (dsa/monitors.py), and schema changes seen by a diff.
ANOMALIES = {
    "run_id": S,
    "connection": S,
    "qualified_name": S,  # the table or column
    "table_qualified_name": S,
    "column_name": S,
    "metric": S,  # row_count | null_percentage | distinct_percentage | min | max | mean | freshness | quality_score | schema
    "value": F,
    "expected": F,  # the history's median
    "score": F,  # robust z-score: (value - median) / (1.4826 * MAD); signed
    "history": I,  # earlier values the expectation rests on
    "explanation": S,
    "detected_at": T,
}

CATALOG_TABLES.update(check_runs=CHECK_RUNS, check_results=CHECK_RESULTS, anomalies=ANOMALIES)
# -- lineage (dsa/lineage.py): one row per edge found in a scan's view SQL ---------------------
LINEAGE_EDGES = {
    "run_id": S,
    "connection": S,
    "level": S,  # table | column
    "upstream": S,  # qualified name of the table or column read
    "downstream": S,  # the view, or its column
    "kind": S,  # direct | derived | filter | join
    "method": S,  # sqlglot | pg_depend
}

CATALOG_TABLES["lineage_edges"] = LINEAGE_EDGES
