"""What every connector shares: the class contract and the normalizer.

A connector says how to open a read-only connection and which bulk catalog queries to run
(`queries/<type>/{schemas,tables,columns,constraints,indexes}.sql`); each query returns rows
with the standard keys below, and `normalize` turns them into the catalog's frames. So a new
engine is a small class plus a few SQL files.

Standard row keys (missing keys are null; `columns`/`ref_columns` are lists or JSON arrays;
`extra` is a dict or JSON object merged into `custom_attributes`):
  schemas:     schema_name, owner, comment, extra
  tables:      schema_name, table_name, table_type, owner, comment, row_estimate, size_bytes,
               view_definition, parent_schema, parent_table, extra
  columns:     schema_name, table_name, column_name, ordinal_position, data_type, type_family,
               is_nullable, column_default, is_identity, is_generated, generation_expression,
               comment, extra
  constraints: schema_name, table_name, constraint_name, constraint_type (primary_key | unique |
               foreign_key | check), columns, ref_schema, ref_table, ref_columns, definition,
               on_update, on_delete, extra
  indexes:     schema_name, table_name, index_name, is_unique, is_primary, method, columns
               (names or expressions), predicate, definition, extra
Any row of schemas/tables may also carry `database_name`, for sources that hold several
databases (DuckDB's attached databases): it becomes the entity's `attributes.database`.

Engines whose catalog lists one row per key column (MySQL's information_schema) turn those rows
into the list form with `collapse()`. Server engines may share `ServerOptions` (a `dsn` URL or
host/port/user/password/database keys). A connector declares what its engine can express in
`features`, so the conformance suite checks exactly those things and says which it leaves out.
"""

from __future__ import annotations

import gc
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from operator import itemgetter
from typing import Any, Callable, ClassVar, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

import polars as pl
from pydantic import Field, model_validator

from dsa import model, queries
from dsa.config import SourceOptions
from dsa.errors import SourceError, register_secret, scrub
from dsa.names import qualified_name, quote_part
from dsa.types import type_family

REGISTRY: dict[str, type["Connector"]] = {}

CATALOG_QUERIES = ("schemas", "tables", "columns", "constraints", "indexes")

Progress = Callable[[int, int, str], None]

# What an engine's catalog can express; `Connector.features` lists the ones a connector reports.
FEATURES = frozenset({"primary_keys", "foreign_keys", "unique_constraints", "indexes", "views", "defaults"})


class ServerOptions(SourceOptions):
    """A database server: either `dsn` (a URL) or the separate keys; the keys win over the URL."""

    dsn: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, gt=0, lt=65536)
    user: str | None = None
    password: str | None = None
    database: str | None = None

    @model_validator(mode="after")
    def _where(self):
        if not self.dsn and not self.host:
            raise ValueError("give either dsn or host")
        register_secret(self.password)
        if self.dsn:
            register_secret(urlsplit(self.dsn).password and unquote(urlsplit(self.dsn).password))
        return self

    def target(self, default_port: int) -> dict[str, Any]:
        """host, port, user, password, database and the URL's query parameters, merged."""
        url = urlsplit(self.dsn) if self.dsn else None
        params = dict(parse_qsl(url.query)) if url else {}
        return {
            "host": self.host or (url.hostname if url else None) or "localhost",
            "port": self.port or (url.port if url else None) or default_port,
            "user": self.user or (unquote(url.username) if url and url.username else None),
            "password": self.password if self.password is not None else (
                unquote(url.password) if url and url.password else None),
            "database": self.database or (unquote(url.path.lstrip("/")) if url and url.path.strip("/") else None),
            "params": params,
        }


@dataclass
class Extraction:
    """What one scan extracted: frames with the `dsa.model` schemas, plus unreadable objects."""

    schemas: pl.DataFrame
    tables: pl.DataFrame
    columns: pl.DataFrame
    errors: list[dict[str, str]] = field(default_factory=list)  # qualified_name, object_type, error


