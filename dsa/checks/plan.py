"""Checks as SQL: one aggregate statement per table, plus only what cannot share its pass.

Every check whose metric is a plain aggregate (row counts, missing, invalid values, min/max/avg/
sum, freshness) adds its expressions to ONE `SELECT ... FROM table`; equal expressions are
computed once. The duplicate and distinct metrics need each column grouped: one more statement,
which on engines declaring GROUPING_SETS groups every such column in one pass over the table (else
one statement per column, run side by side where the engine has PARALLEL_SESSIONS); it also
yields their failing samples. `reference` (an anti-join) and `sql:`
(the user's query) get statements of their own. Other failing samples come from one extra
statement per table, a UNION ALL of LIMITed branches. Statements are sqlglot trees rendered per
dialect; the engine's differences come from its connector (`regex_match`, `GROUPING_SETS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from sqlglot import exp

from dsa.checks.language import Check, Condition

SAMPLES = 5  # failing values kept per check
SAMPLE_ROWS = 50  # failing rows read per check to find them (a LIMIT lets the engine stop early)
SAMPLED = {"values", "invalid_count", "invalid_percent", "min", "max", "reference"}  # GROUPED: from their grouping
GROUPED = {"duplicate_count", "duplicate_percent", "duplicate_values", "duplicate_rows", "distinct_count"}
SRC = "src"


def column(name: str) -> exp.Column:
    return exp.column(name, table=SRC, quoted=True)


def _n(value: Any) -> exp.Expression:
    if isinstance(value, (date, datetime)):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()),
                        "timestamp" if isinstance(value, datetime) else "date")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return exp.Literal.string(str(value))
    return exp.Literal.number(value)


def _count_if(cond: exp.Expression) -> exp.Expression:
    return exp.Sum(this=exp.Case(ifs=[exp.If(this=cond, true=exp.Literal.number(1))], default=exp.Literal.number(0)))


def regex_match(connector, value: exp.Expression, pattern: str) -> exp.Expression:
    """`value` matches `pattern`, as the connector's engine writes it."""
    return connector.regex_match(exp.cast(value, "text"), exp.Literal.string(pattern))


def valid(connector, check: Check, col: exp.Expression) -> exp.Expression | None:
    """The condition a valid value meets (values / invalid_*), or None for other metrics."""
    m = check.metric
    if m.kind == "values" or (m.kind.startswith("invalid_") and m.arg[0] == "in"):
        values = m.arg if m.kind == "values" else m.arg[1]
        cond: exp.Expression = exp.In(this=col.copy(), expressions=[_n(v) for v in values])
        return exp.not_(cond) if m.negate else cond
    if m.kind.startswith("invalid_") and m.arg[0] == "between":
        return bound(Condition("between", *m.arg[1]), col)
    if m.kind.startswith("invalid_"):
        return regex_match(connector, col.copy(), m.arg[1])
    return None


def bound(cond: Condition, col: exp.Expression) -> exp.Expression:
    """`col` meets `cond` row by row (min(x) >= 0 holds when every x >= 0)."""
    if cond.high is not None:
        between = exp.Between(this=col.copy(), low=_n(cond.low), high=_n(cond.high))
        return between if cond.op == "between" else exp.not_(between)
    ops = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE, "=": exp.EQ, "!=": exp.NEQ, "<>": exp.NEQ}
    return ops[cond.op](this=col.copy(), expression=_n(cond.low))


def _lower_bound(check: Check) -> bool:
    """Does a row-level breach of the condition explain the failure (min's lower, max's upper bound)?"""
    op = check.fail.op
    if op in ("between", "="):
        return True
    return op in (">", ">=") if check.metric.kind == "min" else op in ("<", "<=")


@dataclass
class Aggregates:
    """The expressions of one table's statement, each computed once."""

    exprs: dict[str, exp.Expression] = field(default_factory=dict)

    def add(self, e: exp.Expression) -> str:
        key = e.sql()
        for alias, known in self.exprs.items():
            if known.sql() == key:
                return alias
        alias = f"m{len(self.exprs)}"
        self.exprs[alias] = e
        return alias

    def statement(self, rel: exp.Expression, dialect: str) -> str:
        select = exp.select(*[exp.alias_(e, a) for a, e in self.exprs.items()]).from_(exp.alias_(rel.copy(), SRC, table=True))
        return select.sql(dialect=dialect)


