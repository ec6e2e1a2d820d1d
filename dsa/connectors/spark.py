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
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlglot
from pydantic import Field, model_validator
from sqlglot import exp

from dsa import profile, queries, sampling
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
    dialect = "spark"
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
        # pyspark's own notices (pandas versions, retries given up) are no error of the user's: the
        # one line dsa prints says what failed
        warnings.filterwarnings("ignore", message=r"PySpark does not yet fully support")
        warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")
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

    def sample_source(self, rel: exp.Expression, percent: float | None, rows: int | None,
                      large: bool) -> tuple[exp.Expression, str]:
        """`SELECT * FROM rel TABLESAMPLE (x PERCENT) REPEATABLE (42)` as `src`, or the whole table.

        sqlglot's spark dialect writes a sample's seed as `SEED (42)`, which Spark rejects; the
        clause is therefore written here, as Spark SQL spells it, from numbers only."""
        if percent is None:
            return sampling.whole(rel), "full"
        inner = exp.select("*").from_(rel.copy())
        inner.args["from_"].this.set("sample", exp.var(
            f" TABLESAMPLE ({_decimal(percent)} PERCENT) REPEATABLE ({int(sampling.SEED)})"))
        return inner.subquery(profile.SRC), "bernoulli"

    def profile_statements(self, specs: list, source: exp.Expression, top_k: int, now: datetime) -> list[str]:
        """One statement for the table (`profile_sql`); a table of very many columns in a few."""
        columns = [j for j, spec in enumerate(specs) if spec.groupable]
        return [profile_sql(specs, source, top_k, now, columns[k:k + MOST_COLUMNS], self)
                for k in range(0, len(columns), MOST_COLUMNS)]

    def profile_rows(self, rows: list[tuple], specs: list) -> list[tuple]:
        return profile_rows(rows, specs)

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



# -- profiling: one statement per table -------------------------------------------------------
# Each column is grouped on its own (`SELECT v, COUNT(*) n ... GROUP BY v`: one narrow scan of
# that column, which Parquet reads alone) and every part of its profile reads those grouped
# rows: the statistics (one aggregate, the shared measures of `dsa.profile`), the top values (a
# top-K of the groups), for numbers the quartiles and histogram (one window pass over the groups
# in value order), for dates the months. The parts of every column are one UNION ALL: one
# statement, one job per table. The parts of a column read the same grouping, so Spark plans its
# shuffle once and reuses it (no part may filter the grouped rows: Spark would push the filter
# below the grouping, which would then be another one). Exact: the distinct count is the number
# of groups, never count(DISTINCT) or an approximation. (Before: one GROUPING SETS aggregate of
# every column, which expands each row once per column: 3x slower on TPC-H lineitem.)
MOST_COLUMNS = 32  # columns per statement: a wider table is profiled in a few statements
TEXTS = 3  # text columns of the result rows: t0..t2
_BY_SPEC = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")


def _fixed(sql: str) -> exp.Expression:
    """A fixed fragment of the profile statement: only dsa's own names, never a user's."""
    return sqlglot.parse_one(sql, read="spark")


def _col(name: str) -> exp.Column:
    return exp.column(name)


def _cast(e: exp.Expression, to: str) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build(to, dialect="spark"))


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.Null())


def _case(when: exp.Expression, then: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=when, true=then)])


def shown(value: exp.Expression, family: str) -> exp.Expression:
    """A value as dsa shows it: Spark's text of it, binary as hex (`hex`: a stable form, where its
    own text would be the raw bytes), up to 201 characters."""
    text = exp.Hex(this=value) if family == "binary" else _cast(value, "STRING")
    return exp.Substring(this=text, start=exp.Literal.number(1), length=exp.Literal.number(profile.DISPLAY_CHARS + 1))


