"""The quality run: profile every table of a source's newest scan into a new immutable run.

Per table, in the source engine: an exact `count(*)` when sampling may apply, the one profile
statement of `dsa.profile` (plus a plain aggregate for columns that cannot be grouped), and one
anti-join per foreign key counting orphaned values. Tables run in parallel (`quality.workers`),
each on its own read-only connection with a deadline (`quality.timeout_s`): the engine's
statement timeout where it has one, and an interrupt of the connection when the deadline
passes. A failing or timed-out table is recorded and the run ends `partial`; Ctrl-C interrupts
the running statements and keeps every table that finished.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Any, Callable

import polars as pl
from sqlglot import exp

from dsa import model, profile, score
from dsa.catalog import latest_run
from dsa.config import Config, QualityOptions
from dsa.connectors import open_source
from dsa.errors import ConfigError, NotFound, one_line, scrub
from dsa.names import qualified_name
from dsa.store import Store

AUTO_SAMPLE_ROWS = 1_000_000  # without --sample: full scan below this many rows, a sample of this size above
SEED = 42
PROFILED_TYPES = ("table", "partitioned_table", "materialized_view", "foreign_table", "external")
SENSITIVE = re.compile(
    r"pass(word|wd)?|pwd|secret|ssn|social_sec|e_?mail|token|api_?key|credit_?card|card_?num|cvv|iban|phone|salary|birth",
    re.IGNORECASE,
)

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Sample:
    """What the user asked for: a percentage, a row count, or None (automatic)."""

    percent: float | None = None
    rows: int | None = None

    def describe(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        if self.rows is not None:
            return f"{self.rows} rows"
        return "auto"


def parse_sample(value: str | int | None, where: str = "--sample") -> Sample:
    if value is None or value == "":
        return Sample()
    text = str(value).strip().replace("_", "").replace(",", "")
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 < pct <= 100:
                raise ValueError
            return Sample(percent=pct)
        rows = int(text)
        if rows <= 0:
            raise ValueError
        return Sample(rows=rows)
    except ValueError:
        raise ConfigError(f"{where}: give a percentage like 10% (0-100] or a positive row count (got {value!r})") from None


class TableTimeout(Exception):
    pass


@dataclass
class TableTask:
    schema: str
    table: str
    qualified_name: str
    size_bytes: int | None
    row_estimate: int | None
    columns: list[dict[str, Any]]
    foreign_keys: list[dict[str, Any]]


@dataclass
class TableResult:
    table: dict[str, Any]
    columns: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)
    hist: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class QualityResult:
    run_id: str
    connection: str
    status: str
    table_count: int
    failed: list[dict[str, Any]]
    seconds: float
    rows: int
    quality_score: float | None
    worst_columns: list[dict[str, Any]]

    def summary(self) -> str:
        text = f"{self.connection}: {self.status}, {self.table_count} tables profiled ({self.rows:,} rows) in {self.seconds:.2f}s"
        if self.quality_score is not None:
            text += f", score {self.quality_score:.1f}"
        if self.failed:
            text += f", {len(self.failed)} tables failed"
        return text


# -- engine plumbing --------------------------------------------------------------------------

class Deadline:
    """Interrupts the table's running statements when its time is up or on Ctrl-C."""

    def __init__(self, conn, dialect: str, seconds: float, kill: Callable[[], None] | None = None):
        self.conns, self.dialect, self.kill = [conn], dialect, kill
        self.fired = False
        self.cancelled = False
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed = True
        self._timer.cancel()

    _closed = False

    def fire(self, cancelled: bool = False) -> None:
        self.fired = True
        self.cancelled = self.cancelled or cancelled
        if not self._closed:  # again shortly, in case a statement started just after this interrupt
            self._timer = threading.Timer(0.5, self.fire)
            self._timer.daemon = True
            self._timer.start()
        try:
            if self.kill is not None:
                self.kill()
                return
            for conn in list(self.conns):
                _interrupt(conn)
        except Exception:  # the statement may have finished meanwhile
            pass


def _interrupt(conn) -> None:
    for name in ("interrupt", "cancel_safe", "cancel"):
        method = getattr(conn, name, None)
        if callable(method):
            method()
            return


