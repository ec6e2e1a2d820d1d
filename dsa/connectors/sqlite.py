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

    # profiling (see dsa.connectors.base): no TABLESAMPLE and an unseeded random(): a sample keeps
    # the rows whose rowid hashes below the fraction (`sample_source`); no REGEXP function, no NaN
    # (overflowing literals are the infinities), dates kept as text (`invalid_date`)
    MATERIALIZE = True
    NAN = "overflow"
    REGEX = "glob"

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

    # -- profiling ------------------------------------------------------------------------

    def sample_source(self, rel, percent, rows, large):
        """A multiplicative hash of the rowid below the fraction: the same rows every time."""
        from sqlglot import exp

        from dsa import sampling

        if percent is None:
            return sampling.whole(rel), "full"
        key = exp.Mod(this=exp.paren(exp.Mul(this=exp.column("rowid"), expression=exp.Literal.number(2654435761))),
                      expression=exp.Literal.number(4294967296))
        keep = exp.LT(this=key, expression=exp.Literal.number(int(percent / 100.0 * 4294967296)))
        return sampling.filtered(rel, keep), "rowid_hash"

    def resample(self, rel, percent, method, error):
        """Views and WITHOUT ROWID tables have no rowid: `abs(random()) % 1000000` below the
        fraction instead, different rows each time (method `random`, no seed)."""
        from sqlglot import exp

        from dsa import sampling

        if method != "rowid_hash" or "rowid" not in str(error):
            return None
        keep = exp.LT(this=exp.Mod(this=exp.Abs(this=exp.Anonymous(this="random", expressions=[])),
                                   expression=exp.Literal.number(1000000)),
                      expression=exp.Literal.number(int(percent * 10000)))
        return sampling.filtered(rel, keep), "random"

    def byte_length(self, value):
        """length() of a BLOB counts its bytes (OCTET_LENGTH only came in SQLite 3.43)."""
        from sqlglot import exp

        return exp.Length(this=value)

    def invalid_date(self, value):
        """A stored date julianday() cannot read."""
        from sqlglot import exp

        return exp.Is(this=exp.Anonymous(this="julianday", expressions=[value]), expression=exp.Null())

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
