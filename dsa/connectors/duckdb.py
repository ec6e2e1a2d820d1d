"""DuckDB database files, opened read-only, with optional attached databases (also read-only).

Schema names: the opened file's schemas keep their names (`main`, `sales`); a schema of an
attached database is named `<alias>.<schema>` with each part quoted as in qualified names
(`dsa.names`), e.g. `archive.main` or `"old db".main`, and its entities carry
`attributes.database` = the alias. A schema of the opened file whose own name equals such a
rendered name would be ambiguous: the connector refuses that with an error naming both.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import sqlglot
from pydantic import Field
from sqlglot import exp

from dsa.options import FilePath, SourceOptions
from dsa.connectors.base import Connector
from dsa.errors import SourceError
from dsa.names import qualified_name, quote_part, split_name
from dsa.types import type_family


class DuckdbOptions(SourceOptions):
    path: FilePath
    attach: dict[str, FilePath] = Field(default_factory=dict, description="alias -> another DuckDB file, attached read-only")


class DuckdbEngine(Connector):
    """What profiling knows of DuckDB, for every connector that queries through it (this one and
    `files`): seeded TABLESAMPLE (a reservoir of exactly the rows asked for), one statement per
    column on a full scan, and a memory cap, since DuckDB runs in our process."""

    dialect = "duckdb"
    SAMPLE_METHODS = ("system", "bernoulli", "reservoir")
    SAMPLE_IS_SEEDED = True
    MATERIALIZE = True
    NAN = "functions"
    SPLIT = "full"
    PREFILTER = "no_letter"
    BY_COUNT = True
    LEAN_WINDOWS = True

    def prepare_profile_session(self, conn, options) -> None:
        """Cap DuckDB's memory (per database, `quality.duckdb_memory_limit_mb`) so that big
        groupings spill to the system's temp folder, never to `.tmp` in the working directory."""
        # the guarded connection runs only SELECTs; these settings are ours to make
        con = getattr(conn, "_con", conn)
        try:
            con.execute(f"SET memory_limit = '{int(options.duckdb_memory_limit_mb)}MB'")
            # a literal, not a bound parameter: binding one makes duckdb import pandas (~0.4 s)
            folder = exp.Literal.string(tempfile.gettempdir() + "/dsa_duckdb_spill").sql(dialect="duckdb")
            con.execute(f"SET temp_directory = {folder}")
        except Exception:  # a locked configuration (files): profiling still works
            pass


class DuckdbConnector(DuckdbEngine):
    type = "duckdb"
    Options = DuckdbOptions

    def describe(self) -> str:
        return f"duckdb file {self.options.path}"

    def connect(self):
        import duckdb

        from dsa import duck

        path = Path(self.options.path).expanduser()
        if not path.is_file():
            raise self.cannot_connect("file not found", "open")
        try:
            conn = duck.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise self.cannot_connect(exc, "open") from None
        try:
            for alias, other in self.options.attach.items():
                other_path = Path(other).expanduser()
                if not other_path.is_file():
                    raise self.cannot_connect(f"attach {alias}: file {other} not found", "open")
                conn.execute(_attach_sql(str(other_path), alias))
        except duckdb.Error as exc:
            conn.close()
            raise self.cannot_connect(f"attach: {exc}", "open") from None
        except SourceError:
            conn.close()
            raise
        self._primary = conn.execute("SELECT current_database()").fetchall()[0][0]
        return GuardedConnection(conn, self.options.timeout_s)

    def database_name(self, conn) -> str:
        return self._primary

    def type_family(self, data_type: str | None) -> str:
        if (data_type or "").upper() in ("VARINT", "BIGNUM"):
            return "integer"
        return type_family(data_type, self.dialect)

    def schema_for(self, database: str, schema: str) -> str:
        return schema if database == self._primary else qualified_name(database, schema)

    def profile_relation(self, schema: str, table: str) -> exp.Expression:
        """`alias.schema.table` for a schema of an attached database, `schema.table` otherwise."""
        try:
            parts = split_name(schema)
        except ValueError:
            parts = [schema]
        if len(parts) == 2 and parts[0] in self.options.attach:
            return exp.table_(table, db=parts[1], catalog=parts[0], quoted=True)
        return exp.table_(table, db=schema, quoted=True)

    def extract_raw(self, conn, progress=None):
        raw = super().extract_raw(conn, progress)
        for query, rows in raw.items():
            for row in rows:
                row["schema_name"] = self.schema_for(row["database_name"], row["schema_name"])
                if row.get("ref_schema"):
                    row["ref_schema"] = self.schema_for(row["database_name"], row["ref_schema"])
        for row in raw["indexes"]:
            row["columns"] = _index_columns(row.pop("expressions"), row["definition"])
        own = {r["schema_name"] for r in raw["schemas"] if r["database_name"] == self._primary}
        for r in raw["schemas"]:
            if r["database_name"] != self._primary and r["schema_name"] in own:
                raise SourceError(f"source '{self.name}' ({self.describe()}): schema {r['schema_name']!r} of the file "
                                  f"has the same name as schema {quote_part(r['schema_name'].split('.')[-1])} of "
                                  f"attached database {r['database_name']!r}; rename the attach alias")
        return raw


