"""Evaluating checks: find their tables in a scan, measure in the engine, judge.

`evaluate(...)` measures the checks of one table on the source's sessions (dsa.checks.plan builds
the statements); its outcomes are pass | warn | fail | error, and a check that cannot run (no
such column, a SQL error, a timeout) errors alone.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any, Callable

import sqlglot
from sqlglot import exp

from dsa import sessions
from dsa.checks import plan
from dsa.checks.language import Check, CheckGroup, Condition
from dsa.errors import one_line, scrub
from dsa.table_profile import masked
from dsa.store import Store


@dataclass
class Target:
    """A scanned table and the checks that apply to it."""

    schema: str
    table: str
    qualified_name: str
    columns: dict[str, str]  # name -> type family
    checks: list[Check] = field(default_factory=list)

    def column(self, name: str) -> str | None:
        if name in self.columns:
            return name
        folded = [c for c in self.columns if c.lower() == name.lower()]
        return folded[0] if len(folded) == 1 else None


@dataclass
class Outcome:
    check: Check
    table: str  # qualified name (or the glob that matched nothing)
    schema: str | None
    table_name: str | None
    column: str | None
    value: Any = None
    outcome: str = "pass"
    error: str | None = None
    samples: list[dict[str, Any]] | None = None
    masked: bool = False

    def value_number(self) -> float | None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float, Decimal)):
            return None
        return float(self.value)

    def value_text(self) -> str | None:
        v = self.value
        if v is None:
            return None
        if self.check.metric.kind == "freshness" and isinstance(v, (int, float)):
            return duration_text(v)
        if isinstance(v, (date, datetime)):
            return v.isoformat()
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)


def duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


# -- finding the tables ------------------------------------------------------------------------

def targets(store: Store, scan_run_id: str, groups: list[CheckGroup]) -> tuple[dict[str, Target], list[Outcome]]:
    """Every table of the scan, by qualified name, with the checks whose glob matches it; and an
    error outcome per check of a glob that matches no table."""
    con = store.connect()
    try:
        tables = con.execute("SELECT schema_name, table_name, qualified_name FROM normalized_tables WHERE run_id = ? "
                             "ORDER BY schema_name, table_name", [scan_run_id]).fetchall()
        cols = con.execute("SELECT table_qualified_name, column_name, type_family FROM normalized_columns "
                           "WHERE run_id = ? ORDER BY ordinal_position", [scan_run_id]).fetchall()
    finally:
        con.close()
    by_table: dict[str, dict[str, str]] = {}
    for tq, name, family in cols:
        by_table.setdefault(tq, {})[name] = family
    every = {qn: Target(schema, table, qn, by_table.get(qn, {})) for schema, table, qn in tables}
    missing = []
    for group in groups:
        hits = [t for t in every.values()
                if fnmatchcase(t.table, group.table) or fnmatchcase(f"{t.schema}.{t.table}", group.table)]
        for target in hits:
            target.checks.extend(group.checks)
        if not hits:
            missing += [Outcome(c, group.table, None, None, c.metric.column, outcome="error",
                                error=f"no table matching '{group.table}' in scan {scan_run_id}") for c in group.checks]
    return every, missing


def find_table(targets_by_name: dict[str, Target], near: Target, name: str) -> Target | None:
    """`customers` or `schema.customers`, preferring the checked table's own schema."""
    hits = [t for t in targets_by_name.values() if name in (t.table, f"{t.schema}.{t.table}")]
    same = [t for t in hits if t.schema == near.schema]
    return (same or hits or [None])[0]


# -- measuring -----------------------------------------------------------------------------------

GRACE_S = 1.0


class Timeout(Exception):
    pass