def _part(kind: str, j: int, source: exp.Expression, pos: exp.Expression | None = None,
          texts: list = (), measures: list = (), where: exp.Expression | None = None,
          group: exp.Expression | None = None) -> exp.Select:
    """One part of the statement's UNION ALL: kind, col, pos, t0..t2 (text), m0.. (numbers)."""
    cols = [exp.Literal.string(kind).as_("kind"), _cast(exp.Literal.number(j), "INT").as_("col"),
            _cast(pos if pos is not None else exp.Null(), "BIGINT").as_("pos")]
    cols += [_cast(texts[k] if k < len(texts) and texts[k] is not None else exp.Null(), "STRING").as_(f"t{k}")
             for k in range(TEXTS)]
    cols += [_cast(measures[k] if k < len(measures) and measures[k] is not None else exp.Null(), "DOUBLE").as_(f"m{k}")
             for k in range(len(profile.MEASURES))]
    select = exp.select(*cols).from_(source)
    if where is not None:
        select = select.where(where)
    return select if group is None else select.group_by(group)


def _finite(v: exp.Expression, family: str) -> exp.Expression:
    present = exp.not_(_is_null(v.copy()))
    if family != "float":
        return present
    return exp.and_(present, exp.not_(exp.Anonymous(this="ISNAN", expressions=[v.copy()])),
                    exp.not_(exp.In(this=v.copy(), expressions=[_fixed("CAST('Infinity' AS DOUBLE)"),
                                                                 _fixed("CAST('-Infinity' AS DOUBLE)")])))


def column_parts(j: int, spec, source: exp.Expression, top_k: int, now: datetime, engine: Connector) -> list[exp.Select]:
    """The parts of column j's profile, each reading the column's grouped rows (`v{j}`, `n`, `len`)."""
    v = _col(f"v{j}")
    key = exp.column(spec.name, table=profile.SRC, quoted=True)
    grouping = exp.select(key.as_(f"v{j}"), _fixed("COUNT(*)").as_("n")).from_(source.copy()).group_by(key.copy())
    if spec.family in profile.TEXT:
        grouping = grouping.select(exp.Length(this=key.copy()).as_("len"))

    def grouped() -> exp.Expression:
        return grouping.subquery("g")

    measures = profile._stat_measures(j, spec, engine, now)
    texts = []
    if not spec.masked and spec.family != "boolean" and spec.ordered:  # a boolean's ends come from its counts
        value = v.copy()
        if spec.family == "float":  # NaN is no minimum or maximum
            value = _case(exp.not_(exp.Anonymous(this="ISNAN", expressions=[v.copy()])), value)
        texts = [shown(exp.Min(this=value), spec.family), shown(exp.Max(this=value.copy()), spec.family)]
    parts = [_part("stats", j, grouped(), texts=texts, measures=[measures.get(m) for m in profile.MEASURES])]

    if top_k > 0:  # count descending, then the value ascending; the NULL group sorts last and is dropped after
        order = [exp.Ordered(this=_is_null(v.copy())), exp.Ordered(this=_col("n"), desc=True)]
        order += [exp.Ordered(this=v.copy(), nulls_first=True)] if spec.ordered else []
        top = exp.select(v.copy(), _col("n")).from_(grouped()).order_by(*[o.copy() for o in order]).limit(top_k)
        ranked = exp.select("*", exp.Window(this=exp.RowNumber(), order=exp.Order(
            expressions=[o.copy() for o in order])).as_("r")).from_(top.subquery("t"))
        parts.append(_part("top", j, ranked.subquery("t"), _col("r"),
                           [None if spec.masked else shown(v.copy(), spec.family)], [_col("n")],
                           where=exp.not_(_is_null(v.copy()))))

    if spec.family in profile.NUMERIC:
        # exact quartiles: the running count of the finite values in their order (non-finite ones
        # sort last and count nowhere); the histogram's bins from their range
        x = _case(_finite(v, spec.family), _cast(v.copy(), "DOUBLE"))
        finite = exp.select(v.copy(), _col("n"), x.as_("x")).from_(grouped())
        order = [exp.Ordered(this=_is_null(_col("x")))]
        order.append(exp.Ordered(this=v.copy(), nulls_first=True) if spec.ordered else exp.Ordered(this=_col("x")))
        counted = _fixed("SUM(CASE WHEN x IS NOT NULL THEN n END)")
        running = exp.select(
            "*", exp.Window(this=counted, order=exp.Order(expressions=order), spec=_BY_SPEC.copy()).as_("cum"),
            exp.Window(this=counted.copy()).as_("tot"), exp.Window(this=_fixed("MIN(x)")).as_("lo"),
            exp.Window(this=_fixed("MAX(x)")).as_("hi")).from_(finite.subquery("f"))
        bins = profile.HIST_BINS
        binned = exp.select("*", _fixed(f"CASE WHEN x IS NULL THEN NULL WHEN hi = lo THEN 0 "
                                        f"ELSE LEAST(FLOOR((x - lo) * {bins} / (hi - lo)), {bins - 1}) END").as_("b")
                            ).from_(running.subquery("w"))
        texts, values = [], []
        for p in (0.25, 0.5, 0.75):  # the value where the running count reaches p of the total
            hit = _fixed(f"x IS NOT NULL AND cum >= {p} * tot AND cum - n < {p} * tot")
            texts.append(None if spec.masked else exp.Max(this=_case(hit.copy(), shown(v.copy(), spec.family))))
            values.append(exp.Max(this=_case(hit, _col("x"))))
        parts.append(_part("bin", j, binned.subquery("b"), _col("b"), texts,
                           [_fixed("SUM(n)"), _fixed("MIN(lo)"), _fixed("MAX(hi)"), *values], group=_col("b")))

    if spec.family in profile.DATES and not spec.masked:  # counts per month (the NULL group's month is NULL)
        month = exp.Substring(this=_cast(v.copy(), "STRING"), start=exp.Literal.number(1), length=exp.Literal.number(7))
        per = exp.select(month.as_("p"), _fixed("SUM(n)").as_("c")).from_(grouped()).group_by(month.copy())
        parts.append(_part("period", j, per.subquery("d"), texts=[_col("p")], measures=[_col("c")]))
    return parts


