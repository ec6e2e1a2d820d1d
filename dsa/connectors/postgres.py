"""PostgreSQL (psycopg 3): read-only sessions, metadata from five bulk pg_catalog queries.

Every session runs with `default_transaction_read_only=on` and a `statement_timeout`, so a
scan cannot write or hang. The catalog queries in `queries/postgres/` read pg_catalog directly
(never information_schema, which is slow and hides objects the user does not own) and are
each one statement for the whole database, whatever the number of tables.
"""

from __future__ import annotations

import io
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import orjson
import psycopg
from psycopg import conninfo, sql
from pydantic import Field, field_validator

from dsa import queries
from dsa.options import SourceOptions
from dsa.connectors.base import Connector
from dsa.errors import SourceError, one_line, register_secret, scrub
from dsa.names import qualified_name

if TYPE_CHECKING:
    import polars as pl


SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class PostgresOptions(SourceOptions):
    dsn: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, gt=0, lt=65536)
    user: str | None = None
    password: str | None = None
    database: str | None = None
    sslmode: Literal[SSL_MODES] | None = None
    sslrootcert: str | None = None

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, dsn: str | None) -> str | None:
        """What libpq would refuse at connect time is refused here, before any run starts."""
        if dsn is None:
            return dsn
        try:
            params = conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"not a Postgres URL or key=value string ({_reason(str(exc))})") from None
        port = params.get("port")
        if port is not None and not all(p.isdigit() and 0 < int(p) < 65536 for p in str(port).split(",")):
            raise ValueError(f"port {port!r} is not a port number (1-65535)")
        if params.get("sslmode") not in (None, *SSL_MODES):
            raise ValueError(f"sslmode {params['sslmode']!r} is not one of {', '.join(SSL_MODES)}")
        return dsn


