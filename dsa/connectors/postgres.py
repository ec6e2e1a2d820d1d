"""PostgreSQL (psycopg 3): read-only sessions, metadata from five bulk pg_catalog queries.

Every session runs with `default_transaction_read_only=on` and a `statement_timeout`, so a
scan cannot write or hang. The catalog queries in `queries/postgres/` read pg_catalog directly
(never information_schema, which is slow and hides objects the user does not own) and are
each one statement for the whole database, whatever the number of tables.
"""

from __future__ import annotations

import math
import re
from typing import Any

import psycopg
from psycopg import conninfo

from dsa import queries
from dsa.config import SourceOptions
from dsa.connectors.base import Connector
from dsa.errors import SourceError, one_line, register_secret, scrub
from dsa.names import qualified_name


class PostgresOptions(SourceOptions):
    dsn: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    sslmode: str | None = None
    sslrootcert: str | None = None


class PostgresConnector(Connector):
    type = "postgres"
    dialect = "postgres"
    Options = PostgresOptions

    def __init__(self, name: str, options: PostgresOptions):
        super().__init__(name, options)
        register_secret(options.password)
        if options.dsn:
            try:
                register_secret(conninfo.conninfo_to_dict(options.dsn).get("password"))
            except psycopg.ProgrammingError:
                pass  # a malformed DSN is reported by connect(), naming the source

    # -- where and how ----------------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        """libpq parameters: the DSN's, overridden by the explicit keys."""
        o = self.options
        explicit = {"host": o.host, "port": o.port, "user": o.user, "password": o.password, "dbname": o.database,
                    "sslmode": o.sslmode, "sslrootcert": o.sslrootcert}
        base: dict[str, Any] = {}
        if o.dsn:
            try:
                base = conninfo.conninfo_to_dict(o.dsn)
            except psycopg.ProgrammingError as exc:
                raise SourceError(f"source '{self.name}': invalid dsn ({_reason(str(exc))})") from None
        base.update({k: v for k, v in explicit.items() if v is not None})
        return base

    def describe(self) -> str:
        try:
            p = self._params()
        except SourceError:
            return "postgres (invalid dsn)"
        host = p.get("host") or "localhost"
        return f"postgres at {host}:{p.get('port') or 5432}/{p.get('dbname') or p.get('user') or ''}"

    def connect(self) -> psycopg.Connection:
        params = self._params()
        timeout_ms = max(1, int(self.options.timeout_s * 1000))
        # libpq takes whole seconds (and treats 1 as 2); never 0, which would mean "wait forever"
        params["connect_timeout"] = max(1, math.ceil(self.options.connect_timeout_s))
        params["options"] = f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}"
        params.setdefault("application_name", "dsa")
        try:
            conn = psycopg.connect(**params, autocommit=True)
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect to source '{self.name}' ({self.describe()}): {_reason(str(exc))}") from None
        return conn

    def database_name(self, conn) -> str:
        return conn.info.dbname

    def fetch(self, conn, query: str, params: Any = None) -> list[dict[str, Any]]:
        try:
            with conn.cursor() as cur:
                # no parameters: the text goes to the server as is (no client-side % parsing)
                cur.execute(queries.text(f"postgres/{query}"), params)
                names = [d.name for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
        except psycopg.Error as exc:
            raise SourceError(f"source '{self.name}' ({self.describe()}): catalog query {query} failed: "
                              f"{_reason(str(exc))}") from None

    # -- what the user may not read -----------------------------------------------------------

    def unreadable(self, raw: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
        """Schemas without USAGE and tables without SELECT: listed, but recorded so the run is partial."""
        out = []
        blocked = set()
        for row in raw.get("schemas", []):
            s = row["schema_name"]
            if not (row.get("extra") or {}).get("usage", True) and self.wanted(s):
                blocked.add(s)
                out.append({"qualified_name": qualified_name(self.name, s), "object_type": "schema",
                            "error": f"permission denied for schema {s} (no USAGE privilege)"})
        for row in raw.get("tables", []):
            s, t = row["schema_name"], row["table_name"]
            if s in blocked or (row.get("extra") or {}).get("readable", True) or not self.wanted(s, t):
                continue
            out.append({"qualified_name": qualified_name(self.name, s, t), "object_type": "table",
                        "error": f"permission denied for {row.get('table_type') or 'table'} {s}.{t} (no SELECT privilege)"})
        return out

    def extract_raw(self, conn, progress=None):
        raw = super().extract_raw(conn, progress)
        # the catalog queries give key and index columns as attribute numbers: name them here
        names: dict[tuple[int, int], str] = {}
        for row in raw["columns"]:
            names[(row["table_oid"], row["ordinal_position"])] = row["column_name"]
            extra = row["extra"]
            if extra and "domain_base_type" in extra and row["type_family"] is None:
                row["type_family"] = self.type_family(extra["domain_base_type"])  # a domain holds its base type's values
        for row in raw["constraints"]:
            oid = row["table_oid"]
            row["columns"] = [names[(oid, n)] for n in row["column_numbers"] or ()]
            if row["ref_column_numbers"]:
                ref = row["ref_table_oid"]
                row["ref_columns"] = [names[(ref, n)] for n in row["ref_column_numbers"]]
        for row in raw["indexes"]:
            oid, numbers, keys = row["table_oid"], row["column_numbers"], row["key_count"]
            texts = row["key_texts"]
            row["columns"] = [names[(oid, n)] if n else texts[i] for i, n in enumerate(numbers[:keys])]
            extra = row["extra"] or {}
            if len(numbers) > keys:
                extra["include"] = [names[(oid, n)] for n in numbers[keys:]]
            if row["options"]:
                extra["order"] = [("DESC" if o & 1 else "ASC") + (" NULLS FIRST" if o & 2 else "") for o in row["options"]]
            row["extra"] = extra or None
        return raw


def _reason(message: str) -> str:
    """The useful part of a libpq message, on one line, without secrets.

    libpq says `connection to server at "h" (1.2.3.4), port 5432 failed: FATAL:  database "x"
    does not exist` and may add hints on further lines; the source is already named by the
    caller, so keep the reason after the last "failed:"."""
    text = scrub(message)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else text
    # several addresses tried: each line is one attempt; the last one says why it ended
    attempts = [ln for ln in lines if "failed:" in ln]
    if attempts:
        first = attempts[-1]
    reason = first.rsplit("failed:", 1)[-1].strip() if "failed:" in first else first
    reason = re.sub(r"^(FATAL|ERROR):\s*", "", reason)
    return one_line(reason) or one_line(text)
