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
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable, ClassVar

import polars as pl

from dsa import model, queries
from dsa.config import SourceOptions
from dsa.errors import scrub
from dsa.names import qualified_name
from dsa.types import type_family

REGISTRY: dict[str, type["Connector"]] = {}

CATALOG_QUERIES = ("schemas", "tables", "columns", "constraints", "indexes")

Progress = Callable[[int, int, str], None]


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
        for i, query in enumerate(self.catalog_queries):
            if progress:
                progress(i, len(self.catalog_queries) + 1, query)
            raw[query] = self.fetch(conn, query)
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
                    {"qualified_name": tq(s, t), "database": database, "schema": s, "name": t,
                     "table_type": row.get("table_type") or "table"}
                ),
                "custom_attributes": model.to_json(custom),
            }
        )

    columns = []
    column_count: dict[tuple[str, str], int] = {}
    for row in raw.get("columns", []):
        s, t, c = row["schema_name"], row["table_name"], row["column_name"]
        if (s, t) not in table_keys:
            continue
        column_count[(s, t)] = column_count.get((s, t), 0) + 1
        cons = by_table.get((s, t), {})
        pk_cols = cons.get("primary_key", [{}])[0].get("columns", []) if cons.get("primary_key") else []
        unique = any(u["columns"] == [c] for u in cons.get("unique", [])) or any(
            i["unique"] and i["columns"] == [c] and not i.get("predicate") for i in cons.get("index", [])
        ) or pk_cols == [c]
        fk_target = None
        for fk in cons.get("foreign_key", []):
            if c in fk["columns"]:
                pos = fk["columns"].index(c)
                ref_cols = fk.get("ref_columns") or []
                ref_col = ref_cols[pos] if pos < len(ref_cols) else None
                fk_target = qualified_name(conn_name, fk["ref_schema"], fk["ref_table"], ref_col) if ref_col else fk["ref_qualified_name"]
                break
        indexes = [i["name"] for i in cons.get("index", []) if c in i["columns"]]
        data_type = row.get("data_type")
        family = row.get("type_family") or connector.type_family(data_type)
        extra = _obj(row.get("extra"))
        columns.append(
            {
                **base,
                "qualified_name": qualified_name(conn_name, s, t, c),
                "table_qualified_name": tq(s, t),
                "schema_name": s,
                "table_name": t,
                "column_name": c,
                "ordinal_position": row.get("ordinal_position"),
                "data_type": data_type,
                "type_family": family,
                "is_nullable": _bool(row.get("is_nullable")),
                "column_default": None if row.get("column_default") is None else str(row["column_default"]),
                "is_identity": bool(_bool(row.get("is_identity"))),
                "is_generated": bool(_bool(row.get("is_generated"))),
                "generation_expression": row.get("generation_expression"),
                "comment": row.get("comment"),
                "is_primary_key": c in pk_cols,
                "is_unique": bool(unique),
                "foreign_key": fk_target,
                "indexes": model.to_json(indexes),
                "attributes": model.to_json(
                    {"qualified_name": qualified_name(conn_name, s, t, c), "data_type": data_type,
                     "type_family": family, "nullable": _bool(row.get("is_nullable"))}
                ),
                "custom_attributes": model.to_json(
                    {"ordinal_position": row.get("ordinal_position"), "default": row.get("column_default"),
                     "primary_key_position": pk_cols.index(c) + 1 if c in pk_cols else None, **extra}
                ),
            }
        )
    for t in tables:
        t["column_count"] = column_count.get((t["schema_name"], t["table_name"]), 0)

    schemas = [
        {
            **base,
            "qualified_name": qualified_name(conn_name, s),
            "database_name": database,
            "schema_name": s,
            "owner": row.get("owner"),
            "comment": row.get("comment"),
            "attributes": model.to_json({"qualified_name": qualified_name(conn_name, s), "database": database, "name": s}),
            "custom_attributes": model.to_json(_obj(row.get("extra"))),
        }
        for s, row in sorted(schemas_seen.items())
    ]
    return Extraction(
        schemas=model.frame(schemas, model.SCHEMAS),
        tables=model.frame(tables, model.TABLES),
        columns=model.frame(columns, model.COLUMNS),
    )