def fetch(connector, conn, sql: str, timeout_s: float) -> list[tuple]:
    """Run one statement under the source's timeout (the engine's own, and the connector's
    canceller for engines without one); a statement cut short raises `Timeout`."""
    started = time.monotonic()
    # a second later than the engine's own timeout, where it has one: cancelling a statement that
    # the engine has just ended could stop the next one on the same session instead
    with sessions.Deadline(timeout_s + GRACE_S, connector.canceller(conn)) as deadline:
        try:
            return sessions.run(conn, sql, deadline)
        except sessions.TableTimeout:
            raise Timeout(f"timed out after {timeout_s:g}s (the source's timeout_s)") from None
        except Exception:
            if time.monotonic() - started >= timeout_s * 0.98:  # the engine's own timeout came first
                raise Timeout(f"timed out after {timeout_s:g}s (the source's timeout_s)") from None
            raise


def within(check: Check, low: Any, high: Any) -> bool:
    """An `invalid_* between A and B` check whose column's known min and max both lie in [A, B]."""
    m = check.metric
    if not m.kind.startswith("invalid_") or m.arg[0] != "between" or low is None or high is None:
        return False
    try:
        lo, hi = m.arg[1]
        return lo <= comparable(low, Condition("=", lo)) and comparable(high, Condition("=", hi)) <= hi
    except (TypeError, ValueError):
        return False


def judge(o: Outcome) -> Outcome:
    """pass | warn | fail from the value and the check's conditions."""
    if o.outcome == "error":
        return o
    value = o.value
    if isinstance(value, Decimal):
        value = o.value = float(value)
    if value is None:
        o.outcome, o.error = "fail", "no value to compare (no rows, or only NULLs)"
        return o
    try:
        value = comparable(value, o.check.fail or o.check.warn)
        if o.check.fail and not o.check.fail.holds(value):
            o.outcome = "fail"
        elif o.check.warn and not o.check.warn.holds(value):
            o.outcome = "warn"
    except TypeError:
        o.outcome, o.error = "error", f"cannot compare {o.value_text()} with {o.check.fail.text()}"
    return o


def comparable(value: Any, cond) -> Any:
    """Dates measured by min/max compared with a date threshold; text read as ISO dates."""
    if cond is None or not isinstance(cond.low, date):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(cond.low, datetime):
        return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return value.date() if isinstance(value, datetime) else value


