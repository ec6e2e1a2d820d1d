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
        batches: list[list[int]] = [[]]
        sets = 0
        for j, spec in enumerate(specs):
            if not spec.groupable:
                continue
            need = 2 if spec.family in profile.DATES else 1
            if batches[-1] and sets + need > MOST_SETS:
                batches.append([])
                sets = 0
            batches[-1].append(j)
            sets += need
        return [profile_sql(specs, source, top_k, now, b, lambda text: self.regex_match(text, exp.Literal.string(
            profile.NUMBER_LIKE))) for b in batches if b]

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
# The shared profile SQL (a `GROUP BY` per column, each read again by its statistics, top values
# and quartiles) becomes dozens of Spark stages and a plan Spark is slow to optimise: a small
# table took a minute. Here one `GROUPING SETS` aggregate groups every column (and each date
# column's months) in one pass over the table; one window pass over those grouped rows ranks the
# top values and accumulates the counts for quartiles; one aggregate per column reads every
# measure from them. Three stages whatever the number of columns; only aggregates and the top
# values reach the driver.
MOST_SETS = 48  # grouping sets per statement (Spark's grouping id has 64 bits); more: another statement
_FINITE = "x IS NOT NULL AND NOT ISNAN(x) AND x NOT IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))"
# the measures of one column from its grouped rows (v, n) and their derived columns (x: number,
# s: text, fut/old: date checks, bl: boolean), in `dsa.profile.MEASURES` order; None: built below
_MEASURES = (
    "SUM(n)", "SUM(CASE WHEN NOT has THEN n END)", "COUNT(CASE WHEN has THEN 1 END)",
    "SUM(CASE WHEN fin THEN n END)", "SUM(CASE WHEN fin THEN x * n END)", "SUM(CASE WHEN fin THEN x * x * n END)",
    "SUM(CASE WHEN x = 0 THEN n END)", "SUM(CASE WHEN x < 0 THEN n END)", "SUM(CASE WHEN ISNAN(x) THEN n END)",
    "SUM(CASE WHEN x IN (CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE)) THEN n END)",
    "MIN(LENGTH(s))", "MAX(LENGTH(s))", "SUM(LENGTH(s) * n)", "SUM(CASE WHEN LENGTH(s) = 0 THEN n END)",
    "SUM(CASE WHEN LENGTH(s) > 0 AND LENGTH(TRIM(s)) = 0 THEN n END)", None,
    "SUM(CASE WHEN fut THEN n END)", "SUM(CASE WHEN old THEN n END)",
    "SUM(CASE WHEN bl THEN n END)", "SUM(CASE WHEN NOT bl THEN n END)",
)
_QUARTILES = (("q1", 0.25), ("median", 0.5), ("q3", 0.75))


# the measures only some families have (the others are always there)
_FAMILIES_OF = {"finite": profile.NUMERIC, "sum": profile.NUMERIC, "sumsq": profile.NUMERIC, "zeros": profile.NUMERIC,
                "negatives": profile.NUMERIC, "nans": {"float"}, "infinities": {"float"}, "future": profile.DATES,
                "invalid": profile.DATES, "trues": {"boolean"}, "falses": {"boolean"}}


def _needed(measure: str, families: set[str]) -> bool:
    wanted = _FAMILIES_OF.get(measure, profile.TEXT if measure.endswith("length") or measure in (
        "empty", "whitespace", "numeric_text") else None)
    return wanted is None or bool(wanted & families)


def _fixed(sql: str) -> exp.Expression:
    """A fixed fragment of the profile statement: only dsa's own names, never a user's."""
    return sqlglot.parse_one(sql, read="spark")


def _col(name: str) -> exp.Column:
    return exp.column(name)


def _cast(e: exp.Expression, to: str) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build(to, dialect="spark"))


def _first(parts: list[exp.Expression], empty: str = "STRING") -> exp.Expression:
    """The one non-NULL of `parts` (each grouped row holds one column's value, the others NULL);
    a NULL of type `empty` when there are none."""
    if not parts:
        return _cast(exp.Null(), empty)
    return parts[0] if len(parts) == 1 else exp.Coalesce(this=parts[0], expressions=parts[1:])


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.not_(exp.Is(this=e, expression=exp.Null()))