def _limit_memory(conn, dialect: str, options: QualityOptions) -> None:
    """DuckDB runs in our process: cap it (per database), so big groupings spill to disk instead."""
    if dialect != "duckdb":
        return
    # the duckdb connector's guarded connection runs only SELECTs; this setting is ours to make
    conn = getattr(conn, "_con", conn)
    try:
        conn.execute(f"SET memory_limit = '{int(options.duckdb_memory_limit_mb)}MB'")
        import tempfile

        # spill to the system's temp folder, never to `.tmp` in the user's working directory
        # (a literal, not a bound parameter: binding one makes duckdb import pandas, ~0.4 s)
        folder = exp.Literal.string(tempfile.gettempdir() + "/dsa_duckdb_spill").sql(dialect="duckdb")
        conn.execute(f"SET temp_directory = {folder}")
    except Exception:  # a connector may forbid changing settings; profiling still works
        pass


def _set_statement_timeout(conn, dialect: str, seconds: float, options: QualityOptions | None = None) -> None:
    """The engine's own statement timeout, where it has one (a second line of defence)."""
    cur = conn.cursor()
    try:
        if dialect == "postgres":
            cur.execute(f"SELECT set_config('statement_timeout', '{int(seconds * 1000)}', false)")
            cur.fetchall()
            if options is not None:
                cur.execute(f"SELECT set_config('work_mem', '{int(options.postgres_work_mem_mb)}MB', false)")
                cur.fetchall()
                # the statement has hundreds of small expressions over few grouped rows; its row
                # estimates on a big table trigger JIT, which then spends seconds compiling them
                cur.execute("SELECT set_config('jit', 'off', false) FROM pg_settings WHERE name = 'jit'")
                cur.fetchall()
        elif dialect == "mysql":
            try:
                cur.execute(f"SET SESSION max_statement_time = {float(seconds)}")  # MariaDB
            except Exception:
                cur.execute(f"SET SESSION max_execution_time = {int(seconds * 1000)}")  # MySQL
    except Exception:
        _rollback(conn)
    finally:
        cur.close()


def _rollback(conn) -> None:
    try:
        conn.rollback()
    except Exception:
        pass


def _query(conn, sql: str, deadline: Deadline) -> list[tuple]:
    # run on the connection itself where it can execute: a DuckDB cursor is a separate
    # connection that the connection's interrupt() would not reach
    if deadline.fired:  # the interrupt may have come between two statements
        raise TableTimeout()
    own_cursor = not callable(getattr(conn, "execute", None))
    cur = conn.cursor() if own_cursor else None
    try:
        if own_cursor:
            cur.execute(sql)
        else:
            cur = conn.execute(sql)
        return cur.fetchall()
    except Exception:
        _rollback(conn)
        if deadline.fired:
            raise TableTimeout() from None
        raise
    finally:
        if own_cursor and cur is not None:
            try:
                cur.close()
            except Exception:
                pass


def _execute(conn, sql: str) -> None:
    cur = conn.cursor()
    try:
        cur.execute(sql)
    finally:
        cur.close()