def age(value: Any, now: datetime) -> float | None:
    """Seconds from `value` (the newest timestamp) to now; naive timestamps are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (now - value).total_seconds()


class Sessions:
    """The connections that measure checks, opened as they are first needed (up to `most`) and
    set up like profiling ones (Postgres: work_mem for the groupings, no JIT) under the source's
    own statement timeout. Only engines with PARALLEL_SESSIONS get more than one."""

    def __init__(self, connector, options, most: int):
        self.connector, self.options = connector, options
        self.most = most if connector.PARALLEL_SESSIONS else 1
        self.open: list = []

    def take(self, n: int) -> list:
        while len(self.open) < min(max(n, 1), self.most):
            conn = self.connector.connect()
            self.open.append(conn)
            self.connector.prepare_profile_session(conn, self.options)
        return self.open[:max(n, 1)]

    def close(self) -> None:
        for conn in self.open:
            try:
                conn.close()
            except Exception:
                pass
        self.open.clear()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def evaluate(connector, pool: Sessions, target: Target, every: dict[str, Target], mask, timeout_s: float,
             schema_changes: Callable[[Target], dict[str, list[str]]], now: datetime,
             known: dict[tuple[str, str | None], Any] | None = None,
             repeated: dict[str, list[str]] | None = None) -> list[Outcome]:
    """Measure and judge the checks of one table. The table's passes (the aggregate statement and
    each grouping) run at once, each on a session of its own as far as `pool` allows; the
    rest runs on the first session. `known`: values already measured (by the profile of a
    quality run), by (metric, column): those checks run no SQL; `repeated`: values the profile
    saw more than once, by column (the samples of a failed duplicate check)."""
    rel = connector.profile_relation(target.schema, target.table)
    outcomes, shared, alone = [], [], []
    aggregates = plan.Aggregates()
    for check in target.checks:
        name = check.metric.column
        col = target.column(name) if name else None
        o = Outcome(check, target.qualified_name, target.schema, target.table, col or name)
        outcomes.append(o)
        if name and col is None:
            o.outcome, o.error = "error", f"no column '{name}' in {target.qualified_name}"
            continue
        o.masked = bool(col) and masked(target, col, mask)
        if known and (check.metric.kind, col) in known:
            o.value = known[(check.metric.kind, col)]
            if check.metric.kind in plan.GROUPED and repeated and not o.masked:
                o.samples = [{"value": v, "count": None} for v in repeated.get(col, [])[:plan.SAMPLES]]
            continue
        if known and within(check, known.get(("min", col)), known.get(("max", col))):
            o.value = 0  # every value lies in the valid range: nothing to count
            continue
        reader = plan.aggregate(connector, check, plan.column(col) if col else None, aggregates)
        (shared if reader else alone).append((o, reader))
    grouped = [o for o, _ in alone if o.check.metric.kind in plan.GROUPED]
    passes: list[Callable[[Any], None]] = []
    finish = None
    if grouped:
        passes, finish = _groupings(connector, grouped, target, rel, timeout_s)
    if shared:
        passes.append(lambda c: _shared(connector, c, aggregates, shared, rel, timeout_s))
    if passes:
        at_once(pool.take(len(passes)), passes)
    if finish:
        finish()
    for o, _ in alone:
        if o.check.metric.kind not in plan.GROUPED:
            _alone(connector, pool, o, target, every, rel, timeout_s, schema_changes)
    for o in outcomes:
        if o.check.metric.kind == "freshness" and o.outcome != "error":
            o.value = age(o.value, now)
        judge(o)
        if o.outcome in ("pass", "error"):
            o.samples = None
    _samples(connector, pool, outcomes, target, every, rel, timeout_s)
    return outcomes


def at_once(conns: list, passes: list[Callable[[Any], None]]) -> None:
    """Run `passes` (each given a connection), as many at once as there are connections; a
    connection takes the next pass when done with one. Passes record their own errors."""
    if len(conns) == 1 or len(passes) == 1:
        for job in passes:
            job(conns[0])
        return
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for job in passes:
        todo.put(job)

    def drain(conn) -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            job(conn)

    with ThreadPoolExecutor(min(len(conns), len(passes)), thread_name_prefix="dsa-check") as pool:
        for done in [pool.submit(drain, c) for c in conns[:len(passes)]]:
            done.result()


def _shared(connector, conn, aggregates: plan.Aggregates, shared: list, rel, timeout_s: float) -> None:
    """The one pass over the table; if the engine rejects it, each check alone, to find the culprit."""
    dialect = connector.dialect
    try:
        row = fetch(connector, conn, aggregates.statement(rel, dialect), timeout_s)[0]
    except Timeout as exc:
        for o, _ in shared:
            o.outcome, o.error = "error", str(exc)
        return
    except Exception:
        for o, _ in shared:
            single = plan.Aggregates()
            reader = plan.aggregate(connector, o.check, plan.column(o.column) if o.column else None, single)
            try:
                one = fetch(connector, conn, single.statement(rel, dialect), timeout_s)[0]
                o.value = reader(dict(zip(single.exprs, one)))
            except Exception as exc:
                o.outcome, o.error = "error", scrub(one_line(str(exc)))[:300]
        return
    values = dict(zip(aggregates.exprs, row))
    for o, reader in shared:
        o.value = reader(values)


def _groupings(connector, grouped: list[Outcome], target: Target, rel,
               timeout_s: float) -> tuple[list[Callable[[Any], None]], Callable[[], None]]:
    """The duplicate and distinct metrics, and their samples: each column grouped once, in the
    passes of `plan.grouped_statements`, text columns (the slowest to group) first. Returns the
    passes and what sets the outcomes' values once they all ran."""
    names = sorted(dict.fromkeys(o.column for o in grouped), key=lambda n: target.columns.get(n) != "string")
    found: dict[str, plan.Groups] = {}
    failed: dict[str, str] = {}
    lock = threading.Lock()

    def grouping(sql: str, columns: dict[int, str]) -> Callable[[Any], None]:
        def run(conn) -> None:
            try:
                groups = plan.read_groups(fetch(connector, conn, sql, timeout_s), columns)
            except Exception as exc:
                reason = str(exc) if isinstance(exc, Timeout) else scrub(one_line(str(exc)))[:300]
                with lock:
                    failed.update(dict.fromkeys(columns.values(), reason))
                return
            with lock:
                found.update(groups)
        return run

    def finish() -> None:
        for o in grouped:
            if o.column in failed:
                o.outcome, o.error = "error", failed[o.column]
                continue
            o.value = found[o.column].metric(o.check.metric.kind)
            if not o.masked:
                o.samples = [{"value": v, "count": None} for v in found[o.column].samples]

    statements = plan.grouped_statements(rel, names, connector.dialect, connector.GROUPING_SETS)
    return [grouping(sql, columns) for sql, columns in statements], finish