Reader = Callable[[dict[str, Any]], Any]


def _ratio(part: Any, whole: Any) -> float | None:
    return 100.0 * part / whole if whole else 0.0


def aggregate(connector, check: Check, col: exp.Expression | None, plan: Aggregates) -> Reader | None:
    """Register what `check` needs in `plan`; the function reading its value from the row.
    None: the metric cannot share the table's pass."""
    kind = check.metric.kind
    rows = plan.add(exp.Count(this=exp.Star()))
    if kind == "row_count":
        return lambda r: r[rows]
    if kind in GROUPED or kind in ("reference", "sql", "schema"):
        return None
    present = plan.add(exp.Count(this=col.copy()))
    if kind == "missing_count":
        return lambda r: r[rows] - r[present]
    if kind == "missing_percent":
        return lambda r: _ratio(r[rows] - r[present], r[rows])
    if kind in ("values", "invalid_count", "invalid_percent"):
        bad = plan.add(_count_if(exp.and_(exp.not_(exp.Is(this=col.copy(), expression=exp.Null())),
                                          exp.not_(valid(connector, check, col)))))
        if kind == "invalid_percent":
            return lambda r: _ratio(r[bad] or 0, r[rows])
        return lambda r: r[bad] or 0
    func = {"min": exp.Min, "max": exp.Max, "avg": exp.Avg, "sum": exp.Sum, "freshness": exp.Max}[kind]
    alias = plan.add(func(this=col.copy()))
    return lambda r: r[alias]


@dataclass
class Groups:
    """What one grouping of a column tells: non-null rows, distinct values, values that repeat,
    rows holding them, and the smallest and largest repeated value (the failing samples)."""

    values: int
    distinct: int
    repeated_values: int
    repeated_rows: int
    samples: list[str]

    def metric(self, kind: str) -> float:
        return {
            "distinct_count": self.distinct,
            "duplicate_count": self.values - self.distinct,
            "duplicate_percent": _ratio(self.values - self.distinct, self.values),
            "duplicate_values": self.repeated_values,
            "duplicate_rows": self.repeated_rows,
        }[kind]


def grouped_statements(rel: exp.Expression, names: list[str], dialect: str,
                       grouping_sets: bool) -> list[tuple[str, dict[int, str]]]:
    """Statements grouping each column once, each with a map from its `g` values to column names:
    with GROUPING SETS all columns in one pass over the table, else one statement per column."""
    if not grouping_sets or len(names) == 1:
        return [(_grouped(rel, [name], dialect, i), {i: name}) for i, name in enumerate(names)]
    k = len(names)
    # GROUPING(c1..ck) has a 1 bit for each column NOT grouped in the row's set
    tags = [(2 ** k - 1) - 2 ** (k - 1 - i) for i in range(k)]
    return [(_grouped(rel, names, dialect, None, tags), dict(zip(tags, names)))]


def _grouped(rel: exp.Expression, names: list[str], dialect: str, index: int | None,
             tags: list[int] | None = None) -> str:
    """Rows of (g, non-null rows, groups, repeated values, rows holding them, then the min and max
    repeated value of each column as text)."""
    cols = [column(n) for n in names]
    n = exp.column("n")
    repeated = exp.GT(this=n.copy(), expression=exp.Literal.number(1))
    src = exp.alias_(rel.copy(), SRC, table=True)
    count = exp.alias_(exp.Count(this=exp.Star()), "n")
    if tags is not None:
        inner = (exp.select(exp.alias_(exp.Grouping(expressions=[c.copy() for c in cols]), "g"),
                            *[exp.alias_(c.copy(), f"c{i}") for i, c in enumerate(cols)], count)
                 .from_(src).group_by(exp.GroupingSets(expressions=[exp.paren(c.copy()) for c in cols])))
        keep = exp.or_(*[exp.and_(exp.EQ(this=exp.column("g"), expression=exp.Literal.number(t)),
                                  exp.not_(exp.Is(this=exp.column(f"c{i}"), expression=exp.Null())))
                         for i, t in enumerate(tags)])
        key: exp.Expression = exp.column("g")
    else:
        not_null = exp.not_(exp.Is(this=cols[0].copy(), expression=exp.Null()))
        inner = exp.select(exp.alias_(cols[0].copy(), "c0"), count).from_(src).where(not_null).group_by(cols[0].copy())
        keep, key = None, exp.Literal.number(index)
    samples = [exp.cast(f(this=exp.Case(ifs=[exp.If(this=repeated.copy(), true=exp.column(f"c{i}"))])), "text")
               for i in range(len(cols)) for f in (exp.Min, exp.Max)]
    outer = exp.select(exp.alias_(key, "g"), exp.Sum(this=n.copy()), exp.Count(this=exp.Star()), _count_if(repeated.copy()),
                       exp.Sum(this=exp.Case(ifs=[exp.If(this=repeated.copy(), true=n.copy())], default=exp.Literal.number(0))),
                       *samples).from_(inner.subquery("grp"))
    if keep is not None:
        outer = outer.where(keep).group_by(exp.column("g"))
    return outer.sql(dialect=dialect)