def profile_sql(specs: list, source: exp.Expression, top_k: int, now: datetime, only: list[int], engine: Connector) -> str:
    """The statement profiling the columns `only` (indexes into `specs`) of `source`."""
    parts = [p for j in only for p in column_parts(j, specs[j], source, top_k, now, engine)]
    body = parts[0]
    for p in parts[1:]:
        body = exp.union(body, p, distinct=False, copy=False)
    return body.sql("spark")


def profile_rows(rows: list[tuple], specs: list) -> list[tuple]:
    """The rows of `profile_sql` as `dsa.profile.parse_result` reads them."""
    out: list[tuple] = []
    blank = [None] * len(profile.MEASURES)
    for kind, j, pos, t0, t1, t2, *ms in rows:
        if kind == "stats":
            out.append(("stats", j, None, t0, t1, *ms))
        elif kind == "top":
            out.append(("top", j, pos, t0, None, ms[0], *blank[1:]))
        elif kind == "period" and t0 is not None:
            out.append(("period", j, None, t0, None, ms[0], *blank[1:]))
        elif kind == "bin" and pos is not None:  # a bin, and the quartiles falling in it
            out.append(("hist", j, pos, None, None, ms[0], ms[1], ms[2], *blank[3:]))
            for k, text in enumerate((t0, t1, t2)):
                if ms[3 + k] is not None:
                    out.append(("quartile", j, None, text, None, ms[3 + k], *[int(k == f) for f in range(3)], *blank[4:]))
    return out


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
    """Release a Spark Connect session at exit: one try (a server already gone would otherwise be
    retried for minutes, holding the process)."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    try:
        session.client.set_retry_policies([DefaultPolicy(max_retries=0)])
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


def _decimal(x: float) -> str:
    """A number as a plain decimal (no exponent), to six places: 0.00001 -> '0.00001'."""
    return f"{float(x):.6f}".rstrip("0").rstrip(".") or "0"


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