def _alone(connector, pool: Sessions, o: Outcome, target: Target, every: dict[str, Target], rel, timeout_s: float,
           schema_changes) -> None:
    kind, dialect = o.check.metric.kind, connector.dialect
    try:
        if kind == "schema":
            changed = schema_changes(target).get(o.check.metric.arg, [])
            o.value, o.samples = len(changed), [{"value": c, "count": None} for c in changed[:plan.SAMPLES]]
        elif kind == "reference":
            ref = _referenced(connector, o, target, every)
            if ref is None:
                return
            o.value = fetch(connector, pool.take(1)[0], plan.reference_sql(rel, o.column, *ref, dialect),
                            timeout_s)[0][0]
        else:
            o.value = fetch(connector, pool.take(1)[0], user_sql(o.check, dialect), timeout_s)[0][0]
    except Timeout as exc:
        o.outcome, o.error = "error", str(exc)
    except IndexError:
        o.outcome, o.error = "error", "the query returned no rows"
    except ValueError as exc:
        o.outcome, o.error = "error", str(exc)
    except Exception as exc:
        o.outcome, o.error = "error", scrub(one_line(str(exc)))[:300]


def _referenced(connector, o: Outcome, target: Target, every: dict[str, Target]) -> tuple[exp.Expression, str] | None:
    table, column = o.check.metric.arg
    other = find_table(every, target, table)
    if other is None:
        o.outcome, o.error = "error", f"no table '{table}' in the scan (reference of {target.qualified_name})"
        return None
    col = other.column(column)
    if col is None:
        o.outcome, o.error = "error", f"no column '{column}' in {other.qualified_name}"
        return None
    return connector.profile_relation(other.schema, other.table), col


def user_sql(check: Check, dialect: str) -> str:
    """A `sql:` check's query, if it is one read-only SELECT."""
    try:
        trees = [t for t in sqlglot.parse(check.metric.arg, read=dialect) if t is not None]
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"cannot parse the query: {one_line(str(exc))[:200]}") from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query) or any(
            isinstance(n, (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command)) for n in trees[0].walk()):
        raise ValueError("a sql: check runs one SELECT (read-only)")
    return check.metric.arg


def _samples(connector, pool: Sessions, outcomes: list[Outcome], target: Target, every, rel, timeout_s: float) -> None:
    """Failing values of the failed and warned checks, in one extra statement."""
    branches, keyed = [], {}
    for i, o in enumerate(outcomes):
        if o.outcome not in ("fail", "warn") or o.check.metric.kind not in plan.SAMPLED or o.masked:
            continue
        target_rel = None
        if o.check.metric.kind == "reference":
            target_rel = _referenced(connector, o, target, every)
        branch = plan.sample_branch(connector, o.check, str(i), rel, o.column, target_rel)
        if branch is not None:
            branches.append(branch)
            keyed[str(i)] = o
            o.samples = []
    if not branches:
        return
    try:
        rows = fetch(connector, pool.take(1)[0], plan.samples_sql(branches, connector.dialect), timeout_s)
    except Exception:  # samples are a courtesy: the verdicts stand without them
        for o in keyed.values():
            o.samples = None
        return
    for key, value in rows:  # distinct values, in the order found, at most SAMPLES per check
        samples = keyed[key].samples
        if len(samples) < plan.SAMPLES and all(s["value"] != value for s in samples):
            samples.append({"value": value, "count": None})