def shown(value: exp.Expression, family: str) -> exp.Expression:
    """A value as dsa shows it: Spark's text of it, binary as hex (`hex`: a stable form, where its
    own text would be the raw bytes), up to 201 characters."""
    text = exp.Hex(this=value) if family == "binary" else _cast(value, "STRING")
    return exp.Substring(this=text, start=exp.Literal.number(1), length=exp.Literal.number(profile.DISPLAY_CHARS + 1))


def profile_sql(specs: list, source: exp.Expression, top_k: int, now: datetime, only: list[int],
                number_like) -> str:
    """The statement profiling the columns `only` (indexes into `specs`) of `source`: one row per
    column `i` (its measures a0.., shown min and max, top values, quartiles and histogram bins) and,
    for each date column j, one row `i = -1 - j` with its months. `number_like(text)` is the
    engine's test for numbers written as text."""
    family = {j: specs[j].family for j in only}
    months = [j for j in only if family[j] in profile.DATES and not specs[j].masked]
    keys = [exp.column(specs[j].name, table=profile.SRC, quoted=True) for j in only]
    keys += [exp.Substring(this=_cast(exp.column(specs[j].name, table=profile.SRC, quoted=True), "STRING"),
                           start=exp.Literal.number(1), length=exp.Literal.number(7)) for j in months]
    names = [f"v{j}" for j in only] + [f"m{j}" for j in months]
    ids = list(only) + [-1 - j for j in months]
    which = exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.Grouping(expressions=[k.copy()]), expression=exp.Literal.number(0)),
                                 true=exp.Literal.number(i)) for k, i in zip(keys, ids)])
    grouped = (exp.select(which.as_("i"), *[k.copy().as_(n) for k, n in zip(keys, names)], _fixed("COUNT(*)").as_("n"))
               .from_(source.copy())
               .group_by(exp.GroupingSets(expressions=[exp.Paren(this=k.copy()) for k in keys])))

    v = {j: _col(f"v{j}") for j in only}
    numeric = [j for j in only if family[j] in profile.NUMERIC]
    dates = [j for j in only if family[j] in profile.DATES]

    def cutoff(j):
        return now.strftime("%Y-%m-%d") if family[j] == "date" else now.strftime("%Y-%m-%d %H:%M:%S")

    derived = exp.select(
        "*",
        exp.paren(exp.or_(*[_not_null(_col(n)) for n in names])).as_("has"),
        _first([_cast(v[j].copy(), "DOUBLE") for j in numeric], "DOUBLE").as_("x"),
        _first([_cast(v[j].copy(), "STRING") for j in only if family[j] in profile.TEXT]).as_("s"),
        _first([exp.GT(this=v[j].copy(), expression=exp.Literal.string(cutoff(j))) for j in dates], "BOOLEAN").as_("fut"),
        _first([exp.LT(this=v[j].copy(), expression=exp.Literal.string(profile.OLDEST_VALID)) for j in dates],
               "BOOLEAN").as_("old"),
        _first([v[j].copy() for j in only if family[j] == "boolean"], "BOOLEAN").as_("bl"),
        _first([_col(f"m{j}") for j in months]).as_("month"),
    ).from_(grouped.subquery("p"))
    derived = exp.select("*", _fixed(_FINITE).as_("fin")).from_(derived.subquery("d"))

    # the top values: count descending, then the value ascending (Spark's order of the type)
    by_count = [exp.Ordered(this=_col("has"), desc=True), exp.Ordered(this=_col("n"), desc=True)]
    by_count += [exp.Ordered(this=v[j].copy(), nulls_first=True) for j in only if specs[j].ordered]
    windows = [exp.Window(this=exp.RowNumber(), partition_by=[_col("i")], order=exp.Order(expressions=by_count)).as_("r")]
    if numeric:  # the running count of the finite values in their order (exact quartiles), and their range
        by_value = [exp.Ordered(this=_col("fin"), desc=True)]
        by_value += [exp.Ordered(this=v[j].copy(), nulls_first=True) for j in numeric if specs[j].ordered]
        windows.append(exp.Window(this=exp.Sum(this=_col("n")), partition_by=[_col("i")], order=exp.Order(expressions=by_value),
                                  spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                                                      end="CURRENT ROW")).as_("cum"))
        for name, agg in (("tot", "SUM(CASE WHEN fin THEN n END)"), ("lo", "MIN(CASE WHEN fin THEN x END)"),
                          ("hi", "MAX(CASE WHEN fin THEN x END)")):
            windows.append(exp.Window(this=_fixed(agg), partition_by=[_col("i")]).as_(name))
    ranked = exp.select("*", *windows).from_(derived.subquery("f"))
    if numeric:  # each finite value's histogram bin
        bins = profile.HIST_BINS
        ranked = exp.select("*", _fixed(f"CASE WHEN fin THEN CASE WHEN hi = lo THEN 0 ELSE LEAST(FLOOR((x - lo) * {bins} "
                                        f"/ (hi - lo)), {bins - 1}) END END").as_("b")).from_(ranked.subquery("r"))

    out: list[exp.Expression] = [_col("i")]
    families = set(family.values())
    for k, m in enumerate(_MEASURES):
        if not _needed(profile.MEASURES[k], families):
            m = _cast(exp.Null(), "BIGINT")
        elif m is None:
            m = exp.Sum(this=exp.Case(ifs=[exp.If(this=number_like(exp.Trim(this=_col("s"))), true=_col("n"))]))
        else:
            m = _fixed(m)
        out.append(m.as_(f"a{k}"))
    ends = []  # min and max of each column that shows them (a float's NaN is no minimum or maximum)
    for j in only:
        spec = specs[j]
        if spec.masked or not spec.ordered or spec.family == "boolean":
            continue
        value = v[j].copy()
        if spec.family == "float":
            value = exp.Case(ifs=[exp.If(this=exp.not_(exp.Anonymous(this="ISNAN", expressions=[v[j].copy()])),
                                         true=value)])
        ends.append((exp.Min(this=value), exp.Max(this=value.copy()), spec.family))
    out.append(_first([shown(lo, f) for lo, _, f in ends]).as_("lo_text"))
    out.append(_first([shown(hi, f) for _, hi, f in ends]).as_("hi_text"))
    value_text = _first([shown(v[j].copy(), family[j]) for j in only if not specs[j].masked])
    top = exp.Case(ifs=[exp.If(this=exp.and_(_col("has"), exp.LTE(this=_col("r"), expression=exp.Literal.number(top_k))),
                               true=exp.Struct(expressions=[_col("r"), value_text, _col("n")]))])
    out.append(exp.Anonymous(this="COLLECT_LIST", expressions=[top]).as_("top"))
    out.append(_fixed("COLLECT_LIST(CASE WHEN month IS NOT NULL THEN STRUCT(month, n) END)").as_("months"))
    if numeric:
        out += [_fixed(f"MIN(CASE WHEN fin AND cum >= {p} * tot THEN x END)").as_(name) for name, p in _QUARTILES]
        out += [_fixed("MIN(lo)").as_("lo"), _fixed("MAX(hi)").as_("hi")]
        out += [_fixed(f"SUM(CASE WHEN b = {b} THEN n END)").as_(f"h{b}") for b in range(profile.HIST_BINS)]
    return exp.select(*out).from_(ranked.subquery("w")).group_by(_col("i")).sql(SparkConnector.dialect)


