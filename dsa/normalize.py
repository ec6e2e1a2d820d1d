"""Normalizing: a connector's standard catalog rows into the catalog's schema, table and column frames.

The connector contract (`dsa.connectors.base`) says which keys each bulk catalog query returns;
this module is the shared code that turns them into `dsa.model` frames. It is the only part of a
scan that needs Polars, so it is imported once the catalog queries are on their way.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from dsa import model
from dsa.connectors.base import Extraction
from dsa.names import qualified_name, quote_part

if TYPE_CHECKING:
    from dsa.connectors.base import Connector, Progress


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
        return json.loads(value) if value else {}
    return dict(value)


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "t", "1", "y")
    return bool(value)


def normalize(connector: Connector, raw: dict[str, list[dict[str, Any]]], *, run_id: str, database: str | None,
              tenant: str = "default", progress: Progress | None = None) -> Extraction:
    """Turn standard catalog rows into the schema, table and column frames.

    Keys and indexes are grouped per table in Python (a few rows per table); the columns, by
    far the most rows, are built column-wise with Polars: names quoted, JSON encoded and key
    facts joined in vectorized expressions, so 100,000 columns normalize in a fraction of a
    second. `progress(done, total, "tables")` reports tables done.
    """
    conn_name = connector.name
    conn_q = quote_part(conn_name)

    table_names: dict[tuple[str, str], str] = {}

    def tq(schema: str, table: str) -> str:
        name = table_names.get((schema, table))
        if name is None:
            name = table_names[(schema, table)] = qualified_name(conn_name, schema, table)
        return name

    # -- constraints and indexes, keyed by table; what they say about single columns -------
    by_table: dict[tuple[str, str], dict[str, list]] = {}
    for row in raw.get("constraints", []):
        key = (row["schema_name"], row["table_name"])
        kind = row["constraint_type"]
        item = {"name": row.get("constraint_name"), "columns": _list(row.get("columns"))}
        if kind == "foreign_key":
            item.update(
                ref_schema=row.get("ref_schema") or row["schema_name"],
                ref_table=row.get("ref_table"),
                ref_columns=_list(row.get("ref_columns")),
                on_update=row.get("on_update"),
                on_delete=row.get("on_delete"),
            )
            item["ref_qualified_name"] = tq(item["ref_schema"], item["ref_table"])
        if row.get("definition"):
            item["definition"] = row["definition"]
        item.update(_obj(row.get("extra")))
        by_table.setdefault(key, {}).setdefault(kind, []).append(item)
    for row in raw.get("indexes", []):
        key = (row["schema_name"], row["table_name"])
        item = {
            "name": row.get("index_name"),
            "columns": _list(row.get("columns")),
            "unique": bool(_bool(row.get("is_unique"))),
            "primary": bool(_bool(row.get("is_primary"))),
            "method": row.get("method"),
            "predicate": row.get("predicate"),
            "definition": row.get("definition"),
            **_obj(row.get("extra")),
        }
        by_table.setdefault(key, {}).setdefault("index", []).append(item)

    schemas_seen: dict[str, dict] = {}
    for row in raw.get("schemas", []):
        if connector.wanted(row["schema_name"]):
            schemas_seen[row["schema_name"]] = row
    table_rows = []
    for row in raw.get("tables", []):
        if connector.wanted(row["schema_name"], row["table_name"]):
            table_rows.append(row)
            schemas_seen.setdefault(row["schema_name"], {"schema_name": row["schema_name"]})
    table_keys = {(r["schema_name"], r["table_name"]) for r in table_rows}

    # (schema, table, column) -> [primary key position, unique, foreign key target]; index membership
    facts: dict[tuple[str, str, str], list] = {}
    in_index: tuple[list, list, list, list] = ([], [], [], [])

    def fact(s: str, t: str, c: str) -> list:
        f = facts.get((s, t, c))
        if f is None:
            f = facts[(s, t, c)] = [None, False, None]
        return f

    for (s, t), cons in by_table.items():
        if (s, t) not in table_keys:
            continue
        pk_cols = cons["primary_key"][0]["columns"] if cons.get("primary_key") else []
        for i, c in enumerate(pk_cols):
            fact(s, t, c)[0] = i + 1
        if len(pk_cols) == 1:
            fact(s, t, pk_cols[0])[1] = True
        for u in cons.get("unique", []):
            if len(u["columns"]) == 1:
                fact(s, t, u["columns"][0])[1] = True
        for ix in cons.get("index", []):
            if ix["unique"] and len(ix["columns"]) == 1 and not ix.get("predicate"):
                fact(s, t, ix["columns"][0])[1] = True
            for c in ix["columns"]:
                for part, value in zip(in_index, (s, t, c, ix["name"])):
                    part.append(value)
        for fk in reversed(cons.get("foreign_key", [])):  # the first key naming a column wins
            ref_cols = fk.get("ref_columns") or []
            for pos, c in enumerate(fk["columns"]):
                fact(s, t, c)[2] = (qualified_name(conn_name, fk["ref_schema"], fk["ref_table"], ref_cols[pos])
                                    if pos < len(ref_cols) else fk["ref_qualified_name"])

    # The columns frame is Polars work, which runs outside the GIL: it is built on another core
    # while this thread assembles the tables.
    column_rows = column_rows_frame(raw.get("columns", []))
    counts = column_rows.group_by("schema_name", "table_name").len()
    column_count = {(s, t): n for s, t, n in counts.iter_rows()}  # of the wanted tables, as in the frame
    pool = ThreadPoolExecutor(1, thread_name_prefix="dsa-columns")
    columns_job = pool.submit(_column_frame, connector, column_rows, table_keys, facts, in_index,
                              run_id=run_id, conn_q=conn_q, conn_name=conn_name, tenant=tenant)
    pool.shutdown(wait=False)

    base = {"run_id": run_id, "connection": conn_name, "tenant": tenant}
    schema_names: dict[str, str] = {}
    tables = []
    step = max(1, len(table_rows) // 50)
    for done, row in enumerate(table_rows, 1):
        s, t = row["schema_name"], row["table_name"]
        cons = by_table.get((s, t), {})
        pk = cons["primary_key"][0].get("columns") if cons.get("primary_key") else None
        custom = {
            "foreign_keys": cons.get("foreign_key", []),
            "unique_constraints": cons.get("unique", []),
            "check_constraints": cons.get("check", []),
            "indexes": cons.get("index", []),
            **_obj(row.get("extra")),
        }
        if pk is not None:
            custom["primary_key_name"] = cons["primary_key"][0].get("name")
        parent = tq(row.get("parent_schema") or s, row["parent_table"]) if row.get("parent_table") else None
        table_type = row.get("table_type") or "table"
        qn = tq(s, t)
        tables.append(
            {
                **base,
                "qualified_name": qn,
                "schema_qualified_name": schema_names.get(s) or schema_names.setdefault(s, qualified_name(conn_name, s)),
                "schema_name": s,
                "table_name": t,
                "table_type": table_type,
                "owner": row.get("owner"),
                "comment": row.get("comment"),
                "row_estimate": row.get("row_estimate"),
                "size_bytes": row.get("size_bytes"),
                "column_count": column_count.get((s, t), 0),
                "view_definition": row.get("view_definition"),
                "parent_table": parent,
                "primary_key": _json(pk) if pk is not None else None,
                "custom_attributes": _json(custom),
            }
        )
        if progress and (done % step == 0 or done == len(table_rows)):
            progress(done, len(table_rows), "tables")

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
    table_databases = [row.get("database_name") or database for row in table_rows]  # attached databases
    tables_frame = model.frame(tables, model.TABLES).with_columns(
        attributes=pl.struct("qualified_name", pl.Series("database", table_databases, dtype=pl.Utf8),
                             pl.col("schema_name").alias("schema"), pl.col("table_name").alias("name"),
                             "table_type").struct.json_encode())
    return Extraction(
        schemas=model.frame(schemas, model.SCHEMAS),
        tables=tables_frame,
        columns=columns_job.result(),
    )


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


def _quoted(col: str) -> pl.Expr:
    """`dsa.names.quote_part` as a Polars expression."""
    c = pl.col(col)
    return pl.when(c.str.contains(r"^[A-Za-z_][A-Za-z0-9_]*$")).then(c).otherwise(
        pl.lit('"') + c.str.replace_all('"', '""', literal=True) + pl.lit('"'))


def json_value(expr: pl.Expr) -> pl.Expr:
    """A value (a list, a number, a string...) as compact JSON text: encode it as the only field
    of a struct, then cut the field's `{"v":` prefix and the closing brace (Polars has no
    value-to-JSON)."""
    return pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def _column_frame(connector: Connector, rows, table_keys: set, facts: dict, in_index: tuple, *,
                  run_id: str, conn_q: str, conn_name: str, tenant: str) -> pl.DataFrame:
    frame = column_rows_frame(rows)
    wanted = pl.DataFrame([list(k) for k in table_keys] or None, schema={"schema_name": pl.Utf8, "table_name": pl.Utf8},
                          orient="row")
    frame = frame.join(wanted, on=["schema_name", "table_name"], how="semi", maintain_order="left")
    # a few distinct type texts: map each once
    todo = frame.filter(pl.col("type_family").is_null())["data_type"].unique().to_list()
    families = {t: connector.type_family(t) for t in todo}
    key = {"schema_name": pl.Utf8, "table_name": pl.Utf8, "column_name": pl.Utf8}
    fact_values = list(facts.values())
    fact_frame = pl.DataFrame(
        [[k[0] for k in facts], [k[1] for k in facts], [k[2] for k in facts], [f[0] for f in fact_values],
         [f[1] for f in fact_values], [f[2] for f in fact_values]],
        schema={**key, "pk_position": pl.Int64, "is_unique": pl.Boolean, "foreign_key": pl.Utf8}, orient="col",
    )
    index_frame = pl.DataFrame(list(in_index), schema={**key, "index_name": pl.Utf8}, orient="col").group_by(
        list(key), maintain_order=True).agg(index_list=pl.col("index_name"))
    frame = frame.join(fact_frame, on=list(key), how="left", maintain_order="left").join(
        index_frame, on=list(key), how="left", maintain_order="left")
    qn = pl.lit(conn_q + ".") + _quoted("schema_name") + pl.lit(".") + _quoted("table_name")
    frame = frame.with_columns(
        table_qualified_name=qn,
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
    # merged as text: the standard object without its closing brace, a comma, the extra object
    # without its opening brace. Decoding and re-encoding each would cost four JSON passes a column.
    extra = pl.col("extra").str.strip_chars()
    has_extra = extra.is_not_null() & (extra.str.len_bytes() > 2)
    frame = frame.with_columns(custom_attributes=pl.when(has_extra).then(
        pl.col("custom_attributes").str.head(-1) + pl.lit(",") + extra.str.slice(1)
    ).otherwise(pl.col("custom_attributes")))
    return frame.select([pl.col(c).cast(t) for c, t in model.COLUMNS.items()])


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
