"""Apache Spark: a Spark Connect server (`remote: sc://host:15002`) or an embedded session
(`master: local[*]`), read through Spark SQL and its catalog.

A source names exactly one of `remote` and `master`; `conf` is passed to the session builder;
`password` is the Spark Connect bearer token (sent as the URL's `;token=`), kept in the vault
like every other secret. `paths` registers Parquet, CSV or JSON folders, files or globs as
temporary views of the session (hive `key=value` folders become partition columns), listed in
schema `paths`. Nothing is written to the source: the connection runs only reading statements.

The scan reads the catalog in bulk where Spark allows it: `SHOW DATABASES`, one
`DESCRIBE DATABASE EXTENDED` and one `SHOW TABLE EXTENDED` per database (type, provider,
location, owner, comment, properties, partition columns, statistics, view text for every table
at once), then each table's schema by analysis only (no job runs): column types, comments and
defaults, a few at a time. Spark keeps no NOT NULL for file-based tables (parquet, csv, json,
orc, avro, text, hive): their columns' nullability is reported unknown rather than a blanket yes.

Each statement runs under a job tag; the source's timeout interrupts the tag, which cancels the
job on the cluster (Spark Connect and embedded sessions alike).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlglot
from pydantic import Field, model_validator
from sqlglot import exp
from sqlglot.dialects.spark import Spark

from dsa import queries
from dsa.options import SourceOptions, Strict
from dsa.connectors.base import FEATURES, Connector
from dsa.errors import ConfigError, SourceError, one_line, register_secret, scrub
from dsa.names import qualified_name

PATHS_SCHEMA = "paths"
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".json": "json",
           ".jsonl": "json", ".ndjson": "json"}
# Providers whose tables Spark reads as files: it keeps no NOT NULL for them (every column reads nullable).
FILE_PROVIDERS = frozenset({"parquet", "csv", "json", "orc", "avro", "text", "hive"})
GLOB_CHARS = set("*?[{")
# Embedded sessions: no web UI port, no progress bars or startup chatter on dsa's terminal.
QUIET_CONF = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.log.level": "ERROR"}
SCHEMA_THREADS = 4


class SparkSeeded(Spark):
    """sqlglot's Spark dialect, writing a seeded sample as Spark SQL spells it:
    `TABLESAMPLE (10 PERCENT) REPEATABLE (42)` (the dialect writes `SEED (42)`, which Spark rejects)."""

    class Generator(Spark.Generator):
        TABLESAMPLE_SEED_KEYWORD = "REPEATABLE"


class PathSpec(Strict):
    path: str
    name: str | None = None  # the view's name; default: the folder's or file's name
    format: str | None = Field(default=None, pattern="^(parquet|csv|json)$")


class SparkOptions(SourceOptions):
    remote: str | None = Field(default=None, description="Spark Connect URL: sc://host:15002")
    master: str | None = Field(default=None, description="embedded session: local[*], yarn, spark://host:7077")
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Spark settings")
    password: str | None = Field(default=None, description="Spark Connect bearer token (from the vault)")
    paths: list[str | PathSpec] = Field(default_factory=list, description="files or folders as temporary views")

    @model_validator(mode="after")
    def _where(self):
        if bool(self.remote) == bool(self.master):
            raise ValueError("give exactly one of remote (sc://host:15002) and master (local[*])")
        if self.remote:
            if not self.remote.startswith("sc://"):
                raise ValueError(f"remote must be a Spark Connect URL sc://host:port, not {self.remote!r}")
            if re.search(r"(?i);\s*token\s*=", self.remote):
                raise ValueError("remote: give the token as `password` (kept in the vault), not in the URL")
        register_secret(self.password)
        return self


class SparkConnector(Connector):
    type = "spark"
    dialect = "sparkseeded"  # `SparkSeeded`: Spark SQL as sqlglot's spark dialect writes it
    Options = SparkOptions
    features = FEATURES - {"primary_keys", "foreign_keys", "unique_constraints", "indexes"}
    # TABLESAMPLE (x PERCENT) REPEATABLE (seed): each row kept with probability x% (a Bernoulli
    # draw per row, seeded per partition): the same rows again while the table's files and their
    # split into partitions stay the same. (Spark's `n ROWS` is a LIMIT, not a random sample.)
    SAMPLE_METHODS = ("bernoulli",)
    SAMPLE_IS_SEEDED = True
    NAN = "literals"  # CAST('NaN' AS DOUBLE); Spark counts NaN = NaN as true and groups NaNs together

    def describe(self) -> str:
        if self.options.remote:
            url = urlsplit(self.options.remote)
            return f"spark connect at {url.netloc}"
        return f"spark {self.options.master}"

    # -- the session --------------------------------------------------------------------------

    def connect(self) -> "SparkConnection":
        try:
            import pyspark  # noqa: F401  (an optional dependency: say how to get it)
        except ImportError:
            raise self.cannot_connect("pyspark is not installed (pip install 'dsa[spark]')") from None
        if getattr(self, "_spark", None) is None:
            try:
                self._spark = _session(self.options, self.options.connect_timeout_s)
            except Exception as exc:
                raise self.cannot_connect(spark_message(exc)) from None
        conn = SparkConnection(self._spark, self.options.timeout_s)
        self._register_paths(conn)
        return conn

    def _register_paths(self, conn: "SparkConnection") -> None:
        """Each `paths` entry as a temporary view of the session (once per session: a profile connects
        once per table, and reading a CSV's types reads the CSV)."""
        self._path_errors: list[dict[str, str]] = []
        self._path_views: list[tuple[str, PathSpec, str]] = []  # (view, spec, format)
        seen = set()
        for entry in self.options.paths:
            spec = entry if isinstance(entry, PathSpec) else PathSpec(path=entry)
            view = spec.name or _default_name(spec.path)
            if view in seen:
                raise ConfigError(f"source '{self.name}': two paths are both named {view!r}; give one a `name`")
            seen.add(view)
            try:
                fmt = spec.format or _format_of(spec.path)
                done = _VIEWS.setdefault(id(conn.session), {})
                if done.get(view) == (spec.path, fmt):
                    self._path_views.append((view, spec, fmt))
                    continue
                reader = conn.session.read.format(fmt)
                if fmt == "csv":
                    reader = reader.option("header", "true").option("inferSchema", "true")
                base = _base_path(spec.path)
                if base:
                    reader = reader.option("basePath", base)
                conn.run(lambda: reader.load(spec.path).createOrReplaceTempView(quote(view)))
                done[view] = (spec.path, fmt)
                self._path_views.append((view, spec, fmt))
            except Exception as exc:
                self._path_errors.append(self._error(PATHS_SCHEMA, "table", f"{spec.path}: {spark_message(exc)}", view))

    # -- the scan ---------------------------------------------------------------------------

    def extract_raw(self, conn: "SparkConnection", progress=None) -> dict[str, list[dict[str, Any]]]:
        self._read_errors = list(getattr(self, "_path_errors", []))
        schemas, tables = [], []
        databases = [r["namespace"] for r in conn.rows(queries.text("spark/schemas"))]
        if self._path_views and PATHS_SCHEMA in databases:
            raise SourceError(f"source '{self.name}' ({self.describe()}): database {PATHS_SCHEMA!r} has the name "
                              f"dsa gives the views of `paths`; read that database through another source")
        for i, db in enumerate(databases):
            if progress:
                progress(i, len(databases) + 1, db)
            if not self._schema_wanted(db):
                continue
            info = {r["info_name"]: r["info_value"] for r in conn.rows(_format("spark/schema", db))}
            schemas.append({"schema_name": db, "owner": info.get("Owner"), "comment": info.get("Comment") or None,
                            "extra": _compact({"location": info.get("Location"),
                                               "properties": info.get("Properties") or None})})
            for row in conn.rows(_format("spark/tables", db)):
                if row["isTemporary"] or not self.wanted(db, row["tableName"]):
                    continue
                tables.append(_table_row(db, row["tableName"], parse_information(row["information"])))
        if self._path_views:
            schemas.append({"schema_name": PATHS_SCHEMA, "comment": "files registered as temporary views"})
            for view, spec, fmt in self._path_views:
                if self.wanted(PATHS_SCHEMA, view):
                    tables.append({"schema_name": PATHS_SCHEMA, "table_name": view, "table_type": "external",
                                   "extra": {"provider": fmt, "location": spec.path}, "_provider": fmt})
        columns = self._columns(conn, tables)
        return {"schemas": schemas, "tables": tables, "columns": columns}

    def _columns(self, conn: "SparkConnection", tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each table's schema by analysis (no job), a few tables at a time."""
        def one(row):
            try:
                return row, conn.schema(self.profile_relation(row["schema_name"], row["table_name"]))
            except Exception as exc:
                return row, exc

        out = []
        with ThreadPoolExecutor(SCHEMA_THREADS) as pool:
            for row, schema in pool.map(one, tables):
                provider = row.pop("_provider", None)
                partitions = set(row.get("extra", {}).get("partition_columns") or ())
                if isinstance(schema, Exception):
                    self._read_errors.append(self._error(row["schema_name"], "table", spark_message(schema),
                                                         row["table_name"]))
                    continue
                known = row["table_type"] == "view" or provider not in FILE_PROVIDERS
                for pos, field in enumerate(schema.fields, start=1):
                    meta = field.metadata or {}
                    out.append({
                        "schema_name": row["schema_name"], "table_name": row["table_name"],
                        "column_name": field.name, "ordinal_position": pos,
                        "data_type": meta.get("__CHAR_VARCHAR_TYPE_STRING") or field.dataType.simpleString(),
                        "is_nullable": field.nullable if known else None,
                        "column_default": meta.get("CURRENT_DEFAULT"), "comment": meta.get("comment"),
                        "extra": {"partition": True} if field.name in partitions else None})
        return out

    def statement_timeout(self, conn: "SparkConnection", seconds: float) -> None:
        """The profile's time limit: each statement's jobs are interrupted after it."""
        conn.timeout_s = seconds

    def unreadable(self, raw) -> list[dict[str, str]]:
        return self._read_errors

    def profile_relation(self, schema: str, table: str) -> exp.Table:
        """The table as Spark SQL names it: `db`.`table`, or a bare `view` for `paths`."""
        if schema == PATHS_SCHEMA and any(v == table for v, _, _ in getattr(self, "_path_views", [])):
            return exp.table_(table, quoted=True)
        return exp.table_(table, db=schema, quoted=True)

    def _error(self, schema: str, object_type: str, text: str, table: str | None = None) -> dict[str, str]:
        parts = (self.name, schema) if table is None else (self.name, schema, table)
        return {"qualified_name": qualified_name(*parts), "object_type": object_type, "error": scrub(text)}


class SparkConnection:
    """A Spark session behind dsa's connection interface.

    Only reading statements run (`cursor().execute` checks each with sqlglot's Spark parser);
    every action runs under a fresh job tag, interrupted by the source's timeout or by
    `interrupt()` (the profiler's deadline). Closing keeps the session: the connector's later
    connections (one per profiled table) reuse it."""

    def __init__(self, session, timeout_s: float):
        self.session = session
        self.timeout_s = timeout_s
        self._running: set[str] = set()

    def run(self, action):
        """`action()` under a job tag, interrupted after the timeout (`TimeoutError` then)."""
        tag = f"dsa-{uuid.uuid4().hex}"
        fired = threading.Event()

        def expire():
            fired.set()
            self.session.interruptTag(tag)

        timer = threading.Timer(self.timeout_s, expire)
        timer.daemon = True
        self.session.addTag(tag)
        self._running.add(tag)
        timer.start()
        try:
            return action()
        except Exception:
            if fired.is_set():
                raise TimeoutError(f"cancelled after the {self.timeout_s:g} s timeout") from None
            raise
        finally:
            timer.cancel()
            self._running.discard(tag)
            self.session.removeTag(tag)

    def interrupt(self) -> None:
        """Cancel the jobs of the statements running now (called from another thread)."""
        for tag in list(self._running):
            self.session.interruptTag(tag)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        check_read_only(sql)
        return [r.asDict() for r in self.run(lambda: self.session.sql(sql).collect())]

    def schema(self, relation: exp.Table):
        """A table's schema, from analysis only."""
        return self.run(lambda: self.session.table(relation.sql("spark")).schema)

    def cursor(self) -> "SparkCursor":
        return SparkCursor(self)

    def close(self) -> None:
        pass


class SparkCursor:
    """The DB-API subset dsa's shared code uses: execute, fetchall, fetchone, description."""

    def __init__(self, conn: SparkConnection):
        self._conn = conn
        self._rows: list[tuple] = []
        self._df = None

    def execute(self, sql: str, params: Any = None) -> "SparkCursor":
        if params:
            raise ValueError("Spark statements take no parameters: build them with sqlglot")
        check_read_only(sql)

        def collect():
            self._df = self._conn.session.sql(sql)
            return self._df.collect()

        self._rows = [tuple(r) for r in self._conn.run(collect)]
        return self

    @property
    def description(self):
        """Column names of the last result (asked of Spark only when read: one more round trip)."""
        if self._df is None:
            return None
        return [(f.name, None, None, None, None, None, None) for f in self._df.schema.fields]

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def close(self) -> None:
        self._rows = []


READING = (exp.Query, exp.Describe, exp.Show)


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECT, SHOW, DESCRIBE and EXPLAIN (Spark runs a write as soon as it is parsed).

    One SHOW or EXPLAIN statement passes on its first word (sqlglot reads them as commands);
    everything else must parse, with sqlglot's Spark dialect, into reading statements only."""
    tokens = sqlglot.tokenize(sql, read="spark")
    semicolons = sum(t.token_type == sqlglot.TokenType.SEMICOLON for t in tokens[:-1])
    if tokens and not semicolons and tokens[0].text.upper() in ("SHOW", "EXPLAIN"):
        return
    try:
        statements = [s for s in sqlglot.parse(sql, read="spark") if s is not None]
    except sqlglot.errors.ParseError:
        statements = []
    if not statements or not all(isinstance(s, READING) for s in statements):
        raise PermissionError("read-only source: only SELECT, SHOW, DESCRIBE and EXPLAIN statements may run")


# -- sessions ------------------------------------------------------------------------------

_EMBEDDED: dict[tuple, Any] = {}  # the process's embedded session per settings (one JVM per process)
_VIEWS: dict[int, dict[str, tuple[str, str]]] = {}  # id(session) -> view -> (path, format) registered
_LOCK = threading.Lock()


def _session(options: SparkOptions, connect_timeout_s: float):
    """A fresh session for one connector (so it never reads table schemas another session cached
    before a change): a Spark Connect session, or a new session of the process's embedded Spark."""
    conf = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.conf.items()}
    if options.remote:
        return _remote_session(options.remote, options.password, conf, connect_timeout_s)
    key = (options.master, tuple(sorted(conf.items())))
    with _LOCK:
        if key not in _EMBEDDED:
            _EMBEDDED[key] = _embedded_session(options.master, conf)
        return _EMBEDDED[key].newSession()


def _remote_session(remote: str, token: str | None, conf: dict[str, str], connect_timeout_s: float):
    """A Spark Connect session; reaching the server is bounded by the connect timeout."""
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession

    url = remote.rstrip("/") + (f"/;token={token}" if token else "")
    session = SparkSession.builder.remote(url).config(map=conf).create()
    policies = session.client.get_retry_policies()
    session.client.set_retry_policies([DefaultPolicy(max_retries=3, initial_backoff=200, max_backoff=2000)])
    probe: dict[str, Any] = {}

    def reach():
        try:
            probe["version"] = session.version
        except Exception as exc:
            probe["error"] = exc

    thread = threading.Thread(target=reach, daemon=True)
    thread.start()
    thread.join(connect_timeout_s)
    if "version" not in probe:
        detail = spark_message(probe["error"]) if "error" in probe else f"no answer within {connect_timeout_s:g} s"
        raise ConnectionError(detail)
    session.client.set_retry_policies(policies)
    atexit.register(_stop, session)
    return session


def _embedded_session(master: str, conf: dict[str, str]):
    """An embedded (classic) session: starts a JVM, so Java must be there."""
    if not java_found():
        raise RuntimeError("Java not found (install a JDK 17 or newer, or set JAVA_HOME)")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).config("spark.api.mode", "classic")
    return builder.config(map={**QUIET_CONF, **conf}).getOrCreate()