def read_groups(rows: list[tuple], names: dict[int, str]) -> dict[str, Groups]:
    """`grouped_statements`' rows as `Groups` by column name (a column without rows has none)."""
    order = list(names.values())
    out = {}
    for g, values, distinct, rep_values, rep_rows, *bounds in rows:
        name = names[int(g)]
        i = order.index(name) if len(bounds) > 2 else 0
        low, high = bounds[2 * i], bounds[2 * i + 1]
        out[name] = Groups(int(values or 0), int(distinct or 0), int(rep_values or 0), int(rep_rows or 0),
                           [v for v in dict.fromkeys((low, high)) if v is not None])
    for name in order:
        out.setdefault(name, Groups(0, 0, 0, 0, []))
    return out


def orphans(rel: exp.Expression, name: str, target: exp.Expression, target_column: str) -> exp.Select:
    """Rows of `rel` whose `name` has no row in `target` (NULLs are not orphans)."""
    col = column(name)
    ref = exp.column(target_column, table="ref", quoted=True)
    exists = exp.Exists(this=exp.select(exp.Literal.number(1)).from_(exp.alias_(target.copy(), "ref", table=True))
                        .where(exp.EQ(this=ref, expression=col.copy())))
    return (exp.select().from_(exp.alias_(rel.copy(), SRC, table=True))
            .where(exp.and_(exp.not_(exp.Is(this=col.copy(), expression=exp.Null())), exp.not_(exists))))


def reference_sql(rel: exp.Expression, name: str, target: exp.Expression, target_column: str, dialect: str) -> str:
    return orphans(rel, name, target, target_column).select(exp.Count(this=exp.Star())).sql(dialect=dialect)


def sample_branch(connector, check: Check, key: str, rel: exp.Expression, name: str,
                  target: tuple[exp.Expression, str] | None = None) -> exp.Select | None:
    """Up to SAMPLE_ROWS failing rows of one failed check: (key, value as text)."""
    kind, col = check.metric.kind, column(name)
    text = exp.alias_(exp.cast(col.copy(), "text"), "v")
    tag = exp.alias_(exp.Literal.string(key), "k")
    src = exp.alias_(rel.copy(), SRC, table=True)
    not_null = exp.not_(exp.Is(this=col.copy(), expression=exp.Null()))
    if kind == "reference":
        return orphans(rel, name, *target).select(tag, text).limit(SAMPLE_ROWS)
    if kind in ("min", "max"):
        if not _lower_bound(check):
            return None
        bad = exp.and_(not_null, exp.not_(bound(check.fail, col)))
    else:
        bad = exp.and_(not_null, exp.not_(valid(connector, check, col)))
    return exp.select(tag, text).from_(src).where(bad).limit(SAMPLE_ROWS)


def samples_sql(branches: list[exp.Select], dialect: str) -> str:
    """One statement for every failed check's samples of a table."""
    parts = [exp.select("*").from_(b.subquery(f"s{i}")) for i, b in enumerate(branches)]
    query: exp.Expression = parts[0]
    for p in parts[1:]:
        query = exp.union(query, p, distinct=False)
    return query.sql(dialect=dialect)
