"""Normalizing: a connector's standard catalog rows into the catalog's schema, table and column frames.

The connector contract (`dsa.connectors.base`) says which keys each bulk catalog query returns;
this module is the shared code that turns them into `dsa.model` frames. It is the only part of a
scan that needs Polars, so it is imported once the catalog queries are on their way.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import orjson
import polars as pl

from dsa import model
from dsa.names import qualified_name, quote_part


class Source(Protocol):
    """What normalizing asks of a connector: its name, its include/exclude verdict, its types."""

    name: str

    def wanted(self, schema: str, table: str | None = None) -> bool: ...

    def type_family(self, data_type: str | None) -> str: ...


@dataclass
class Extraction:
    """What one scan extracted: frames with the `dsa.model` schemas, plus unreadable objects."""

    schemas: pl.DataFrame
    tables: pl.DataFrame
    columns: pl.DataFrame
    errors: list[dict[str, str]] = field(default_factory=list)  # qualified_name, object_type, error


def _list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return list(value)


def _obj(value: Any) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        if not value:
            return {}
        # orjson gives the same objects as json.loads, several times faster, except that it turns
        # integers past 64 bits into floats (and refuses NaN): those texts go to Python's parser
        if not _LONG_NUMBER.search(value):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return json.loads(value)
    return dict(value)


_LONG_NUMBER = re.compile(r"\d{19}")


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "t", "1", "y")
    return bool(value)


def normalize(connector: Source, raw: dict[str, list[dict[str, Any]]], *, run_id: str, database: str | None,
              tenant: str = "default", progress: Callable[[int, int, str], None] | None = None) -> Extraction:
    """Turn standard catalog rows into the schema, table and column frames.

    Everything proportional to the number of objects runs column-wise in Polars: each key's and
    index's JSON is encoded in one expression (engine extras spliced in as text), grouped per
    table, and what keys say about single columns (primary key position, uniqueness, foreign key
    target, index membership) is joined onto the columns. Only the rare row whose extra would
    replace a standard key is merged in Python, as a dict. The constraint, index and column rows
    may come as dicts or as Polars frames. `progress(done, total, "tables")` reports tables done.
    """
    conn_name = connector.name
    conn_q = quote_part(conn_name)

    schemas_seen: dict[str, dict] = {}
    for row in raw.get("schemas", []):
        if connector.wanted(row["schema_name"]):
            schemas_seen[row["schema_name"]] = row
    table_rows = []
    for row in raw.get("tables", []):
        if connector.wanted(row["schema_name"], row["table_name"]):
            table_rows.append(row)
            schemas_seen.setdefault(row["schema_name"], {"schema_name": row["schema_name"]})
    tables = pl.DataFrame({k: [r.get(k) for r in table_rows] for k in _TABLE_KEYS}, schema=_TABLE_KEYS, strict=False)
    table_extras = [r.get("extra") for r in table_rows]
    table_key = ["schema_name", "table_name"]
    wanted = tables.select(table_key).unique()

    cons = _keys_frame(raw.get("constraints", []), _CONSTRAINT_KEYS, _CONSTRAINT_FIELDS).join(
        wanted, on=table_key, how="semi", maintain_order="left")
    idx = _keys_frame(raw.get("indexes", []), _INDEX_KEYS, _INDEX_FIELDS).join(
        wanted, on=table_key, how="semi", maintain_order="left")

    # a foreign key's target schema defaults to its own
    kind = pl.col("constraint_type")
    ref_schema = pl.when(pl.col("ref_schema").is_null() | (pl.col("ref_schema") == "")).then(
        pl.col("schema_name")).otherwise(pl.col("ref_schema"))
    cons = cons.with_columns(ref_schema=pl.when(kind == "foreign_key").then(ref_schema))

    # The columns frame is Polars work, which runs outside the GIL: it is built on another core
    # while this thread assembles the tables.
    column_rows = column_rows_frame(raw.get("columns", []))
    pool = ThreadPoolExecutor(1, thread_name_prefix="dsa-columns")
    columns_job = pool.submit(_column_frame, connector, column_rows, wanted, cons, idx,
                              run_id=run_id, conn_q=conn_q, conn_name=conn_name, tenant=tenant)
    pool.shutdown(wait=False)

    fk_json = pl.struct(
        name="constraint_name", columns="columns", ref_schema="ref_schema", ref_table="ref_table",
        ref_columns="ref_columns", on_update="on_update", on_delete="on_delete",
        ref_qualified_name=_qualified(conn_q, "ref_schema", "ref_table")).struct.json_encode()
    plain_json = pl.struct(name="constraint_name", columns="columns").struct.json_encode()
    definition = pl.col("definition")
    cons_json = pl.when(kind == "foreign_key").then(fk_json).otherwise(plain_json)
    cons_json = pl.when(definition.is_not_null() & (definition != "")).then(
        cons_json.str.head(-1) + pl.lit(',"definition":') + json_value(definition) + pl.lit("}")).otherwise(cons_json)
    cons = cons.with_columns(item=_with_extra(cons_json))
    idx = idx.with_columns(item=_with_extra(pl.struct(
        name="index_name", columns="columns", unique="is_unique", primary="is_primary", method="method",
        predicate="predicate", definition="definition").struct.json_encode()))
    cons, idx = _merge_extras(cons), _merge_extras(idx)

    def listed(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by(table_key, maintain_order=True).agg(
            (pl.lit("[") + pl.col("item").str.join(",") + pl.lit("]")).alias(name))

    first_pk = cons.filter(kind == "primary_key").unique(table_key, keep="first", maintain_order=True).select(
        *table_key, primary_key=json_value(pl.col("columns")), pk_name=json_value(pl.col("constraint_name")))
    column_count = column_rows.group_by(table_key).agg(column_count=pl.len())  # as in the frame: wanted tables only
    for part in (listed(cons.filter(kind == "foreign_key"), "foreign_keys"),
                 listed(cons.filter(kind == "unique"), "unique_constraints"),
                 listed(cons.filter(kind == "check"), "check_constraints"),
                 listed(idx, "indexes"), first_pk, column_count):
        tables = tables.join(part, on=table_key, how="left", maintain_order="left")
    tables = _table_extras(tables, table_extras)

    empty = pl.lit("[]")
    custom = (pl.lit('{"foreign_keys":') + pl.col("foreign_keys").fill_null(empty)
              + pl.lit(',"unique_constraints":') + pl.col("unique_constraints").fill_null(empty)
              + pl.lit(',"check_constraints":') + pl.col("check_constraints").fill_null(empty)
              + pl.lit(',"indexes":') + pl.col("indexes").fill_null(empty)
              + pl.when(pl.col("extra").is_not_null()).then(pl.lit(",") + pl.col("extra").str.slice(1).str.head(-1))
              .otherwise(pl.lit(""))
              + pl.when(pl.col("primary_key").is_not_null()).then(pl.lit(',"primary_key_name":') + pl.col("pk_name"))
              .otherwise(pl.lit(""))
              + pl.lit("}"))
    parent = pl.when(pl.col("parent_schema").is_null() | (pl.col("parent_schema") == "")).then(
        pl.col("schema_name")).otherwise(pl.col("parent_schema"))
    tables = tables.with_columns(
        run_id=pl.lit(run_id), connection=pl.lit(conn_name), tenant=pl.lit(tenant),
        qualified_name=_qualified(conn_q, "schema_name", "table_name"),
        schema_qualified_name=_qualified(conn_q, "schema_name"),
        table_type=pl.when(pl.col("table_type").is_null() | (pl.col("table_type") == "")).then(pl.lit("table"))
        .otherwise(pl.col("table_type")),
        column_count=pl.col("column_count").fill_null(0).cast(pl.Int64),
        parent_table=pl.when(pl.col("parent_table").is_not_null() & (pl.col("parent_table") != "")).then(
            _qualified(conn_q, parent, "parent_table")),
        custom_attributes=pl.coalesce("merged_custom", custom),
        database=pl.col("database_name").fill_null(pl.lit(database, pl.Utf8)),
    ).with_columns(
        attributes=pl.struct("qualified_name", "database", pl.col("schema_name").alias("schema"),
                             pl.col("table_name").alias("name"), "table_type").struct.json_encode())
    if progress and table_rows:
        progress(len(table_rows), len(table_rows), "tables")

    base = {"run_id": run_id, "connection": conn_name, "tenant": tenant}
    schemas = [
        {
            **base,
            "qualified_name": qualified_name(conn_name, s),
            "database_name": row.get("database_name") or database,
            "schema_name": s,
            "owner": row.get("owner"),
            "comment": row.get("comment"),
            "attributes": _json({"qualified_name": qualified_name(conn_name, s),
                                 "database": row.get("database_name") or database, "name": s}),
            "custom_attributes": _json(_obj(row.get("extra"))),
        }
        for s, row in sorted(schemas_seen.items())
    ]
    return Extraction(
        schemas=model.frame(schemas, model.SCHEMAS),
        tables=tables.select([pl.col(c).cast(t) for c, t in model.TABLES.items()]),
        columns=columns_job.result(),
    )


# the tables query's keys that reach the frame as they are, and their types
_TABLE_KEYS = {
    "schema_name": pl.Utf8, "table_name": pl.Utf8, "table_type": pl.Utf8, "owner": pl.Utf8, "comment": pl.Utf8,
    "row_estimate": pl.Int64, "size_bytes": pl.Int64, "view_definition": pl.Utf8, "parent_schema": pl.Utf8,
    "parent_table": pl.Utf8, "database_name": pl.Utf8,
}
_CONSTRAINT_KEYS = {
    "schema_name": pl.Utf8, "table_name": pl.Utf8, "constraint_name": pl.Utf8, "constraint_type": pl.Utf8,
    "columns": pl.List(pl.Utf8), "ref_schema": pl.Utf8, "ref_table": pl.Utf8, "ref_columns": pl.List(pl.Utf8),
    "on_update": pl.Utf8, "on_delete": pl.Utf8, "definition": pl.Utf8, "extra": pl.Utf8,
}
_INDEX_KEYS = {
    "schema_name": pl.Utf8, "table_name": pl.Utf8, "index_name": pl.Utf8, "columns": pl.List(pl.Utf8),
    "is_unique": pl.Boolean, "is_primary": pl.Boolean, "method": pl.Utf8, "predicate": pl.Utf8,
    "definition": pl.Utf8, "extra": pl.Utf8,
}
# the keys of each item's standard JSON, which an engine's extra cannot simply follow
_CONSTRAINT_FIELDS = frozenset({"name", "columns", "ref_schema", "ref_table", "ref_columns", "on_update", "on_delete",
                                "ref_qualified_name", "definition"})
_INDEX_FIELDS = frozenset({"name", "columns", "unique", "primary", "method", "predicate", "definition"})
_TABLE_FIELDS = frozenset({"foreign_keys", "unique_constraints", "check_constraints", "indexes", "primary_key_name"})


def _keys_frame(rows: list[dict[str, Any]] | pl.DataFrame, schema: dict[str, pl.DataType],
                fields: frozenset) -> pl.DataFrame:
    """Constraint or index rows as a frame with `schema`'s keys: column lists as lists, flags as
    booleans, and `extra` as compact JSON text of a non-empty object (`collides` marks an extra
    that names one of the item's standard `fields`, so it cannot be spliced in as text)."""
    if isinstance(rows, pl.DataFrame):
        frame = rows.with_columns(pl.lit(None, t).alias(k) for k, t in schema.items() if k not in rows.columns)
        extras = frame["extra"].to_list()
    else:
        data: dict[str, list] = {k: [r.get(k) for r in rows] for k in schema}
        lists = [k for k, t in schema.items() if isinstance(t, pl.List)]
        for k, t in schema.items():
            if t == pl.Boolean:
                data[k] = _bools(data[k])
            elif k in lists:  # as JSON text, decoded in one go (a Series per list is slow)
                data[k] = [orjson.dumps(_list(v)).decode() for v in data[k]]
        extras = data.pop("extra")
        frame = pl.DataFrame(data, schema={k: pl.Utf8 if k in lists else t for k, t in schema.items() if k != "extra"},
                             strict=False).with_columns(pl.col(k).str.json_decode(schema[k]) for k in lists)
    texts, collides = _extra_texts(extras, fields)
    return frame.with_columns(
        [pl.col(k).fill_null([]) for k, t in schema.items() if isinstance(t, pl.List)]
        + [pl.col(k).fill_null(False) for k, t in schema.items() if t == pl.Boolean]
        + [pl.Series("extra", texts, dtype=pl.Utf8), pl.Series("collides", collides, dtype=pl.Boolean)]
    ).select([*schema, "collides"])


def _extra_texts(values: list, fields: frozenset) -> tuple[list, list]:
    """Each extra (None, dict or JSON text) as compact JSON text of a non-empty object, or None;
    and whether it names one of `fields`."""
    texts: list = [None] * len(values)
    collides: list = [False] * len(values)
    for i, value in enumerate(values):
        if value is None:
            continue
        obj = _obj(value)
        if obj:
            texts[i] = _json(obj)
            collides[i] = not fields.isdisjoint(obj)
    return texts, collides


def _with_extra(item: pl.Expr) -> pl.Expr:
    """An item's standard JSON with its extra's members appended (when they name other keys)."""
    extra = pl.col("extra")
    return pl.when(extra.is_not_null() & ~pl.col("collides")).then(_append_members(item, extra)).otherwise(
        item).alias("item")


def _append_members(obj: pl.Expr, other: pl.Expr) -> pl.Expr:
    """JSON object text `obj` followed by the members of the non-empty object text `other`: the
    first without its closing brace, a comma, the second without its opening brace (no JSON is
    decoded or encoded again)."""
    return obj.str.head(-1) + pl.lit(",") + other.str.slice(1)


def _merge_extras(frame: pl.DataFrame) -> pl.DataFrame:
    """Items whose extra names a standard key: merged as dicts, the extra's values winning."""
    if not frame["collides"].any():
        return frame
    rows = frame.select("item", "extra", "collides").with_row_index().filter(pl.col("collides"))
    items = frame["item"].to_list()
    for i, item, extra, _ in rows.iter_rows():
        merged = orjson.loads(item)
        merged.update(orjson.loads(extra))
        items[i] = _json(merged)
    return frame.with_columns(item=pl.Series(items, dtype=pl.Utf8))


def _table_extras(tables: pl.DataFrame, extras: list) -> pl.DataFrame:
    """Each table's extra as compact JSON text; `merged_custom` is the whole custom attributes
    of the rare table whose extra names one of the standard keys (merged as dicts)."""
    texts, collides = _extra_texts(extras, _TABLE_FIELDS)
    merged: list = [None] * len(texts)
    if any(collides):
        rows = tables.select("foreign_keys", "unique_constraints", "check_constraints", "indexes", "primary_key",
                             "pk_name").rows()
        for i in (i for i, c in enumerate(collides) if c):
            fks, uqs, cks, ixs, pk, pk_name = rows[i]
            custom = {"foreign_keys": orjson.loads(fks or "[]"), "unique_constraints": orjson.loads(uqs or "[]"),
                      "check_constraints": orjson.loads(cks or "[]"), "indexes": orjson.loads(ixs or "[]")}
            custom.update(orjson.loads(texts[i]))
            if pk is not None:
                custom["primary_key_name"] = orjson.loads(pk_name)
            merged[i] = _json(custom)
    return tables.with_columns(extra=pl.Series(texts, dtype=pl.Utf8),
                               merged_custom=pl.Series(merged, dtype=pl.Utf8))


def _qualified(conn_q: str, *cols: str | pl.Expr) -> pl.Expr:
    """`dsa.names.qualified_name(connection, *cols)` as a Polars expression."""
    out = pl.lit(conn_q)
    for c in cols:
        out = out + pl.lit(".") + _quoted(c)
    return out


_COLUMN_KEYS = {
    "schema_name": pl.Utf8, "table_name": pl.Utf8, "column_name": pl.Utf8, "ordinal_position": pl.Int64,
    "data_type": pl.Utf8, "type_family": pl.Utf8, "is_nullable": pl.Boolean, "column_default": pl.Utf8,
    "is_identity": pl.Boolean, "is_generated": pl.Boolean, "generation_expression": pl.Utf8, "comment": pl.Utf8,
    "extra": pl.Utf8,
}


def column_rows_frame(rows: list[dict[str, Any]] | pl.DataFrame) -> pl.DataFrame:
    """The columns query's rows as a frame with the standard keys and types.

    A connector may hand over a Polars frame (e.g. read straight from a COPY); rows as dicts
    are converted. Booleans may be given as bool, 0/1 or yes/no text; `extra` as dict or JSON."""
    if isinstance(rows, pl.DataFrame):
        frame = rows
    else:
        data = {k: [r.get(k) for r in rows] for k in _COLUMN_KEYS}
        for k in ("is_nullable", "is_identity", "is_generated"):
            data[k] = _bools(data[k])
        data["column_default"] = [None if v is None else str(v) for v in data["column_default"]]
        data["extra"] = [v if v is None or isinstance(v, str) else _json(v) for v in data["extra"]]
        frame = pl.DataFrame(data, schema=_COLUMN_KEYS, strict=False)
    missing = [pl.lit(None, t).alias(k) for k, t in _COLUMN_KEYS.items() if k not in frame.columns]
    return frame.with_columns(missing).select([pl.col(k).cast(t) for k, t in _COLUMN_KEYS.items()])


def _quoted(col: str | pl.Expr) -> pl.Expr:
    """`dsa.names.quote_part` as a Polars expression."""
    c = pl.col(col) if isinstance(col, str) else col
    return pl.when(c.str.contains(r"^[A-Za-z_][A-Za-z0-9_]*$")).then(c).otherwise(
        pl.lit('"') + c.str.replace_all('"', '""', literal=True) + pl.lit('"'))


def json_value(expr: pl.Expr) -> pl.Expr:
    """A value (a list, a number, a string...) as compact JSON text: encode it as the only field
    of a struct, then cut the field's `{"v":` prefix and the closing brace (Polars has no
    value-to-JSON)."""
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def _column_frame(connector: Source, frame: pl.DataFrame, wanted: pl.DataFrame, cons: pl.DataFrame,
                  idx: pl.DataFrame, *, run_id: str, conn_q: str, conn_name: str, tenant: str) -> pl.DataFrame:
    frame = frame.join(wanted, on=["schema_name", "table_name"], how="semi", maintain_order="left")
    # a few distinct type texts: map each once
    todo = frame.filter(pl.col("type_family").is_null())["data_type"].unique().to_list()
    families = {t: connector.type_family(t) for t in todo}
    for facts in _column_facts(cons, idx, conn_q):
        frame = frame.join(facts, on=["schema_name", "table_name", "column_name"], how="left", maintain_order="left")
    frame = frame.with_columns(
        table_qualified_name=_qualified(conn_q, "schema_name", "table_name"),
        type_family=pl.coalesce("type_family", pl.col("data_type").replace_strict(families, default=None,
                                                                                   return_dtype=pl.Utf8)),
        is_unique=pl.col("is_unique").fill_null(False),
        indexes=pl.when(pl.col("index_list").is_not_null()).then(json_value(pl.col("index_list"))).otherwise(pl.lit("[]")),
    ).with_columns(
        qualified_name=pl.col("table_qualified_name") + pl.lit(".") + _quoted("column_name"),
    ).with_columns(
        run_id=pl.lit(run_id),
        connection=pl.lit(conn_name),
        tenant=pl.lit(tenant),
        is_primary_key=pl.col("pk_position").is_not_null(),
        attributes=pl.struct(
            "qualified_name", "data_type", "type_family", nullable=pl.col("is_nullable")).struct.json_encode(),
        custom_attributes=pl.struct(
            "ordinal_position", default=pl.col("column_default"), primary_key_position=pl.col("pk_position")
        ).struct.json_encode(),
    )
    # engine-specific extras (a JSON object per column, whose keys are not the three above) are
    # merged as text: decoding and re-encoding each would cost four JSON passes a column
    extra = pl.col("extra").str.strip_chars()
    has_extra = extra.is_not_null() & (extra.str.len_bytes() > 2)
    frame = frame.with_columns(custom_attributes=pl.when(has_extra).then(
        _append_members(pl.col("custom_attributes"), extra)).otherwise(pl.col("custom_attributes")))
    return frame.select([pl.col(c).cast(t) for c, t in model.COLUMNS.items()])


def _column_facts(cons: pl.DataFrame, idx: pl.DataFrame, conn_q: str) -> list[pl.DataFrame]:
    """What keys say about single columns, one row per (schema, table, column) each: the primary
    key position (of the table's first primary key), uniqueness (a one-column primary key, unique
    constraint or unique index without a predicate), the referenced column (the first foreign key
    naming the column wins) and the names of the indexes holding it."""
    table, key = ["schema_name", "table_name"], ["schema_name", "table_name", "column_name"]
    kind, columns = pl.col("constraint_type"), pl.col("columns")

    def each_column(frame: pl.DataFrame, *keep: str) -> pl.DataFrame:
        """One row per listed column, with its position in the list."""
        return frame.select(*table, *keep, column_name=columns, position=pl.int_ranges(columns.list.len())).explode(
            "column_name", "position").filter(pl.col("column_name").is_not_null())

    primary = cons.filter(kind == "primary_key").unique(table, keep="first", maintain_order=True)
    pk = each_column(primary).select(*key, pk_position=pl.col("position").cast(pl.Int64) + 1)
    single = (columns.list.len() == 1)
    predicate = pl.col("predicate")
    unique = pl.concat([
        primary.filter(single).select(*table, column_name=columns.list.first()),
        cons.filter((kind == "unique") & single).select(*table, column_name=columns.list.first()),
        idx.filter(pl.col("is_unique") & single & (predicate.is_null() | (predicate == ""))).select(
            *table, column_name=columns.list.first()),
    ]).unique(maintain_order=True).with_columns(is_unique=pl.lit(True))
    ref_column = pl.col("ref_columns").list.get(pl.col("position"), null_on_oob=True)
    fk = each_column(cons.filter(kind == "foreign_key"), "ref_schema", "ref_table", "ref_columns").select(
        *key, foreign_key=pl.when(pl.col("position") < pl.col("ref_columns").list.len()).then(
            _qualified(conn_q, "ref_schema", "ref_table", ref_column)).otherwise(
            _qualified(conn_q, "ref_schema", "ref_table"))).unique(key, keep="first", maintain_order=True)
    indexes = each_column(idx, "index_name").group_by(key, maintain_order=True).agg(index_list=pl.col("index_name"))
    return [pk, unique, fk, indexes]


def _bools(values: list) -> list:
    """`_bool` over a list, skipping the work when the driver already gave booleans."""
    if all(v is None or v is True or v is False for v in values):
        return values
    return [_bool(v) for v in values]


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _json(value: Any) -> str | None:
    """`dsa.model.to_json`, the same text, four times faster: a scan encodes two objects per
    table (its keys and indexes), and with Python's encoder that was a fifth of normalizing.
    Datetimes go through `default=str` as there; what orjson refuses (integers beyond 64 bits)
    falls back to the standard encoder."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=str, option=_JSON_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return model.to_json(value)