def java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home:
        return (Path(home) / "bin" / "java").exists()
    return shutil.which("java") is not None


def _stop(session) -> None:
    try:
        session.stop()
    except Exception:  # the server may be gone already; nothing to release then
        pass


# -- reading Spark's answers -----------------------------------------------------------------

_KNOWN_KEYS = ("Catalog", "Database", "Table", "Owner", "Created Time", "Last Access", "Created By", "Type",
               "Provider", "Comment", "Table Properties", "Statistics", "Location", "Serde Library",
               "InputFormat", "OutputFormat", "Storage Properties", "Partition Provider", "Partition Columns",
               "Bucket Columns", "Sort Columns", "Num Buckets", "Clustering Columns", "View Text",
               "View Original Text", "View Schema Mode", "View Catalog and Namespace",
               "View Query Output Columns", "Collation", "Schema")
_KEY_LINE = re.compile(r"^(%s): ?(.*)$" % "|".join(re.escape(k) for k in _KNOWN_KEYS))


def parse_information(text: str) -> dict[str, str]:
    """`SHOW TABLE EXTENDED`'s `information` text as key -> value (multi-line values kept)."""
    out: dict[str, str] = {}
    key = None
    for line in (text or "").splitlines():
        m = _KEY_LINE.match(line)
        if m and m[1] == "Schema":
            break
        if m:
            key = m[1]
            out[key] = m[2]
        elif key in ("View Text", "View Original Text", "Comment"):
            out[key] += "\n" + line
    return out