class Connector(ABC):
    """Base class. Subclasses set `type`, `dialect`, `Options` and implement `connect`."""

    type: ClassVar[str]
    dialect: ClassVar[str]  # sqlglot dialect of the engine's SQL
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    catalog_queries: ClassVar[tuple[str, ...]] = CATALOG_QUERIES
    features: ClassVar[frozenset[str]] = FEATURES

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            REGISTRY[cls.type] = cls

    def __init__(self, name: str, options: SourceOptions):
        self.name = name
        self.options = options

    # -- what each engine provides --------------------------------------------------------

    def describe(self) -> str:
        """Where the source is, for messages: `postgres at db:5432/prod`. Never a secret."""
        return self.type

    @abstractmethod
    def connect(self):
        """A read-only DB-API connection with statement timeouts; raises `SourceError`."""

    def database_name(self, conn) -> str | None:
        return None

    def query_params(self, conn) -> Any:
        """Parameters every catalog query of this connector takes (e.g. the database to read)."""
        return None

    def cannot_connect(self, detail: Any, verb: str = "connect to") -> SourceError:
        """The one-line error for a source that cannot be reached, logged into or opened."""
        return SourceError(f"cannot {verb} source '{self.name}' ({self.describe()}): {detail}")

    def fetch(self, conn, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Run `queries/<type>/<query>.sql` and return rows as dicts."""
        cur = conn.cursor()
        try:
            cur.execute(queries.text(f"{self.type}/{query}"), params or ())
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            cur.close()

    def extract_raw(self, conn, progress: Progress | None = None) -> dict[str, list[dict[str, Any]]]:
        raw = {}
        params = self.query_params(conn)
        for i, query in enumerate(self.catalog_queries):
            if progress:
                progress(i, len(self.catalog_queries) + 1, query)
            raw[query] = self.fetch(conn, query, params)
        return raw

    def unreadable(self, raw: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
        """Objects the user may not read (engine-specific); the run ends partial."""
        return []

    # -- shared -------------------------------------------------------------------------

    def extract(self, run_id: str, progress: Progress | None = None, tenant: str = "default") -> Extraction:
        # Extraction allocates many objects that all live until the end (rows, dicts, lists) and
        # no reference cycles: the cyclic GC would re-scan them again and again (a third of the
        # CPU time of a large scan), so it is paused meanwhile.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            conn = self.connect()
            try:
                database = self.database_name(conn)
                raw = self.extract_raw(conn, progress)
            finally:
                try:
                    conn.close()
                except Exception:
                    pass
            extraction = normalize(self, raw, run_id=run_id, database=database, tenant=tenant, progress=progress)
            extraction.errors.extend(self.unreadable(raw))
        finally:
            if gc_was_enabled:
                gc.enable()
        if progress:
            n = extraction.tables.height
            progress(n, n, "done")
        return extraction

    def type_family(self, data_type: str | None) -> str:
        return type_family(data_type, self.dialect)

    def wanted(self, schema: str, table: str | None = None) -> bool:
        """Apply the source's include/exclude patterns (table patterns match `t` or `s.t`)."""
        inc, exc = self.options.include, self.options.exclude
        if inc.schemas and not any(fnmatchcase(schema, p) for p in inc.schemas):
            return False
        if any(fnmatchcase(schema, p) for p in exc.schemas):
            return False
        if table is None:
            return True
        names = (table, f"{schema}.{table}")
        if inc.tables and not any(fnmatchcase(n, p) for p in inc.tables for n in names):
            return False
        return not any(fnmatchcase(n, p) for p in exc.tables for n in names)

    def error_text(self, exc: BaseException) -> str:
        return scrub(f"{self.describe()}: {exc}")


def collapse(rows: Iterable[dict[str, Any]], key: tuple[str, ...], lists: tuple[str, ...]) -> list[dict[str, Any]]:
    """Merge rows that share `key` into one row whose `lists` fields are lists, in row order.

    For catalogs with one row per key column: sort the rows by position first."""
    out: dict[Any, dict[str, Any]] = {}
    key_of = itemgetter(*key)  # the key made in C: a generator per row took half of the time here
    for row in rows:
        k = key_of(row)
        merged = out.get(k)
        if merged is None:
            merged = out[k] = dict(row)
            for f in lists:
                merged[f] = [row[f]]
        else:
            for f in lists:
                merged[f].append(row[f])
    return list(out.values())


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

    columns = _column_frame(connector, raw.get("columns", []), table_keys, facts, in_index,
                            run_id=run_id, conn_q=conn_q, conn_name=conn_name, tenant=tenant)
    counts = columns.group_by("schema_name", "table_name").len()
    column_count = {(s, t): n for s, t, n in counts.iter_rows()}

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
                "primary_key": model.to_json(pk) if pk is not None else None,
                "custom_attributes": model.to_json(custom),
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
            "attributes": model.to_json({"qualified_name": qualified_name(conn_name, s),
                                         "database": row.get("database_name") or database, "name": s}),
            "custom_attributes": model.to_json(_obj(row.get("extra"))),
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
        columns=columns,
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
        data["extra"] = [v if v is None or isinstance(v, str) else model.to_json(v) for v in data["extra"]]
        frame = pl.DataFrame(data, schema=_COLUMN_KEYS, strict=False)
    missing = [pl.lit(None, t).alias(k) for k, t in _COLUMN_KEYS.items() if k not in frame.columns]
    return frame.with_columns(missing).select([pl.col(k).cast(t) for k, t in _COLUMN_KEYS.items()])


def _quoted(col: str) -> pl.Expr:
    """`dsa.names.quote_part` as a Polars expression."""
    c = pl.col(col)
    return pl.when(c.str.contains(r"^[A-Za-z_][A-Za-z0-9_]*$")).then(c).otherwise(
        pl.lit('"') + c.str.replace_all('"', '""', literal=True) + pl.lit('"'))


def _json_list(col: str) -> pl.Expr:
    """A list of strings as compact JSON text: encode it as the only field of a struct, then
    cut the field's `{"x":` prefix and the closing brace (Polars has no list-to-JSON)."""
    return pl.struct(pl.col(col).alias("x")).struct.json_encode().str.slice(5).str.head(-1)


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
        indexes=pl.when(pl.col("index_list").is_not_null()).then(_json_list("index_list")).otherwise(pl.lit("[]")),
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