class PostgresConnector(Connector):
    type = "postgres"
    dialect = "postgres"
    Options = PostgresOptions
    # checks group each column in a statement of its own, on sessions side by side: Postgres runs
    # GROUPING SETS in one process, its hash tables sharing one work_mem, and sorts their rows
    GROUPING_SETS = False

    # profiling (see dsa.connectors.base): block sampling for large tables, row sampling for the
    # others, both seeded (REPEATABLE); a table's column statements run on several sessions that
    # share one exported snapshot, each sampling the same rows
    SAMPLE_METHODS = ("system", "bernoulli")
    SAMPLE_IS_SEEDED = True
    PARALLEL_SESSIONS = True
    MATERIALIZE = True
    NAN = "literals"
    SPLIT = "always"
    PREFILTER = "leading"

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
        # jit=off: catalog queries are short, but big catalogs push their cost estimate over
        # jit_above_cost and compiling them would take longer than running them
        ours = f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} -c jit=off"
        # a DSN's own options are kept, ours come last so that they win
        params["options"] = f"{params['options']} {ours}" if params.get("options") else ours
        params.setdefault("application_name", "dsa")
        try:
            conn = psycopg.connect(**params, autocommit=True)
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect to source '{self.name}' ({self.describe()}): {_reason(str(exc))}") from None
        return conn

    def database_name(self, conn) -> str:
        return conn.info.dbname

    # -- profiling ------------------------------------------------------------------------

    def prepare_profile_session(self, conn, options) -> None:
        """`profile_session.sql`: the statement timeout, work_mem and no JIT."""
        try:
            conn.execute(queries.text("postgres/profile_session"),
                         {"timeout_ms": str(int(options.timeout_s * 1000)), "work_mem": f"{int(options.postgres_work_mem_mb)}MB"})
        except psycopg.Error:  # profiling still works with the server's settings
            pass

    def begin_snapshot(self, conn) -> None:
        """A read-only REPEATABLE READ transaction, unless one is open (`begin_snapshot.sql`)."""
        status = conn.info.transaction_status
        if status == psycopg.pq.TransactionStatus.INERROR:
            conn.rollback()
        if status != psycopg.pq.TransactionStatus.INTRANS:
            conn.execute(queries.text("postgres/begin_snapshot"))

    def share_snapshot(self, conn) -> str:
        return conn.execute(queries.text("postgres/export_snapshot")).fetchone()[0]

    def join_snapshot(self, conn, snapshot: str | None) -> None:
        conn.execute(queries.text("postgres/begin_snapshot"))
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))

    def type_family(self, data_type: str | None) -> str:
        """format_type's canonical names, looked up without parsing; anything else by dsa.types."""
        if data_type:
            if data_type.endswith("]"):
                return "array"
            family = _FAMILIES.get(_TYPMOD.sub("", data_type))
            if family:
                return family
            if data_type.startswith("interval"):  # interval day to second(2), ...
                return "interval"
        return super().type_family(data_type)

    def fetch(self, conn, query: str, params: Any = None) -> list[dict[str, Any]]:
        text = self._query_text(conn, query)
        try:
            with conn.cursor() as cur:
                # no parameters: the text goes to the server as is (no client-side % parsing)
                cur.execute(text, params)
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
        # The columns query (by far the most rows) runs on a second session in a thread while this
        # one runs the other four, so the server works on both at once. The queries with a row per
        # column, key or index come as CSV (COPY), parsed by Polars with no Python object per value.
        side: list[psycopg.Connection] = []
        pool = ThreadPoolExecutor(1)
        columns_job = pool.submit(self._fetch_columns, side)
        try:
            raw: dict[str, Any] = {}
            for i, query in enumerate(("schemas", "tables", "constraints", "indexes", "dependencies")):
                if progress:
                    progress(i, 6, f"reading {query}")
                raw[query] = self.copy(conn, query) if query in _KEYS_CSV else self.fetch(conn, query)
                self.arrived(query, raw[query])
            if progress:
                progress(5, 6, "reading columns")
            raw["columns"] = columns_job.result()
            self.arrived("columns", raw["columns"])
        except BaseException:
            # an error or Ctrl-C here: stop the other session's query instead of waiting it out
            for other in side:
                try:
                    other.cancel_safe(timeout=2)
                except Exception:
                    pass
            raise
        finally:
            pool.shutdown(wait=True)
        self._name_key_columns(raw)
        return raw

    def copy(self, conn, query: str) -> bytes:
        """A catalog query's rows as CSV with a header."""
        text = self._query_text(conn, query).strip()
        try:
            with conn.cursor() as cur:
                with cur.copy(f"COPY ({text}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                    return b"".join(bytes(chunk) for chunk in copy)
        except psycopg.Error as exc:
            raise SourceError(f"source '{self.name}' ({self.describe()}): catalog query {query} failed: "
                              f"{_reason(str(exc))}") from None

    def _fetch_columns(self, opened: list) -> pl.DataFrame:
        conn = self.connect()
        opened.append(conn)
        try:
            data = self.copy(conn, "columns")
        finally:
            conn.close()
        import polars as pl  # here, not at the top: `dsa scan` loads Polars while the queries run

        frame = _read_csv(data, _COLUMNS_CSV)
        frame = frame.with_columns(pl.col(b) == "t" for b in ("is_nullable", "is_identity", "is_generated"))
        # a domain holds its base type's values: its family is the base type's
        domains = {}
        for data_type, extra in frame.filter(pl.col("type_family").is_null() & pl.col("extra").is_not_null()).select(
                "data_type", "extra").iter_rows():
            base = json.loads(extra).get("domain_base_type")
            if base:
                domains[data_type] = self.type_family(base)
        if domains:
            frame = frame.with_columns(type_family=pl.coalesce(
                "type_family", pl.col("data_type").replace_strict(domains, default=None, return_dtype=pl.Utf8)))
        return frame

    def _name_key_columns(self, raw: dict[str, Any]) -> None:
        """The key and index queries give columns as attribute numbers: name them (one join of
        every key's, referenced key's and index's numbers with the columns query's rows), and
        turn both into frames with the standard keys."""
        import polars as pl

        cons = _read_csv(raw["constraints"], _CONSTRAINTS_CSV).with_row_index("row").with_columns(
            _int_array("column_numbers"), _int_array("ref_column_numbers"))
        idx = _read_csv(raw["indexes"], _INDEXES_CSV).with_row_index("row").with_columns(
            _int_array("column_numbers"), _int_array("options"), pl.col("key_texts").str.json_decode(pl.List(pl.Utf8)),
            *((pl.col(b) == "t").alias(b) for b in ("is_unique", "is_primary")))

        def numbered(frame: pl.DataFrame, part: str, oid: str, numbers: str) -> pl.DataFrame:
            """One row per attribute number in each row's list, with its position in the list."""
            n = pl.col(numbers)
            return frame.select(pl.lit(part).alias("part"), "row", pl.col(oid).alias("oid"), n=n,
                                position=pl.int_ranges(n.list.len())).explode("n", "position")

        names = raw["columns"].select(oid="table_oid", n="ordinal_position", name="column_name")
        parts = pl.concat([numbered(cons, "key", "table_oid", "column_numbers"),
                           numbered(cons, "ref", "ref_table_oid", "ref_column_numbers"),
                           numbered(idx, "index", "table_oid", "column_numbers")]).join(
            names, on=["oid", "n"], how="left", maintain_order="left")
        part = pl.col("part")

        def listed(which: str, **lists: pl.Expr) -> pl.DataFrame:
            return parts.filter(part == which).group_by("row", maintain_order=True).agg(**lists)

        raw["constraints"] = cons.join(listed("key", columns=pl.col("name").drop_nulls()), on="row", how="left",
                                       maintain_order="left").join(
            listed("ref", ref_columns=pl.col("name").drop_nulls()), on="row", how="left", maintain_order="left"
        ).with_columns(ref_columns=pl.when(pl.col("ref_column_numbers").list.len() > 0).then("ref_columns"))

        # an index's first key_count numbers are its key (a column, or 0: an expression, whose
        # text is given), the rest its INCLUDE columns
        key_count = idx.select("row", "key_count", "key_texts")
        is_key = pl.col("position") < pl.col("key_count")
        key_part = pl.when(pl.col("n") == 0).then(pl.col("key_texts").list.get(pl.col("position"), null_on_oob=True)
                                                 ).otherwise(pl.col("name"))
        index_parts = parts.filter(part == "index").join(key_count, on="row", how="left", maintain_order="left")
        listed_index = index_parts.group_by("row", maintain_order=True).agg(
            columns=key_part.filter(is_key).drop_nulls(), include=pl.col("name").filter(~is_key).drop_nulls())
        idx = idx.join(listed_index, on="row", how="left", maintain_order="left")
        # INCLUDE columns and sort options join the extra (rare: merged in Python)
        special = idx.filter((pl.col("include").list.len() > 0) | pl.col("options").is_not_null())
        extras = idx["extra"].to_list()
        for row, extra, include, options in special.select("row", "extra", "include", "options").iter_rows():
            extra = orjson.loads(extra) if extra else {}
            if include:
                extra["include"] = include
            if options:
                extra["order"] = [("DESC" if o & 1 else "ASC") + (" NULLS FIRST" if o & 2 else "") for o in options]
            extras[row] = orjson.dumps(extra).decode() if extra else None
        raw["indexes"] = idx.with_columns(extra=pl.Series(extras, dtype=pl.Utf8))

    def _query_text(self, conn, query: str) -> str:
        text = queries.text(f"postgres/{query}")
        if conn.info.server_version < 150000:
            # NULLS NOT DISTINCT (and its catalog column) came with Postgres 15
            text = text.replace("i.indnullsnotdistinct", "false")
        return text


def _read_csv(data: bytes, fields: dict[str, str]):
    import polars as pl

    return pl.read_csv(io.BytesIO(data), schema={k: getattr(pl, t) for k, t in fields.items()})


def _int_array(name: str):
    """A Postgres integer array's text (`{1,2}`, or `[0:1]={1,2}` with its bounds, as an int2vector
    cast to int2[] has them) as a list of integers."""
    import polars as pl

    elements = pl.col(name).str.replace(r"^\[[0-9:]*\]=", "").str.strip_chars("{}")
    return (pl.lit("[") + elements + pl.lit("]")).str.json_decode(pl.List(pl.Int64)).alias(name)


# format_type's spelling of the built-in types (type modifiers removed) -> dsa.types family
_FAMILIES = {
    **dict.fromkeys(("smallint", "integer", "bigint", "oid"), "integer"),
    **dict.fromkeys(("numeric", "money"), "decimal"),
    **dict.fromkeys(("real", "double precision"), "float"),
    "boolean": "boolean",
    **dict.fromkeys(("text", "character varying", "character", "name", '"char"', "citext", "tsvector", "tsquery",
                     "inet", "cidr", "macaddr", "macaddr8"), "string"),
    **dict.fromkeys(("bytea", "bit", "bit varying"), "binary"),
    "date": "date",
    **dict.fromkeys(("time without time zone", "time with time zone"), "time"),
    **dict.fromkeys(("timestamp without time zone", "timestamp with time zone"), "timestamp"),
    "interval": "interval", "uuid": "uuid", "json": "json", "jsonb": "json", "xml": "xml",
    **dict.fromkeys(("point", "line", "lseg", "box", "path", "polygon", "circle"), "geometry"),
    **dict.fromkeys(("int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange", "int4multirange",
                     "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange"), "other"),
}
_TYPMOD = re.compile(r"\(\d+(?:,\d+)?\)")

# the columns query's CSV fields and their Polars types
_COLUMNS_CSV = {
    "schema_name": "Utf8", "table_name": "Utf8", "column_name": "Utf8", "ordinal_position": "Int64",
    "data_type": "Utf8", "type_family": "Utf8", "is_nullable": "Utf8", "column_default": "Utf8",
    "is_identity": "Utf8", "is_generated": "Utf8", "generation_expression": "Utf8", "comment": "Utf8",
    "extra": "Utf8", "table_oid": "Int64",
}
_CONSTRAINTS_CSV = {
    "schema_name": "Utf8", "table_name": "Utf8", "constraint_name": "Utf8", "constraint_type": "Utf8",
    "ref_schema": "Utf8", "ref_table": "Utf8", "definition": "Utf8", "on_update": "Utf8", "on_delete": "Utf8",
    "extra": "Utf8", "table_oid": "Int64", "column_numbers": "Utf8", "ref_table_oid": "Int64",
    "ref_column_numbers": "Utf8",
}
_INDEXES_CSV = {
    "schema_name": "Utf8", "table_name": "Utf8", "index_name": "Utf8", "is_unique": "Utf8", "is_primary": "Utf8",
    "method": "Utf8", "predicate": "Utf8", "definition": "Utf8", "extra": "Utf8", "table_oid": "Int64",
    "column_numbers": "Utf8", "key_count": "Int64", "options": "Utf8", "key_texts": "Utf8",
}
_KEYS_CSV = ("constraints", "indexes")


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