def _table_row(db: str, table: str, info: dict[str, str]) -> dict[str, Any]:
    kind = (info.get("Type") or "").upper()
    provider = (info.get("Provider") or ("view" if kind == "VIEW" else "")).lower() or None
    size, rows = _statistics(info.get("Statistics"))
    extra = _compact({
        "provider": provider, "location": info.get("Location"), "created": info.get("Created Time"),
        "created_by": info.get("Created By"), "partition_columns": _backticked(info.get("Partition Columns")),
        "bucket_columns": _backticked(info.get("Bucket Columns")),
        "properties": _properties(info.get("Table Properties")),
        "storage_properties": _properties(info.get("Storage Properties"))})
    return {"schema_name": db, "table_name": table,
            "table_type": {"VIEW": "view", "EXTERNAL": "external"}.get(kind, "table"),
            "owner": info.get("Owner"), "comment": info.get("Comment"), "row_estimate": rows, "size_bytes": size,
            "view_definition": info.get("View Text") if kind == "VIEW" else None, "extra": extra,
            "_provider": provider}


def _backticked(text: str | None) -> list[str] | None:
    """[`a`, `b c`] -> ['a', 'b c']."""
    if not text:
        return None
    return [m.replace("``", "`") for m in re.findall(r"`((?:[^`]|``)*)`", text)] or None