_NAMES = ("i", *[f"a{k}" for k in range(len(profile.MEASURES))], "lo_text", "hi_text", "top", "months",
          *[name for name, _ in _QUARTILES], "lo", "hi", *[f"h{b}" for b in range(profile.HIST_BINS)])


def profile_rows(rows: list[tuple], specs: list) -> list[tuple]:
    """The rows of `profile_sql` as `dsa.profile.parse_result` reads them."""
    out: list[tuple] = []
    blank = [None] * len(profile.MEASURES)
    for values in rows:
        row = dict(zip(_NAMES, values))  # a statement without number columns ends at `months`
        i = int(row["i"])
        if i < 0:
            out += [("period", -1 - i, None, m["month"], None, m["n"], *blank[1:]) for m in row["months"]]
            continue
        out.append(("stats", i, None, row["lo_text"], row["hi_text"],
                    *[row[f"a{k}"] for k in range(len(profile.MEASURES))]))
        out += [("top", i, t[0], t[1], None, t[2], *blank[1:]) for t in row["top"]]
        if specs[i].family in profile.NUMERIC and row.get("q1") is not None:
            for k, (name, _) in enumerate(_QUARTILES):
                flags = [int(k == f) for f in range(3)]
                out.append(("quartile", i, None, None, None, row[name], *flags, *blank[4:]))
            for b in range(profile.HIST_BINS):
                if row[f"h{b}"]:
                    out.append(("hist", i, b, None, None, row[f"h{b}"], row["lo"], row["hi"], *blank[3:]))
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
