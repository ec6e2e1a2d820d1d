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
Any row of schemas/tables/columns may also carry `database_name`, for sources that hold several
databases (DuckDB's attached databases): it becomes the entity's `attributes.database`.

Engines whose catalog lists one row per key column (MySQL's information_schema) turn those rows
into the list form with `collapse()`. Server engines share `ServerOptions` (a `dsn` URL or
host/port/user/password/database keys). A connector declares what its engine can express in
`features`, so the conformance suite checks exactly those things and says which it leaves out.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable, ClassVar, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

import polars as pl

from pydantic import Field, model_validator

from dsa import model, queries
from dsa.config import SourceOptions
from dsa.errors import SourceError, register_secret, scrub
from dsa.names import qualified_name, quote_part

try:  # orjson is several times faster than json for the many small documents of a scan
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None
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
    # True: the schemas query runs first and the other queries get `schemas`, the list of
    # wanted schema names (include/exclude applied), so a server reads only those.
    pushes_down_schemas: ClassVar[bool] = False

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
            if self.pushes_down_schemas and query != "schemas":
                if "schemas" not in params:
                    params = {**params, "schemas": [r["schema_name"] for r in raw["schemas"]
                                                    if self.wanted(r["schema_name"])]}
                if not params["schemas"]:
                    raw[query] = []  # nothing wanted: no query (and no empty IN () list)
                    continue
            raw[query] = self.fetch(conn, query, params)
        return raw

    def unreadable(self, raw: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
        """Objects the user may not read (engine-specific); the run ends partial."""
        return []

    # -- shared -------------------------------------------------------------------------

    def extract(self, run_id: str, progress: Progress | None = None, tenant: str = "default") -> Extraction:
        conn = self.connect()
        try:
            database = self.database_name(conn)
            raw = self.extract_raw(conn, progress)
        finally:
            try:
                conn.close()
            except Exception:
                pass
        extraction = normalize(self, raw, run_id=run_id, database=database, tenant=tenant)
        extraction.errors.extend(self.unreadable(raw))
        if progress:
            progress(len(self.catalog_queries) + 1, len(self.catalog_queries) + 1, "done")
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


class _TableKeys:
    """What the columns of one table need to know about its keys and indexes, worked out once."""

    __slots__ = ("qualified_name", "pk_cols", "unique_cols", "fk_target", "indexes")

    def __init__(self, conn_name: str, table_qualified_name: str, cons: dict[str, list]):
        self.qualified_name = table_qualified_name
        self.pk_cols = cons["primary_key"][0].get("columns", []) if cons.get("primary_key") else []
        singles = [u["columns"] for u in cons.get("unique", [])]
        singles += [i["columns"] for i in cons.get("index", []) if i["unique"] and not i.get("predicate")]
        singles.append(self.pk_cols)
        self.unique_cols = {cols[0] for cols in singles if len(cols) == 1}
        self.fk_target: dict[str, str] = {}
        for fk in cons.get("foreign_key", []):
            ref_cols = fk.get("ref_columns") or []
            for pos, col in enumerate(fk["columns"]):
                if col in self.fk_target:
                    continue  # the first foreign key naming a column wins
                ref_col = ref_cols[pos] if pos < len(ref_cols) else None
                self.fk_target[col] = (qualified_name(conn_name, fk["ref_schema"], fk["ref_table"], ref_col)
                                       if ref_col else fk["ref_qualified_name"])
        self.indexes: dict[str, list[str]] = {}
        for i in cons.get("index", []):
            for col in dict.fromkeys(i["columns"]):
                self.indexes.setdefault(col, []).append(i["name"])


# The fields of the column tuples `normalize` builds, in this order.
_COLUMN_FIELDS = (
    "run_id", "connection", "tenant", "qualified_name", "table_qualified_name", "schema_name", "table_name",
    "column_name", "ordinal_position", "data_type", "type_family", "is_nullable", "column_default", "is_identity",
    "is_generated", "generation_expression", "comment", "is_primary_key", "is_unique", "foreign_key", "indexes",
    "attributes", "custom_attributes",
)


def _column_frame(rows: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={k: model.COLUMNS[k] for k in _COLUMN_FIELDS}, orient="row", strict=False)
    missing = [pl.lit(None, dtype).alias(k) for k, dtype in model.COLUMNS.items() if k not in _COLUMN_FIELDS]
    return frame.with_columns(missing).select(list(model.COLUMNS)) if missing else frame


def _dumps(value: Any) -> str:
    """model.to_json's text (compact, UTF-8), fast: a scan writes three per column."""
    return _orjson.dumps(value, default=str).decode() if _orjson else model.to_json(value)


def collapse(rows: Iterable[dict[str, Any]], key: tuple[str, ...], lists: tuple[str, ...]) -> list[dict[str, Any]]:
    """Merge rows that share `key` into one row whose `lists` fields are lists, in row order.

    For catalogs with one row per key column: sort the rows by position first."""
    out: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[f] for f in key)
        merged = out.get(k)
        if merged is None:
            merged = out[k] = {**row, **{f: [] for f in lists}}
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
              tenant: str = "default") -> Extraction:
    """Turn standard catalog rows into the schema, table and column frames."""
    conn_name = connector.name
    base = {"run_id": run_id, "connection": conn_name, "tenant": tenant}

    def tq(schema: str, table: str) -> str:
        return qualified_name(conn_name, schema, table)

    # constraints and indexes, keyed by table
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

    tables = []
    table_keys = set()
    for row in raw.get("tables", []):
        s, t = row["schema_name"], row["table_name"]
        if not connector.wanted(s, t):
            continue
        if s not in schemas_seen:
            schemas_seen[s] = {"schema_name": s}
        table_keys.add((s, t))
        cons = by_table.get((s, t), {})
        pk = cons.get("primary_key", [{}])[0].get("columns") if cons.get("primary_key") else None
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
        tables.append(
            {
                **base,
                "qualified_name": tq(s, t),
                "schema_qualified_name": qualified_name(conn_name, s),
                "schema_name": s,
                "table_name": t,
                "table_type": row.get("table_type") or "table",
                "owner": row.get("owner"),
                "comment": row.get("comment"),
                "row_estimate": row.get("row_estimate"),
                "size_bytes": row.get("size_bytes"),
                "view_definition": row.get("view_definition"),
                "parent_table": parent,
                "primary_key": model.to_json(pk) if pk is not None else None,
                "attributes": model.to_json(
                    {"qualified_name": tq(s, t), "database": row.get("database_name") or database, "schema": s, "name": t,
                     "table_type": row.get("table_type") or "table"}
                ),
                "custom_attributes": model.to_json(custom),
            }
        )

    columns = []
    column_count: dict[tuple[str, str], int] = {}
    keys_of: dict[tuple[str, str], _TableKeys] = {}
    dumps = _dumps
    for row in raw.get("columns", []):
        s, t, c = row["schema_name"], row["table_name"], row["column_name"]
        keys = keys_of.get((s, t))
        if keys is None:
            if (s, t) not in table_keys:
                continue
            keys = keys_of[(s, t)] = _TableKeys(conn_name, tq(s, t), by_table.get((s, t), {}))
        column_count[(s, t)] = column_count.get((s, t), 0) + 1
        pk_cols = keys.pk_cols
        data_type = row.get("data_type")
        family = row.get("type_family") or connector.type_family(data_type)
        nullable = _bool(row.get("is_nullable"))
        default = row.get("column_default")
        qn = keys.qualified_name + "." + quote_part(c)
        ordinal = row.get("ordinal_position")
        # a tuple in model.COLUMNS order: Polars takes rows of tuples much faster than dicts
        columns.append((
            run_id, conn_name, tenant, qn, keys.qualified_name, s, t, c, ordinal, data_type, family, nullable,
            None if default is None else str(default),
            bool(_bool(row.get("is_identity"))),
            bool(_bool(row.get("is_generated"))),
            row.get("generation_expression"),
            row.get("comment"),
            c in pk_cols,
            c in keys.unique_cols,
            keys.fk_target.get(c),
            dumps(keys.indexes.get(c, [])),
            dumps({"qualified_name": qn, "data_type": data_type, "type_family": family, "nullable": nullable}),
            dumps({"ordinal_position": ordinal, "default": default,
                   "primary_key_position": pk_cols.index(c) + 1 if c in pk_cols else None,
                   **_obj(row.get("extra"))}),
        ))
    for t in tables:
        t["column_count"] = column_count.get((t["schema_name"], t["table_name"]), 0)

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
    return Extraction(
        schemas=model.frame(schemas, model.SCHEMAS),
        tables=model.frame(tables, model.TABLES),
        columns=_column_frame(columns),
    )
