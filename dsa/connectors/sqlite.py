"""SQLite files, opened read-only (`mode=ro`). Attached databases are schemas."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

from dsa.options import FilePath, SourceOptions
from dsa.connectors.base import Connector
from dsa.errors import SourceError


class SqliteOptions(SourceOptions):
    path: FilePath


class SqliteConnector(Connector):
    type = "sqlite"
    dialect = "sqlite"
    Options = SqliteOptions

    def describe(self) -> str:
        return f"sqlite file {self.options.path}"

    def connect(self) -> sqlite3.Connection:
        path = Path(self.options.path).expanduser()
        if not path.is_file():
            raise SourceError(f"cannot open source '{self.name}' ({self.describe()}): file not found")
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self.options.connect_timeout_s, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SourceError(f"cannot open source '{self.name}' ({self.describe()}): {exc}") from None
        return conn

    def database_name(self, conn) -> str:
        return Path(self.options.path).stem

    def extract_raw(self, conn, progress=None):
        raw = super().extract_raw(conn, progress)
        pks = {}
        for row in raw["constraints"]:
            if row["constraint_type"] == "primary_key":
                pks[(row["schema_name"], row["table_name"])] = json.loads(row["columns"])
        for row in raw["constraints"]:
            if row["constraint_type"] == "foreign_key" and None in json.loads(row["ref_columns"]):
                # REFERENCES t without columns means t's primary key
                row["ref_columns"] = json.dumps(pks.get((row["ref_schema"], row["ref_table"]), []))
        raw["constraints"].extend(_check_constraints(raw["tables"]))
        return raw


def _check_constraints(tables: list[dict]) -> list[dict]:
    """SQLite keeps CHECK constraints only in the table's SQL text: read them with sqlglot."""
    import sqlglot  # here: every connector module loads with the config, and sqlglot is slow to import
    from sqlglot import exp

    out = []
    for t in tables:
        sql = json.loads(t["extra"] or "{}").get("sql")
        if not sql or t["table_type"] != "table" or "check" not in sql.lower():
            continue
        try:
            tree = sqlglot.parse_one(sql, read="sqlite")
        except Exception:
            continue
        for i, check in enumerate(tree.find_all(exp.CheckColumnConstraint, exp.Check)):
            parent = check.find_ancestor(exp.ColumnDef)
            out.append(
                {
                    "schema_name": t["schema_name"],
                    "table_name": t["table_name"],
                    "constraint_name": f"check_{i + 1}",
                    "constraint_type": "check",
                    "columns": json.dumps([parent.name] if parent else []),
                    "definition": check.this.sql("sqlite") if check.this else check.sql("sqlite"),
                }
            )
    return out