def _properties(text: str | None) -> dict[str, str] | None:
    """[k=v, k2=v2] -> {k: v, k2: v2}."""
    text = (text or "").strip()
    if not (text.startswith("[") and text.endswith("]")) or len(text) == 2:
        return None
    pairs = [p.split("=", 1) for p in re.split(r", (?=[^,=]+=)", text[1:-1])]
    return {p[0]: p[1] if len(p) > 1 else "" for p in pairs}


def _statistics(text: str | None) -> tuple[int | None, int | None]:
    """'123 bytes, 4 rows' -> (123, 4)."""
    size = re.search(r"(\d+) bytes", text or "")
    rows = re.search(r"(\d+) rows", text or "")
    return int(size[1]) if size else None, int(rows[1]) if rows else None


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("spark")


def _format(query: str, schema: str) -> str:
    """A catalog statement of `queries/spark/` with the database's name quoted in."""
    return queries.text(query).format(schema=quote(schema))


def _format_of(path: str) -> str:
    """parquet, csv or json: by the path's extension, else by the first data file inside the folder."""
    stem = path.rstrip("/")
    for suffix in reversed(Path(stem).suffixes):
        if suffix.lower() in FORMATS:
            return FORMATS[suffix.lower()]
    folder = Path(_base_path(path) or path).expanduser()
    if folder.is_dir():
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for f in sorted(files):
                fmt = FORMATS.get(Path(f).suffix.lower())
                if fmt and not f.startswith((".", "_")):
                    return fmt
    raise ValueError("cannot tell its format (parquet, csv or json): give `format`")


def _base_path(path: str) -> str | None:
    """The folder above a glob's first wildcard (so partitions below it become columns)."""
    if not GLOB_CHARS & set(path):
        return None
    head = re.split(r"[*?\[{]", path, maxsplit=1)[0]
    return head if head.endswith("/") else os.path.dirname(head) or None


def _default_name(path: str) -> str:
    parts = [p for p in path.rstrip("/").split("/") if p and not GLOB_CHARS & set(p)]
    name = parts[-1] if parts else "data"
    for suffix in FORMATS:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def spark_message(exc: BaseException) -> str:
    """A Spark or gRPC error as one scrubbed line, without the JVM stack trace."""
    text = str(exc).split("JVM stacktrace:")[0]
    details = re.search(r'details = "([^"]*)"', text)
    if details:
        text = details[1]
    return scrub(one_line(text)) or exc.__class__.__name__
