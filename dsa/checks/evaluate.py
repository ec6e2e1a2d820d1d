"""Evaluating checks: find their tables in a scan, measure in the engine, judge.

`evaluate(...)` measures the checks of one table on an open connection (dsa.checks.plan builds
the statements); its outcomes are pass | warn | fail | error, and a check that cannot run (no
such column, a SQL error, a timeout) errors alone.
"""

from __future__ import annotations

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


def evaluate(connector, conns: list, target: Target, every: dict[str, Target], mask, timeout_s: float,
             schema_changes: Callable[[Target], dict[str, list[str]]], now: datetime,
             known: dict[tuple[str, str | None], Any] | None = None) -> list[Outcome]:
    """Measure and judge the checks of one table on `conns[0]`; with a second connection, the
    grouping pass runs on it beside the aggregate pass. `known`: values already measured (by the
    profile of a quality run), by (metric, column); those checks run no SQL."""
    conn = conns[0]
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
            continue
        if known and within(check, known.get(("min", col)), known.get(("max", col))):
            o.value = 0  # every value lies in the valid range: nothing to count
            continue
        reader = plan.aggregate(connector, check, plan.column(col) if col else None, aggregates)
        (shared if reader else alone).append((o, reader))
    grouped = [o for o, _ in alone if o.check.metric.kind in plan.GROUPED]
    with ThreadPoolExecutor(max_workers=1) as beside:
        pending = beside.submit(_grouped, connector, conns[-1], grouped, rel, timeout_s) \
            if grouped and len(conns) > 1 else None
        if shared:
            _shared(connector, conn, aggregates, shared, rel, timeout_s)
        if pending is not None:
            pending.result()
        elif grouped:
            _grouped(connector, conn, grouped, rel, timeout_s)
    for o, _ in alone:
        if o.check.metric.kind not in plan.GROUPED:
            _alone(connector, conn, o, target, every, rel, timeout_s, schema_changes)
    for o in outcomes:
        if o.check.metric.kind == "freshness" and o.outcome != "error":
            o.value = age(o.value, now)
        judge(o)
        if o.outcome in ("pass", "error"):
            o.samples = None
    _samples(connector, conn, outcomes, target, every, rel, timeout_s)
    return outcomes


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


def _grouped(connector, conn, grouped: list[Outcome], rel, timeout_s: float) -> None:
    """The duplicate and distinct metrics, and their samples: each column grouped once."""
    names = list(dict.fromkeys(o.column for o in grouped))
    found: dict[str, plan.Groups] = {}
    failed: dict[str, str] = {}
    for sql, columns in plan.grouped_statements(rel, names, connector.dialect, connector.GROUPING_SETS):
        try:
            found.update(plan.read_groups(fetch(connector, conn, sql, timeout_s), columns))
        except Exception as exc:
            reason = str(exc) if isinstance(exc, Timeout) else scrub(one_line(str(exc)))[:300]
            failed.update(dict.fromkeys(columns.values(), reason))
    for o in grouped:
        if o.column in failed:
            o.outcome, o.error = "error", failed[o.column]
            continue
        groups = found[o.column]
        o.value = groups.metric(o.check.metric.kind)
        if not o.masked:
            o.samples = [{"value": v, "count": None} for v in groups.samples]


def _alone(connector, conn, o: Outcome, target: Target, every: dict[str, Target], rel, timeout_s: float,
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
            o.value = fetch(connector, conn, plan.reference_sql(rel, o.column, *ref, dialect), timeout_s)[0][0]
        else:
            o.value = fetch(connector, conn, user_sql(o.check, dialect), timeout_s)[0][0]
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


def _samples(connector, conn, outcomes: list[Outcome], target: Target, every, rel, timeout_s: float) -> None:
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
        rows = fetch(connector, conn, plan.samples_sql(branches, connector.dialect), timeout_s)
    except Exception:  # samples are a courtesy: the verdicts stand without them
        for o in keyed.values():
            o.samples = None
        return
    for key, value in rows:  # distinct values, in the order found, at most SAMPLES per check
        samples = keyed[key].samples
        if len(samples) < plan.SAMPLES and all(s["value"] != value for s in samples):
            samples.append({"value": value, "count": None})