def _attach_sql(path: str, alias: str) -> str:
    """ATTACH IF NOT EXISTS (connections of one process share the database instance)."""
    node = exp.Attach(this=exp.alias_(exp.Literal.string(path), exp.to_identifier(alias, quoted=True)),
                      exists=True, expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))])
    return node.sql("duckdb")


def _index_columns(expressions: str | None, definition: str | None) -> list[str]:
    """Column names (or expression text) of an index, from its CREATE INDEX statement."""
    try:
        params = sqlglot.parse_one(definition, read="duckdb").this.args["params"]
        out = []
        for ordered in params.args.get("columns") or []:
            node = ordered.this if isinstance(ordered, exp.Ordered) else ordered
            node = node.unnest() if isinstance(node, exp.Paren) else node
            out.append(node.name if isinstance(node, exp.Column) else node.sql("duckdb"))
        if out:
            return out
    except Exception:  # an index sqlglot cannot read: fall back to DuckDB's own text
        pass
    text = (expressions or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in text.split(",") if part.strip()] if text else []



class GuardedConnection:
    """A DuckDB connection that runs only reading statements, each under the source's timeout.

    DuckDB has no statement timeout setting: a timer interrupts a statement that runs too long.
    Statements are classified by DuckDB's own parser; only SELECT (queries, DESCRIBE, SUMMARIZE,
    read-only PRAGMAs) and EXPLAIN pass, so a COPY TO, INSERT, ATTACH or SET through this
    connection fails. Other attributes (fetchall, pl, interrupt ...) reach DuckDB's own.
    """

    def __init__(self, con, timeout_s: float):
        self._con = con
        self._timeout_s = timeout_s
        self.description = None

    def execute(self, sql: str, params: Any = None) -> "GuardedConnection":
        import duckdb

        reading = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
        statements = self._con.extract_statements(sql)
        if not statements or any(st.type not in reading for st in statements):
            raise PermissionError("read-only source: only SELECT, DESCRIBE, SUMMARIZE and EXPLAIN statements may run")
        timer = threading.Timer(self._timeout_s, self._con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            self._con.execute(sql, params or ())
        finally:
            timer.cancel()
        self.description = self._con.description
        return self

    def cursor(self) -> "GuardedConnection":
        return GuardedConnection(self._con.cursor(), self._timeout_s)

    def close(self) -> None:
        self._con.close()

    def __getattr__(self, name: str):
        # fetchall, fetchone, pl, df, arrow ... read the result of the last statement
        return getattr(self._con, name)