def _begin_snapshot(conn) -> None:
    """Postgres: a read-only REPEATABLE READ transaction on `conn`, unless one is open, so that the
    table's statements (row count, profile, foreign-key checks) all read one snapshot."""
    from psycopg import pq

    status = conn.info.transaction_status
    if status == pq.TransactionStatus.INERROR:
        _rollback(conn)
    if status != pq.TransactionStatus.INTRANS:
        _execute(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _on_sessions(conn, connector, sqls: list[str], deadline: Deadline, options: QualityOptions,
                 sessions: int) -> list[tuple]:
    """Postgres: run the column statements on up to `sessions` sessions at once.

    The other sessions read the snapshot of `conn` (pg_export_snapshot), so all columns are
    measured on the same rows, as in one statement. A session takes the next statement when it
    is done with one.
    """
    _begin_snapshot(conn)
    snapshot = exp.Literal.string(_query(conn, "SELECT pg_export_snapshot()", deadline)[0][0]).sql("postgres")
    conns = [conn]
    try:
        for _ in range(min(sessions, len(sqls)) - 1):
            other = connector.connect()
            conns.append(other)
            deadline.conns.append(other)
            _set_statement_timeout(other, "postgres", options.timeout_s, options)
            _execute(other, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            _execute(other, f"SET TRANSACTION SNAPSHOT {snapshot}")
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for sql in sqls:
            todo.put(sql)
        failed = threading.Event()

        def drain(session) -> list[tuple]:
            rows: list[tuple] = []
            while not failed.is_set():
                try:
                    sql = todo.get_nowait()
                except queue.Empty:
                    break
                try:
                    rows.extend(_query(session, sql, deadline))
                except BaseException:
                    failed.set()  # the other sessions stop after their current statement
                    raise
            return rows

        with ThreadPoolExecutor(len(conns), thread_name_prefix="dsa-session") as pool:
            done = [pool.submit(drain, c) for c in conns]
        return [row for d in done for row in d.result()]
    finally:
        for c in conns[1:]:
            deadline.conns.remove(c)
            try:
                c.close()  # ends its transaction: it only read
            except Exception:
                pass


def _mysql_killer(connector, conn) -> Callable[[], None] | None:
    thread_id = getattr(conn, "thread_id", None)
    if not callable(thread_id):
        return None
    tid = int(thread_id())

    def kill() -> None:
        other = connector.connect()
        try:
            cur = other.cursor()
            cur.execute(f"KILL QUERY {tid}")
        finally:
            other.close()

    return kill


def relation(connector, schema: str, table: str) -> exp.Expression:
    """How a table is named in the engine's SQL; connectors may override `profile_relation`."""
    hook = getattr(connector, "profile_relation", None)
    if callable(hook):
        return hook(schema, table)
    return exp.table_(table, db=schema, quoted=True)


def sampled_source(rel: exp.Expression, dialect: str, percent: float | None, rows: int | None,
                   large: bool) -> tuple[exp.Expression, str]:
    """The relation aliased `src`, sampled as the engine allows, and the method's name."""
    if percent is None:
        return exp.alias_(rel.copy(), profile.SRC, table=True), "full"
    if dialect in ("postgres", "duckdb"):
        # block sampling (SYSTEM) reads a fraction of the table; row sampling (BERNOULLI) is
        # more even but reads it all, so it is kept for tables small enough to read cheaply
        if dialect == "duckdb" and rows is not None:
            method, sample = "reservoir", exp.TableSample(method=exp.var("RESERVOIR"), size=exp.Literal.number(rows),
                                                          seed=exp.Literal.number(SEED))
        else:
            method = "system" if large else "bernoulli"
            sample = exp.TableSample(method=exp.var(method.upper()), percent=exp.Literal.number(round(percent, 6)),
                                     seed=exp.Literal.number(SEED))
        inner = exp.select("*").from_(rel.copy())
        inner.args["from_"].this.set("sample", sample)
        return inner.subquery(profile.SRC), method
    fraction = percent / 100.0
    if dialect == "sqlite":
        # a multiplicative hash of the rowid: the same rows every time (SQLite's random() has no seed)
        key = exp.Mod(this=exp.paren(exp.Mul(this=exp.column("rowid"), expression=exp.Literal.number(2654435761))),
                      expression=exp.Literal.number(4294967296))
        cond = exp.LT(this=key, expression=exp.Literal.number(int(fraction * 4294967296)))
        return exp.select("*").from_(rel.copy()).where(cond).subquery(profile.SRC), "rowid_hash"
    cond = exp.LT(this=exp.Rand(this=exp.Literal.number(SEED)), expression=exp.Literal.number(fraction))
    return exp.select("*").from_(rel.copy()).where(cond).subquery(profile.SRC), "bernoulli"


# -- one table ----------------------------------------------------------------------------------

def _masked(task: TableTask, column: str, mask) -> bool:
    if mask.auto and SENSITIVE.search(column):
        return True
    names = (f"{task.table}.{column}", f"{task.schema}.{task.table}.{column}", column)
    return any(fnmatchcase(n, p) for p in mask.columns for n in names)


def _isolate(conn, dialect: str, specs: list[profile.ColumnSpec], build: Callable[[list[profile.ColumnSpec]], str | None],
             deadline: Deadline, on_fail: Callable[[profile.ColumnSpec, str], None]) -> None:
    """After a failed statement: find the columns the engine rejects (cheap, no rows read)."""
    for spec in specs:
        sql = build([spec])
        if sql is None:
            continue
        try:
            _query(conn, profile.probe_sql(sql, dialect), deadline)
        except TableTimeout:
            raise
        except Exception as exc:
            on_fail(spec, one_line(str(exc))[:300])


def profile_table(connector, task: TableTask, options: QualityOptions, sample: Sample, top_k: int,
                  run_id: str, now: datetime, register: Callable[[Deadline | None], None] | None = None,
                  sessions: int | None = None) -> TableResult:
    """Profile one table on its own connection; on Postgres its column statements may run on up to
    `sessions` (default `workers`) sessions at once."""
    dialect = connector.dialect
    started = time.perf_counter()
    conn = connector.connect()
    kill = _mysql_killer(connector, conn) if dialect == "mysql" else None
    deadline = Deadline(conn, dialect, options.timeout_s, kill)
    if register:
        register(deadline)
    try:
        with deadline:
            _set_statement_timeout(conn, dialect, options.timeout_s, options)
            _limit_memory(conn, dialect, options)
            return _profile(conn, connector, task, options, sample, top_k, run_id, now, deadline, started,
                            sessions or options.workers)
    finally:
        if register:
            register(None)
        try:
            conn.close()
        except Exception:
            pass


def _profile(conn, connector, task, options, sample, top_k, run_id, now, deadline, started, sessions) -> TableResult:
    dialect = connector.dialect
    rel = relation(connector, task.schema, task.table)
    specs = [profile.column_spec(c["column_name"], c["type_family"], _masked(task, c["column_name"], options.mask))
             for c in task.columns]

    if dialect == "postgres":
        _begin_snapshot(conn)  # closing the connection ends it

    # exact row count first whenever the table may be sampled (not for 100%: the profile counts them)
    row_count = None
    may_sample = (sample.percent is not None and sample.percent < 100) or sample.rows is not None \
        or (sample.percent is None and (task.row_estimate is None or task.row_estimate >= AUTO_SAMPLE_ROWS // 2))
    if may_sample:
        row_count = int(_query(conn, profile.count_sql(exp.alias_(rel.copy(), profile.SRC, table=True), dialect), deadline)[0][0])
    percent = None
    if row_count:
        if sample.percent is not None and sample.percent < 100:
            percent = sample.percent
        elif sample.rows is not None and sample.rows < row_count:
            percent = 100.0 * sample.rows / row_count
        elif sample.percent is None and sample.rows is None and row_count > AUTO_SAMPLE_ROWS:
            percent = 100.0 * AUTO_SAMPLE_ROWS / row_count
    rows_wanted = sample.rows if sample.rows is not None else (AUTO_SAMPLE_ROWS if sample.percent is None else None)
    large = (row_count or 0) >= AUTO_SAMPLE_ROWS
    src, method = sampled_source(rel, dialect, percent, rows_wanted if percent is not None else None, large)

    def build(cols: list[profile.ColumnSpec]) -> str | None:
        return profile.profile_sql(cols, src, dialect, top_k, now)

    def demote(spec: profile.ColumnSpec, error: str) -> None:
        spec.groupable = False
        spec.family = "other"
        spec.skipped.update(distinct=error, top_values=error, min_max=error)

    def run_all() -> list[tuple]:
        sqls = profile.statements(specs, src, dialect, top_k, now)
        if dialect == "postgres" and sessions > 1 and len(sqls) > 1:
            return _on_sessions(conn, connector, sqls, deadline, options, sessions)
        rows: list[tuple] = []
        for sql in sqls:
            rows.extend(_query(conn, sql, deadline))
        return rows

    stats: dict[int, dict[str, Any]] = {}
    if any(s.groupable for s in specs):
        try:
            rows = run_all()
        except TableTimeout:
            raise
        except Exception as exc:
            if dialect == "sqlite" and method == "rowid_hash" and "rowid" in str(exc):
                src, method = _sqlite_random(rel, percent)
            else:
                _isolate(conn, dialect, specs, build, deadline, demote)
            rows = run_all()
        stats = profile.parse_result(rows, specs)
    odd = [s for s in specs if not s.groupable]
    odd_row: dict[str, Any] = {}
    if odd or not stats:
        def odd_build(cols: list[profile.ColumnSpec]) -> str:
            return profile.odd_sql(cols, src, dialect)

        def drop(spec: profile.ColumnSpec, error: str) -> None:
            spec.family = "unmeasurable"
            spec.skipped["count"] = error

        try:
            result = _query(conn, odd_build(specs), deadline)
        except TableTimeout:
            raise
        except Exception:
            _isolate(conn, dialect, [s for s in specs if not s.groupable], lambda cols: odd_build(cols), deadline, drop)
            keep = [s if s.family != "unmeasurable" else None for s in specs]
            result = _query(conn, profile.odd_sql([s for s in keep if s is not None], src, dialect), deadline)
        cur_names = _odd_names(specs)
        odd_row = dict(zip(cur_names, result[0]))

    profiled = None
    for prof in stats.values():
        profiled = int(prof.get("total") or 0)
        break
    if profiled is None:
        profiled = int(odd_row.get("rows") or 0)
    if row_count is None:
        row_count = profiled

    # referential integrity: orphaned foreign-key values, counted by an anti-join in the engine
    orphans: dict[str, int] = {}
    fk_skipped: dict[str, str] = {}
    for fk in task.foreign_keys:
        cols, ref_cols = fk.get("columns") or [], fk.get("ref_columns") or []
        if not cols or len(cols) != len(ref_cols) or not fk.get("ref_table"):
            continue
        parent = exp.alias_(relation(connector, fk.get("ref_schema") or task.schema, fk["ref_table"]), "ref", table=True)
        match = exp.and_(*[exp.EQ(this=exp.column(r, "ref", quoted=True), expression=exp.column(c, profile.SRC, quoted=True))
                           for c, r in zip(cols, ref_cols)])
        present = exp.and_(*[exp.not_(exp.Is(this=exp.column(c, profile.SRC, quoted=True), expression=exp.Null())) for c in cols])
        anti = exp.not_(exp.Exists(this=exp.select(exp.Literal.number(1)).from_(parent).where(match)))
        sql = exp.select(exp.Count(this=exp.Star())).from_(src.copy()).where(exp.and_(present, anti)).sql(dialect=dialect)
        try:
            n = int(_query(conn, sql, deadline)[0][0])
        except TableTimeout:
            raise
        except Exception as exc:
            for c in cols:
                fk_skipped[c] = f"orphan check failed: {one_line(str(exc))[:200]}"
            continue
        for c in cols:
            orphans[c] = orphans.get(c, 0) + n

    approximate = method != "full"
    result = TableResult(table={})
    base = {"run_id": run_id, "connection": connector.name, "tenant": "default"}
    for i, (col, spec) in enumerate(zip(task.columns, specs)):
        cq = qualified_name(connector.name, task.schema, task.table, col["column_name"])
        row = _column_row(base, task, col, spec, stats.get(i), odd_row, i, profiled, approximate)
        row["qualified_name"] = cq
        if col["column_name"] in orphans:
            row["orphan_count"] = orphans[col["column_name"]]
        if col["column_name"] in fk_skipped:
            spec.skipped["referential"] = fk_skipped[col["column_name"]]
        row["skipped_metrics"] = model.to_json(spec.skipped) if spec.skipped else None
        scored = score.column_score(row)
        row.update(
            quality_score=scored["quality_score"],
            score_components=model.to_json(scored["components"]),
            score_explanation=scored["explanation"],
            unique_expected=score.unique_expected({**row, "non_null": (row["total_count"] or 0) - (row["null_count"] or 0)})[0],
        )
        for name in ("completeness", "uniqueness", "validity", "referential"):
            row[f"{name}_score"] = scored["components"].get(name, {}).get("score")
        result.columns.append(row)
        prof = stats.get(i)
        if prof:
            for rank, value, count in prof["top"]:
                truncated = value is not None and len(value) > profile.DISPLAY_CHARS
                result.top.append({**base, "qualified_name": cq, "column_qualified_name": cq,
                                   "table_qualified_name": task.qualified_name, "column_name": col["column_name"],
                                   "rank": rank, "value": value[: profile.DISPLAY_CHARS] if truncated else value,
                                   "value_truncated": truncated, "count": count,
                                   "percentage": 100.0 * count / profiled if profiled else None, "masked": spec.masked})
            result.hist.extend(_hist_rows(base, cq, task, col["column_name"], prof))
    table_score = score.mean_score([c["quality_score"] for c in result.columns])
    result.table = {
        **base,
        "qualified_name": task.qualified_name,
        "table_qualified_name": task.qualified_name,
        "schema_name": task.schema,
        "table_name": task.table,
        "status": "profiled",
        "row_count": row_count,
        "row_count_estimated": False,
        "column_count": len(task.columns),
        "size_bytes": task.size_bytes,
        "sample_method": method,
        "sample_percent": percent if percent is not None else 100.0,
        "sample_rows": profiled,
        "sample_seed": SEED if method in ("system", "bernoulli", "reservoir") else None,
        "approximate": approximate,
        "quality_score": table_score,
        "score_components": model.to_json({c["column_name"]: c["quality_score"] for c in result.columns}),
        "score_explanation": "empty table" if row_count == 0 else score.table_explanation(result.columns),
        "duration_s": time.perf_counter() - started,
        "profiled_at": datetime.now(timezone.utc),
    }
    return result


def _sqlite_random(rel: exp.Expression, percent: float) -> tuple[exp.Expression, str]:
    """Views and WITHOUT ROWID tables have no rowid: fall back to SQLite's unseeded random()."""
    cond = exp.LT(this=exp.Mod(this=exp.Abs(this=exp.Anonymous(this="random", expressions=[])), expression=exp.Literal.number(1000000)),
                  expression=exp.Literal.number(int(percent * 10000)))
    return exp.select("*").from_(rel.copy()).where(cond).subquery(profile.SRC), "random"


def _odd_names(specs: list[profile.ColumnSpec]) -> list[str]:
    names = ["rows"]
    for i, c in enumerate(specs):
        if c.groupable or c.family == "unmeasurable":
            continue
        names.append(f"c{i}")
        if c.family in profile.LENGTHS:
            names += [f"l{i}_min", f"l{i}_max", f"l{i}_avg"]
    return names


def _int(x: Any) -> int | None:
    return None if x is None else int(x)


def _column_row(base, task, col, spec, prof, odd_row, i, profiled, approximate) -> dict[str, Any]:
    family = col["type_family"]
    row: dict[str, Any] = {
        **base,
        "table_qualified_name": task.qualified_name,
        "schema_name": task.schema,
        "table_name": task.table,
        "column_name": col["column_name"],
        "ordinal_position": col.get("ordinal_position"),
        "data_type": col.get("data_type"),
        "type_family": family,
        "total_count": profiled,
        "approximate": approximate,
        "masked": spec.masked,
        "is_primary_key_single": bool(col.get("is_primary_key")) and len(task_pk(task)) == 1,
        "is_unique": bool(col.get("is_unique")),
        "foreign_key": col.get("foreign_key"),
    }
    if prof is not None:
        total = int(prof.get("total") or 0)
        nulls = int(prof.get("nulls") or 0)
        distinct = int(prof.get("distinct") or 0)
        non_null = total - nulls
        row.update(null_count=nulls, distinct_count=distinct, min_value=prof.get("min"), max_value=prof.get("max"))
        row["distinct_percentage"] = 100.0 * distinct / non_null if non_null else None
        if family in profile.NUMERIC:
            finite = int(prof.get("finite") or 0)
            s, sq = prof.get("sum"), prof.get("sumsq")
            if finite:
                mean = s / finite
                row["mean"] = mean
                if finite > 1:
                    row["stddev"] = math.sqrt(max(0.0, (sq - s * s / finite) / (finite - 1)))
            row.update(q1=prof["quartiles"].get("q1"), median=prof["quartiles"].get("median"), q3=prof["quartiles"].get("q3"),
                       quartiles_method="percentile_disc" if prof["quartiles"] else None,
                       zero_count=int(prof.get("zeros") or 0), negative_count=int(prof.get("negatives") or 0))
            if family == "float":
                row.update(nan_count=int(prof.get("nans") or 0), infinite_count=int(prof.get("infinities") or 0))
        if family in profile.TEXT:
            row.update(min_length=_int(prof.get("min_length")), max_length=_int(prof.get("max_length")),
                       avg_length=(prof.get("sum_length") or 0) / non_null if non_null else None,
                       empty_count=int(prof.get("empty") or 0), whitespace_count=int(prof.get("whitespace") or 0),
                       numeric_text_count=int(prof.get("numeric_text") or 0))
        if family in profile.DATES:
            row.update(future_count=int(prof.get("future") or 0), invalid_count=int(prof.get("invalid") or 0))
        if family == "float":
            row["invalid_count"] = row.get("nan_count", 0) + row.get("infinite_count", 0)
        if family == "boolean":
            row.update(true_count=int(prof.get("trues") or 0), false_count=int(prof.get("falses") or 0))
    elif f"c{i}" in odd_row:
        non_null = int(odd_row[f"c{i}"] or 0)
        row["null_count"] = profiled - non_null
        if f"l{i}_min" in odd_row:
            row.update(min_length=_int(odd_row[f"l{i}_min"]), max_length=_int(odd_row[f"l{i}_max"]), avg_length=odd_row[f"l{i}_avg"])
    if row.get("null_count") is not None:
        row["null_percentage"] = 100.0 * row["null_count"] / profiled if profiled else None
    return row


def task_pk(task: TableTask) -> list[str]:
    return [c["column_name"] for c in task.columns if c.get("is_primary_key")]


def _hist_rows(base, cq, task, column, prof) -> list[dict[str, Any]]:
    common = {**base, "qualified_name": cq, "column_qualified_name": cq, "table_qualified_name": task.qualified_name,
              "column_name": column}
    out = []
    for b, count, lo, hi in prof["hist"]:
        width = (hi - lo) / profile.HIST_BINS if hi is not None and lo is not None else 0
        out.append({**common, "kind": "numeric", "bin": b, "lower": lo + b * width, "upper": lo + (b + 1) * width if width else hi,
                    "count": count})
    periods = prof["periods"]
    if len(periods) > 120:  # more than ten years of months: count by year instead
        years: dict[str, int] = {}
        for p, c in periods:
            years[(p or "")[:4]] = years.get((p or "")[:4], 0) + c
        out += [{**common, "kind": "year", "bin": k, "period": y, "count": c} for k, (y, c) in enumerate(sorted(years.items()))]
    else:
        out += [{**common, "kind": "month", "bin": k, "period": p, "count": c} for k, (p, c) in enumerate(periods)]
    return out


# -- the run ------------------------------------------------------------------------------------

def _tasks(store: Store, source: str, scan_run_id: str, tables: str | None) -> list[TableTask]:
    con = store.connect()
    try:
        trows = con.execute(
            "SELECT schema_name, table_name, qualified_name, table_type, size_bytes, row_estimate, custom_attributes "
            "FROM normalized_tables WHERE run_id = ? ORDER BY schema_name, table_name", [scan_run_id]).fetchall()
        crows = con.sql(
            "SELECT table_qualified_name, column_name, ordinal_position, data_type, type_family, is_primary_key, is_unique, "
            "foreign_key FROM normalized_columns WHERE run_id = ? ORDER BY table_qualified_name, ordinal_position",
            params=[scan_run_id]).pl()
    finally:
        con.close()
    by_table: dict[str, list[dict]] = {}
    for c in crows.iter_rows(named=True):
        by_table.setdefault(c["table_qualified_name"], []).append(c)
    out = []
    for schema, table, qn, ttype, size, estimate, custom in trows:
        if ttype not in PROFILED_TYPES:
            continue
        if tables and not any(fnmatchcase(n, tables) for n in (table, f"{schema}.{table}")):
            continue
        fks = json.loads(custom or "{}").get("foreign_keys", [])
        out.append(TableTask(schema, table, qn, size, estimate, by_table.get(qn, []), fks))
    return out


def quality(store: Store, config: Config, source: str, *, tables: str | None = None, sample: str | int | None = None,
            top_k: int | None = None, progress: Progress | None = None) -> QualityResult:
    """Profile one configured source's newest scan. Raises `DsaError` for user errors."""
    options = config.quality
    spec = parse_sample(sample, "--sample") if sample is not None else parse_sample(options.sample, "quality.sample")
    top_k = options.top_k if top_k is None else top_k
    if top_k < 0:
        raise ConfigError(f"--top-k: must be 0 or more (got {top_k})")
    connector = open_source(source, config.source(source))
    try:
        scan_run_id = latest_run(store, "scan", source)
    except NotFound:
        raise NotFound(f"no successful scan of '{source}' in the catalog at {store.path}: run `dsa scan {source}` first") from None
    tasks = _tasks(store, source, scan_run_id, tables)
    if tables and not tasks:
        raise NotFound(f"--tables {tables!r} matches no table of '{source}' (scan {scan_run_id})")
    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    details = {"scan_run_id": scan_run_id, "sample": spec.describe(), "top_k": top_k, "tables": tables,
               "source_type": connector.type, "target": connector.describe(), "workers": options.workers,
               "timeout_s": options.timeout_s}
    results: list[TableResult] = []
    failed: list[dict[str, Any]] = []
    with store.begin_run(source, "quality", details) as run:
        pending: list[TableResult] = []
        active: dict[int, Deadline] = {}
        lock = threading.Lock()
        rows_done = 0

        def flush() -> None:
            if not pending:
                return
            run.write("table_quality_metrics", model.frame([r.table for r in pending], model.TABLE_QUALITY_METRICS))
            run.write("column_quality_metrics", model.frame([c for r in pending for c in r.columns], model.COLUMN_QUALITY_METRICS))
            run.write("column_top_values", model.frame([t for r in pending for t in r.top], model.COLUMN_TOP_VALUES))
            run.write("column_histograms", model.frame([h for r in pending for h in r.hist], model.COLUMN_HISTOGRAMS))
            pending.clear()

        def register_for(key: int) -> Callable[[Deadline | None], None]:
            def register(d: Deadline | None) -> None:
                with lock:
                    if d is None:
                        active.pop(key, None)
                    else:
                        active[key] = d
            return register

        def report(what: str) -> None:
            done = len(results) + len(failed)
            rate = rows_done / max(time.perf_counter() - started, 1e-6)
            text = f"{what}  {rate:,.0f} rows/s"
            run.report_progress(done, len(tasks), text)
            if progress:
                progress(done, len(tasks), text)

        report("starting")
        executor = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="dsa-quality")
        # `workers` sessions in all: fewer tables than workers share the spare ones
        sessions = max(1, options.workers // max(1, min(options.workers, len(tasks))))
        futures: dict[Future, TableTask] = {
            executor.submit(profile_table, connector, t, options, spec, top_k, run.run_id, now, register_for(k),
                            sessions): t
            for k, t in enumerate(tasks)
        }
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = futures[fut]
                    try:
                        res = fut.result()
                    except TableTimeout:
                        _failed(run, task, "timeout", f"profiling took longer than {options.timeout_s:g}s (quality.timeout_s)",
                                failed, pending)
                    except Exception as exc:  # a driver error: this table fails, the run goes on
                        _failed(run, task, "failed", f"{connector.describe()}: {exc}", failed, pending)
                    else:
                        results.append(res)
                        pending.append(res)
                        rows_done += res.table["sample_rows"] or 0
                    report(task.qualified_name)
                if len(pending) >= 50:
                    flush()
                run.counts["table_count"] = len(results)
        except KeyboardInterrupt:
            for fut in futures:
                fut.cancel()
            with lock:
                for d in list(active.values()):
                    d.fire(cancelled=True)
            executor.shutdown(wait=True, cancel_futures=True)
            for fut, task in futures.items():
                if fut.done() and not fut.cancelled() and fut.exception() is None and fut.result() not in results:
                    results.append(fut.result())
                    pending.append(fut.result())
            flush()
            _count(run, results, failed)
            raise
        executor.shutdown(wait=True)
        flush()
        _count(run, results, failed)
    worst = sorted((c for r in results for c in r.columns if c.get("quality_score") is not None),
                   key=lambda c: (c["quality_score"], c["qualified_name"]))[:10]
    return QualityResult(
        run_id=run.run_id, connection=source, status=run.status, table_count=len(results), failed=failed,
        seconds=time.perf_counter() - started, rows=sum(r.table["row_count"] or 0 for r in results),
        quality_score=run.counts.get("quality_score"), worst_columns=worst,
    )


def _failed(run, task: TableTask, status: str, error: str, failed: list, pending: list) -> None:
    error = scrub(one_line(error))
    run.record_error(task.qualified_name, "table", error, "profile")
    failed.append({"qualified_name": task.qualified_name, "status": status, "error": error})
    pending.append(TableResult(table={"run_id": run.run_id, "connection": run.connection, "tenant": "default",
                                      "qualified_name": task.qualified_name, "table_qualified_name": task.qualified_name,
                                      "schema_name": task.schema, "table_name": task.table, "status": status,
                                      "error": error, "column_count": len(task.columns), "size_bytes": task.size_bytes}))


def _count(run, results: list[TableResult], failed: list) -> None:
    run.counts.update(
        table_count=len(results),
        column_count=sum(len(r.columns) for r in results),
        failed_tables=len(failed),
        row_count=sum(r.table["row_count"] or 0 for r in results),
        quality_score=score.mean_score([r.table["quality_score"] for r in results]),
    )
