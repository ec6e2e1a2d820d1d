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


def register_table(name: str, schema: dict[str, pl.DataType]) -> None:
    """Let a feature module (quality, diff, ...) declare a catalog table of its own."""
    CATALOG_TABLES[name] = schema


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def frame(rows: Iterable[dict[str, Any]] | list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Build a frame with exactly `schema`'s columns from dict rows (missing keys are null)."""
    rows = list(rows)
    columns = {name: [row.get(name) for row in rows] for name in schema}
    return pl.DataFrame(columns, schema=schema, strict=False)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
