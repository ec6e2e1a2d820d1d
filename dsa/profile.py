"""Column profiles as SQL that runs in the source engine: one statement per table, or one per
column where the engine declares it (`Connector.SPLIT`).

The statement groups the table once per column into rows of (value, count), one narrow
`GROUP BY` per column, each its own CTE. (A single `GROUPING SETS` scan was tried: one engine
sorted whole rows for every large set, another held one wide row per group of every column, so
it was slower on the first and needed ~3x the memory on the second.)
Everything else is derived from those few rows inside the engine, so no table row reaches
Python: null count (the NULL group), exact distinct count (the number of groups), min/max,
sums for mean and standard deviation, zero/negative/NaN/infinite counts, text lengths, empty
and whitespace-only counts, numbers stored as text, future and impossible dates, true/false
counts, exact quartiles (percentile_disc over the cumulative group counts), histogram bins and
the top-K values with a deterministic tie order (count descending, then value ascending: the
engine's own order, the column's collation for text: values compared as the engine does). Every
type is grouped; types without min()/max() aggregates are ordered (`_first`); what the engine
refuses is found and taken away by `dsa.table_profile`. A second, plain aggregate measures lengths
(json, arrays, blobs, ...) and the columns the engine cannot group (count, nulls).

The SQL is built from sqlglot expressions and rendered in the engine's dialect; the few places
where engines differ are facts the engine's connector declares (`MATERIALIZE`, `NAN`,
`REGEX`, `SPLIT`, `PREFILTER`, `BY_COUNT`, `LEAN_WINDOWS`, `BYTE_GROUPS`, `BOOLEAN_TEXT`, and
`shown_value`: see `dsa.connectors.base`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

if TYPE_CHECKING:
    from dsa.connectors.base import Connector

# families with measures of their own (sums, lengths, dates in the future, true/false counts)
MEASURED = {"integer", "decimal", "float", "string", "date", "timestamp", "boolean"}
# families with min()/max() aggregates in every engine; the others (uuid, binary, arrays, ...) take
# their minimum and maximum from the grouped rows by ORDER BY ... LIMIT 1, where the engine orders them
AGGREGATE_ORDER = {"integer", "decimal", "float", "string", "date", "time", "timestamp", "interval", "enum"}
NUMERIC = {"integer", "decimal", "float"}
DATES = {"date", "timestamp"}
TEXT = {"string"}
LENGTHS = {"binary", "json", "xml", "array", "struct", "map"}  # lengths measured by a plain aggregate
HIST_BINS = 20
DISPLAY_CHARS = 200  # values longer than this are truncated for display (counted whole)
OLDEST_VALID = "1900-01-01"
NUMBER_LIKE = "^[0-9.+-]*[0-9][0-9.+-]*$"  # only digits, signs and dots, at least one digit

# The measures of the per-column statistics row, in output order (m0, m1, ...).
MEASURES = (
    "total", "nulls", "distinct", "finite", "sum", "sumsq", "zeros", "negatives", "nans", "infinities",
    "min_length", "max_length", "sum_length", "empty", "whitespace", "numeric_text", "future", "invalid",
    "trues", "falses",
)


@dataclass
class ColumnSpec:
    name: str
    family: str
    masked: bool = False
    groupable: bool = True
    ordered: bool = True  # min/max (off when the engine cannot order the type)
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> reason
    words: tuple[str, str] = ("false", "true")  # how the engine writes a boolean column's values
    leads_index: bool = False  # an index of the table starts with this column (whole values): read in its order


def column_spec(name: str, family: str, masked: bool = False, words: tuple[str, str] = ("false", "true"),
                leads_index: bool = False) -> ColumnSpec:
    """Every column is grouped and ordered: what the engine refuses is found when it refuses
    (`dsa.table_profile`), so only that is skipped."""
    return ColumnSpec(name, family or "other", masked, words=words, leads_index=leads_index)


# -- small expression helpers ---------------------------------------------------------------

def _n(value: float | int) -> exp.Expression:
    return exp.Literal.number(value)


def _s(value: str) -> exp.Expression:
    return exp.Literal.string(value)


@lru_cache(maxsize=None)
def _type(to: str) -> exp.DataType:
    return exp.DataType.build(to)


def _cast(e: exp.Expression, to: str) -> exp.Expression:
    return exp.Cast(this=e, to=_type(to).copy())


def _case(when: exp.Expression, then: exp.Expression, default: exp.Expression | None = None) -> exp.Expression:
    case = exp.Case(ifs=[exp.If(this=when, true=then)])
    if default is not None:
        case.set("default", default)
    return case


def _sum(e: exp.Expression) -> exp.Expression:
    return exp.Sum(this=e)


def _as(e: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=e, alias=exp.to_identifier(name))


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _table(name: str) -> exp.Table:
    """A WITH element or alias by name, built (not parsed: parsing every name was a tenth of the
    time spent building the SQL)."""
    return exp.Table(this=exp.to_identifier(name))


def _limit(query: exp.Select, k: int) -> exp.Select:
    return query.limit(exp.Limit(expression=_n(k)), copy=False)


# the boolean builders without their defensive copies (every operand here is built for its place)
def _and(*e: exp.Expression) -> exp.Expression:
    return exp.and_(*e, copy=False)


def _or(*e: exp.Expression) -> exp.Expression:
    return exp.or_(*e, copy=False)


def _not(e: exp.Expression) -> exp.Expression:
    return exp.not_(e, copy=False)


def _paren(e: exp.Expression) -> exp.Expression:
    return exp.paren(e, copy=False)


SRC = "src"  # the alias every profiled relation gets, so table columns never clash with ours


def _src(name: str) -> exp.Column:
    return _col(name, SRC)


def _dbl(e: exp.Expression) -> exp.Expression:
    return _cast(e, "DOUBLE")


def _txt(e: exp.Expression) -> exp.Expression:
    return _cast(e, "TEXT")


def _ordered(e: exp.Expression, engine: Connector, desc: bool = False) -> exp.Ordered:
    """ORDER BY e with the engine's own null placement: nothing to translate (sqlglot would warn
    where a window function cannot say NULLS LAST). The ordered values are never NULL here."""
    ordering = Dialect.get_or_raise(engine.dialect).NULL_ORDERING
    return exp.Ordered(this=e, desc=desc, nulls_first=ordering == ("nulls_are_large" if desc else "nulls_are_small"))


def byte_order(e: exp.Expression) -> exp.Expression:
    """Text compared byte by byte (COLLATE "C"), where only a prefilter's bound needs it."""
    return exp.Collate(this=e, expression=exp.to_identifier("C", quoted=True))


def _is_nan(v: exp.Expression, engine: Connector) -> exp.Expression:
    if engine.NAN == "literals":
        return exp.EQ(this=v, expression=_cast(_s("NaN"), "DOUBLE"))
    if engine.NAN == "functions":
        return exp.Anonymous(this="isnan", expressions=[v])
    return exp.false()


def _is_inf(v: exp.Expression, engine: Connector) -> exp.Expression:
    if engine.NAN == "literals":
        return exp.In(this=v, expressions=[_cast(_s("Infinity"), "DOUBLE"), _cast(_s("-Infinity"), "DOUBLE")])
    if engine.NAN == "functions":
        return exp.Anonymous(this="isinf", expressions=[v])
    if engine.NAN == "overflow":
        return exp.In(this=v, expressions=[exp.Literal.number("9e999"), exp.Literal.number("-9e999")])
    return exp.false()


def _finite(v: exp.Expression, family: str, engine: Connector) -> exp.Expression:
    if family != "float" or engine.NAN is None:
        return _not(exp.Is(this=v, expression=exp.Null()))
    return _and(_not(exp.Is(this=v, expression=exp.Null())), _not(_is_nan(v.copy(), engine)), _not(_is_inf(v.copy(), engine)))


def _number_like(v: exp.Expression, engine: Connector) -> exp.Expression:
    trimmed = exp.Trim(this=v)
    if engine.REGEX == "glob":  # for engines without a REGEXP function: GLOB states the same rule
        return _and(
            exp.Glob(this=trimmed, expression=_s("*[0-9]*")),
            _not(exp.Glob(this=trimmed.copy(), expression=_s("*[^0-9.+-]*"))),
        )
    return engine.regex_match(trimmed, _s(NUMBER_LIKE))


# -- the statement ----------------------------------------------------------------------------

def _column_groups(c: ColumnSpec, i: int, source: exp.Expression, engine: Connector) -> exp.Expression:
    """Column i's grouped rows: v{i}, n (one row per distinct value, NULL included), and for text
    len, the value's length (computed once here: engines do not share the repeated LENGTH(v))."""
    key = _src(c.name)
    if engine.BYTE_GROUPS and c.family in TEXT:
        # grouped on the bytes, so lengths, empty and blank counts see every value as written;
        # distinct count, min/max and top values then compare these groups by the column's
        # collation (`_collated`)
        value, group = exp.Min(this=key), exp.Cast(this=key.copy(), to=_type("BINARY").copy())
    else:
        value, group = key, key.copy()
    select = (exp.select(_as(value, f"v{i}"), _as(exp.Count(this=exp.Star()), "n")).from_(source.copy(), copy=False)
              .group_by(group, copy=False))
    if c.family in TEXT:
        select = select.select(_as(exp.Length(this=value.copy()), "len"), copy=False)
    return select


def _first(i: int, g: str, engine: Connector, last: bool) -> exp.Expression:
    """The smallest (largest) value of column i's grouped rows by ORDER BY ... LIMIT 1: for types
    the engine orders but has no min()/max() for (such as uuid, byte strings, ranges, arrays)."""
    v = _col(f"v{i}")
    return _limit(exp.select(v.copy()).from_(_table(g), copy=False).where(_not_null(v.copy()), copy=False).order_by(
        _ordered(v.copy(), engine, desc=last), copy=False), 1).subquery(copy=False)


def _collated(i: int, g: str) -> exp.Expression:
    """Byte-wise groups `g` grouped again as the column's collation compares them."""
    v = _col(f"v{i}")
    return (exp.select(_as(exp.Min(this=v), f"v{i}"), _as(_sum(_col("n")), "n")).from_(_table(g), copy=False)
            .group_by(v.copy(), copy=False).subquery(f"c{i}", copy=False))


def _stat_measures(i: int, c: ColumnSpec, engine: Connector, now: datetime, filtered: bool = True) -> dict[str, exp.Expression]:
    """Aggregates over column i's grouped rows (`g{i}`: v{i}, n, len)."""
    v, n = _col(f"v{i}"), _col("n")

    def count_if(cond: exp.Expression) -> exp.Expression:
        return _sum(_case(cond, n.copy()))

    m: dict[str, exp.Expression] = {
        "total": _sum(n.copy()),
        "nulls": count_if(exp.Is(this=v.copy(), expression=exp.Null())),
        "distinct": exp.Count(this=exp.Distinct(expressions=[v.copy()]) if engine.BYTE_GROUPS and c.family in TEXT
                              else v.copy()),
    }
    f = c.family
    if f in NUMERIC:
        fin = _finite(v.copy(), f, engine)
        x = _case(fin, _dbl(v.copy()))
        m["finite"] = count_if(_finite(v.copy(), f, engine))
        m["sum"] = _sum(exp.Mul(this=x, expression=n.copy()))
        m["sumsq"] = _sum(exp.Mul(this=exp.Mul(this=x.copy(), expression=x.copy()), expression=n.copy()))
        m["zeros"] = count_if(exp.EQ(this=v.copy(), expression=_n(0)))
        m["negatives"] = count_if(exp.LT(this=v.copy(), expression=_n(0)))
        if f == "float" and engine.NAN:
            m["nans"] = count_if(_is_nan(v.copy(), engine))
            m["infinities"] = count_if(_is_inf(v.copy(), engine))
    if f in TEXT:
        length = _col("len")
        m["min_length"] = exp.Min(this=length)
        m["max_length"] = exp.Max(this=length.copy())
        m["sum_length"] = _sum(exp.Mul(this=length.copy(), expression=n.copy()))
        m["empty"] = count_if(exp.EQ(this=length.copy(), expression=_n(0)))
        blank = _and(exp.GT(this=length.copy(), expression=_n(0)),
                         exp.EQ(this=exp.Length(this=exp.Trim(this=v.copy())), expression=_n(0)))
        number_like = _number_like(v.copy(), engine)
        if engine.PREFILTER == "no_letter":
            cheap = _not(exp.Glob(this=v.copy(), expression=_s("*[A-Za-z]*")))
        elif engine.PREFILTER == "leading":
            cheap = exp.LT(this=byte_order(v.copy()), expression=_s("A"))
        if engine.PREFILTER:
            blank, number_like = _and(cheap, blank), _and(cheap.copy(), number_like)
        m["whitespace"] = count_if(blank)
        m["numeric_text"] = count_if(number_like)
    if f in DATES:
        cutoff = now.strftime("%Y-%m-%d") if f == "date" else now.strftime("%Y-%m-%d %H:%M:%S")
        m["future"] = count_if(exp.GT(this=v.copy(), expression=_s(cutoff)))
        invalid = exp.LT(this=v.copy(), expression=_s(OLDEST_VALID))
        unreadable = engine.invalid_date(v.copy())
        if unreadable is not None:  # an engine keeping dates as text
            invalid = _or(invalid, unreadable)
        m["invalid"] = count_if(_and(_not(exp.Is(this=v.copy(), expression=exp.Null())), _paren(invalid)))
    if f == "boolean":
        m["trues"] = count_if(exp.EQ(this=v.copy(), expression=exp.true()))
        m["falses"] = count_if(exp.EQ(this=v.copy(), expression=exp.false()))
    return m


def _display(e: exp.Expression) -> exp.Expression:
    return exp.Substring(this=_txt(e), start=_n(1), length=_n(DISPLAY_CHARS + 1))


def _row(kind: str, col: exp.Expression, pos: exp.Expression, t1: exp.Expression, t2: exp.Expression,
         ms: list[exp.Expression], source: str | exp.Expression, where: exp.Expression | None = None) -> exp.Select:
    """One part of the result's UNION ALL. (Built in place, copy=False: copying these wide
    selects at every builder step was a third of the time spent building the SQL.)"""
    columns = [_as(_s(kind), "kind"), _as(_cast(col, "INT"), "col"), _as(_cast(pos, "BIGINT"), "pos"),
               _as(_cast(t1, "TEXT"), "t1"), _as(_cast(t2, "TEXT"), "t2")]
    columns += [_as(_dbl(ms[k] if k < len(ms) else exp.Null()), f"m{k}") for k in range(len(MEASURES))]
    select = exp.Select(expressions=columns).from_(_table(source) if isinstance(source, str) else source, copy=False)
    return select if where is None else select.where(where, copy=False)


def _not_null(e: exp.Expression) -> exp.Expression:
    return _not(exp.Is(this=e, expression=exp.Null()))


def _by_count(i: int, groups: exp.Select, lo: exp.Expression | None, hi: exp.Expression | None,
              ms: list[exp.Expression], top_k: int) -> exp.Select:
    """Text columns on engines declaring BY_COUNT: column i's grouped rows grouped again by their count n.

    There are few such levels (distinct counts add up to at most the row count, so at most
    ~sqrt(2 * rows) of them). Every measure is a sum, count, min or max, so each level computes
    it over its own rows and `_by_count_rows` adds the levels up; each level keeps its K smallest
    values (MIN(v, K): a heap of plain strings), so the top values, count descending then value
    ascending, are among those. This replaces one aggregate with ARG_MIN(row, (-n, v), K), whose
    struct keys cost more than the rest of the aggregate together.
    """
    v = _col(f"v{i}")
    select = exp.select(_col("n")).from_(groups.subquery(f"g{i}", copy=False), copy=False).group_by(_col("n"), copy=False)
    for name, e in (("t1", lo), ("t2", hi)):
        select = select.select(_as(e or exp.Null(), name), copy=False)
    for k, m in enumerate(ms):
        if not isinstance(m, exp.Null):
            select = select.select(_as(m, f"m{k}"), copy=False)
    if top_k > 0:
        top = exp.Filter(this=exp.Min(this=v.copy(), expressions=[_n(top_k)]), expression=exp.Where(this=_not_null(v.copy())))
        select = select.select(_as(top, "top"), copy=False)
    return select


def _rollup(m: exp.Expression, name: str) -> exp.Expression:
    """The measure over all levels from its per-level values (column `name`)."""
    if isinstance(m, (exp.Sum, exp.Count)):
        return _sum(_col(name))
    if isinstance(m, (exp.Min, exp.Max)):
        return type(m)(this=_col(name))
    return exp.Null()


def _by_count_rows(i: int, c: ColumnSpec, ms: list[exp.Expression], shown: bool, top_k: int) -> list[exp.Select]:
    levels = f"l{i}"
    t1, t2 = (_display(exp.Min(this=_col("t1"))), _display(exp.Max(this=_col("t2")))) if shown else (exp.Null(), exp.Null())
    rows = [_row("stats", _n(i), exp.Null(), t1, t2, [_rollup(m, f"m{k}") for k, m in enumerate(ms)], levels)]
    if top_k > 0:
        v = _col(f"v{i}")
        each = exp.select(_col("n"), _as(exp.Unnest(expressions=[_col("top")]), f"v{i}")).from_(_table(levels), copy=False)
        inner = _limit(exp.select(_col("n"), v.copy()).from_(each.subquery(f"e{i}", copy=False), copy=False)
                       .order_by(exp.Ordered(this=_col("n"), desc=True), exp.Ordered(this=v.copy()), copy=False), top_k)
        rank = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[
            exp.Ordered(this=_col("n"), desc=True), exp.Ordered(this=v.copy())]))
        rows.append(_row("top", _n(i), rank, exp.Null() if c.masked else _display(v.copy()), exp.Null(), [_col("n")],
                         inner.subquery(f"t{i}", copy=False)))
    return rows


def _distribution(i: int, c: ColumnSpec, g: str, engine: Connector) -> tuple[list[tuple[str, exp.Expression]], list[exp.Select]]:
    """Numeric column i's exact quartiles (percentile_disc over the cumulative group counts) and
    histogram, from its grouped rows `g`: the CTEs to add and the result rows.

    The histogram's bins also split the running count: bin b's values come after `below` rows
    (a running sum over the 20 bins), so only the rows of the bins holding a quartile (three at
    most) are sorted, each bin on its own, instead of one window over every distinct value.
    """
    v, n, x, tot = _col(f"v{i}"), _col("n"), _col("x"), _col("tot")
    w, b, h = f"w{i}", f"b{i}", f"h{i}"
    finite = exp.select(_as(_dbl(v.copy()), "x"), n.copy(), v.copy()).from_(_table(g), copy=False).where(
        _finite(v.copy(), c.family, engine), copy=False).subquery("f", copy=False)
    totals = exp.select(_as(_sum(_dbl(n.copy())), "tot"), _as(exp.Min(this=x.copy()), "lo"),
                        _as(exp.Max(this=x.copy()), "hi")).from_(finite.copy(), copy=False)
    lo, hi = _col("lo"), _col("hi")
    scaled = exp.Floor(this=exp.Div(this=exp.Mul(this=_paren(exp.Sub(this=x.copy(), expression=lo.copy())),
                                                 expression=_n(HIST_BINS)),
                                    expression=_paren(exp.Sub(this=hi.copy(), expression=lo.copy()))))
    bin_ = exp.Case(ifs=[exp.If(this=exp.EQ(this=hi.copy(), expression=lo.copy()), true=_n(0)),
                         exp.If(this=exp.GTE(this=scaled, expression=_n(HIST_BINS)), true=_n(HIST_BINS - 1))],
                    default=scaled.copy())
    binned = (exp.select(_col("x", "f"), _col("n", "f"), _col(f"v{i}", "f"), _as(bin_, "b")).from_(finite, copy=False)
              .join(_table(w), join_type="cross", copy=False))
    running_bins = exp.Window(this=_sum(_sum(n.copy())), order=exp.Order(expressions=[_ordered(_col("b"), engine)]))
    bins = (exp.select(_col("b"), _as(_sum(n.copy()), "c"), _as(exp.Sub(this=running_bins, expression=_sum(n.copy())), "below"))
            .from_(_table(b), copy=False).group_by(_col("b"), copy=False))

    def holds(p: float) -> exp.Expression:  # the bin where the running count reaches p of the total
        target = exp.Mul(this=_n(p), expression=tot.copy())
        return _and(exp.LT(this=_col("below"), expression=target),
                        exp.GTE(this=exp.Add(this=_col("below"), expression=_col("c")), expression=target.copy()))

    def hit(p: float) -> exp.Expression:  # the value where it does
        target = exp.Mul(this=_n(p), expression=tot.copy())
        return _and(exp.GTE(this=_col("cum"), expression=target),
                        exp.LT(this=exp.Sub(this=_col("cum"), expression=n.copy()), expression=target.copy()))

    chosen = (exp.select(_col("b", h), _col("below", h)).from_(_table(h), copy=False).join(_table(w), join_type="cross", copy=False)
              .where(_or(holds(0.25), holds(0.5), holds(0.75)), copy=False))
    cum = exp.Add(this=_col("below", "k"), expression=exp.Window(
        this=_sum(_col("n", b) if engine.LEAN_WINDOWS else _dbl(_col("n", b))), partition_by=[_col("b", b)],
        order=exp.Order(expressions=[_ordered(_col(f"v{i}", b), engine)]),
        spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")))
    ranked = (exp.select(_col("x", b), _col("n", b), _col(f"v{i}", b), _as(cum, "cum"), _col("tot", w)).from_(_table(b), copy=False)
              .join(chosen.subquery("k", copy=False), on=exp.EQ(this=_col("b", b), expression=_col("b", "k")), copy=False)
              .join(_table(w), join_type="cross", copy=False))
    flags = [_case(hit(p), _n(1), _n(0)) for p in (0.25, 0.5, 0.75)]
    # the quartile as the engine writes it (every digit of a decimal); the double only for charts
    exact = exp.Null() if c.masked else _display(engine.shown_value(v.copy(), c.family))
    quartiles = _row("quartile", _n(i), exp.Null(), exact, exp.Null(), [x.copy(), *flags],
                     ranked.subquery(f"q{i}", copy=False), _or(hit(0.25), hit(0.5), hit(0.75)))
    histogram = (exp.select(_col("b", h), _col("c", h), _col("lo", w), _col("hi", w)).from_(_table(h), copy=False)
                 .join(_table(w), join_type="cross", copy=False))
    hist = _row("hist", _n(i), _col("b"), exp.Null(), exp.Null(), [_col("c"), lo.copy(), hi.copy()],
                histogram.subquery(f"r{i}", copy=False))
    return [(w, totals), (b, binned), (h, bins)], [quartiles, hist]


def profile_sql(columns: list[ColumnSpec], source: exp.Expression, engine: Connector, top_k: int,
                now: datetime | None = None, only: set[int] | None = None) -> str | None:
    """The one statement profiling every groupable column of `source`, or None if there are none.

    After the grouping, each column's parts read only its own grouped rows, so the work after
    the table scan is proportional to the number of distinct values. `only`: profile just these
    column indexes (the rows keep the indexes of `columns`).
    """
    now = now or datetime.now(timezone.utc)
    idx = [i for i, c in enumerate(columns) if c.groupable and (only is None or i in only)]
    if not idx:
        return None
    ctes: list[tuple[str, exp.Expression, bool]] = []
    if isinstance(source, exp.Subquery) and len(idx) > 1:
        # a sample is drawn once and shared by every column's grouping
        ctes.append(("s", source.this.copy(), engine.MATERIALIZE))
        source = exp.alias_(exp.to_table("s"), SRC, table=True)
    parts: list[exp.Expression] = []
    for i in idx:
        c = columns[i]
        v = _col(f"v{i}")
        g = f"g{i}"
        ctes.append((g, _column_groups(c, i, source, engine), engine.MATERIALIZE))
        # statistics: one row
        present = _stat_measures(i, c, engine, now, filtered=True)
        ms = [present.get(name, exp.Null()) for name in MEASURES]
        # not every engine has min(boolean): read from the counts
        shown = not c.masked and c.family != "boolean" and c.ordered
        value = _case(_not(_is_nan(v.copy(), engine)), v.copy()) if c.family == "float" and engine.NAN else v.copy()
        if c.family in AGGREGATE_ORDER:
            lo = exp.Min(this=value) if shown else None
            hi = exp.Max(this=value.copy()) if shown else None
        else:
            lo, hi = (_first(i, g, engine, False), _first(i, g, engine, True)) if shown else (None, None)
        if engine.BY_COUNT and c.family in TEXT:
            # the grouped rows are read once, not twice from a materialised copy: for a
            # near-unique text column that copy is as large as the column itself
            ctes[-1] = (f"l{i}", _by_count(i, _column_groups(c, i, source, engine), lo, hi, ms, top_k), True)
            parts.extend(_by_count_rows(i, c, ms, shown, top_k))
            continue
        t1, t2 = (_display(engine.shown_value(lo, c.family)), _display(engine.shown_value(hi, c.family))
                  ) if shown else (exp.Null(), exp.Null())
        parts.append(_row("stats", _n(i), exp.Null(), t1, t2, ms, g))

        # top values: a top-N (ORDER BY ... LIMIT) per column, ranked afterwards among those K rows
        if top_k > 0:
            key = v.copy()
            groups = _collated(i, g) if engine.BYTE_GROUPS and c.family in TEXT else g
            inner = _limit(exp.select(_col("n"), v.copy(), _as(key, "k"))
                           .from_(_table(groups) if isinstance(groups, str) else groups, copy=False)
                           .where(_not_null(v.copy()), copy=False)
                           .order_by(_ordered(_col("n"), engine, desc=True), _ordered(key.copy(), engine), copy=False), top_k)
            rank = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[
                _ordered(_col("n"), engine, desc=True), _ordered(_col("k"), engine)]))
            parts.append(_row("top", _n(i), rank, exp.Null() if c.masked else _display(engine.shown_value(_col(f"v{i}"), c.family)), exp.Null(),
                              [_col("n")], inner.subquery(f"t{i}", copy=False)))

        # exact quartiles (percentile_disc over cumulative counts) and histogram bins
        if c.family in NUMERIC:
            dist_ctes, dist_parts = _distribution(i, c, g, engine)
            ctes.extend((name, e, engine.MATERIALIZE) for name, e in dist_ctes)
            parts.extend(dist_parts)

        # dates: counts per month (the caller folds them into years for long ranges)
        if c.family in DATES and not c.masked:
            period = exp.Substring(this=_txt(v.copy()), start=_n(1), length=_n(7))
            per = exp.select(_as(period, "p"), _as(_sum(_col("n")), "c")).from_(_table(g), copy=False).where(
                _not_null(v.copy()), copy=False).group_by(period.copy(), copy=False)
            parts.append(_row("period", _n(i), exp.Null(), _col("p"), exp.Null(), [_col("c")], per.subquery(f"d{i}", copy=False)))

    body = parts[0]
    for p in parts[1:]:
        body = exp.union(body, p, distinct=False, copy=False)
    query = exp.select(exp.Star()).from_(body.subquery("out", copy=False), copy=False)
    for name, e, mat in ctes:
        query = query.with_(exp.TableAlias(this=exp.to_identifier(name)), as_=e, materialized=True if mat else None, copy=False)
    return query.sql(dialect=engine.dialect, copy=False)  # the tree is built here: no copy before generating


def odd_sql(columns: list[ColumnSpec], source: exp.Expression, engine: Connector) -> str:
    """A plain aggregate: rows, the non-null count of columns that cannot be grouped, lengths."""
    select = exp.select(exp.Count(this=exp.Star()).as_("rows"))
    for i, c in enumerate(columns):
        if not odd_measured(c):
            continue
        col = _src(c.name)
        if not c.groupable:
            select = select.select(exp.Count(this=col).as_(f"c{i}"), copy=False)
        if c.family in LENGTHS:
            length = engine.byte_length(col.copy()) if c.family == "binary" else exp.Length(this=_txt(col.copy()))
            select = select.select(exp.Min(this=length).as_(f"l{i}_min"), exp.Max(this=length.copy()).as_(f"l{i}_max"),
                                   exp.Avg(this=_dbl(length.copy())).as_(f"l{i}_avg"))
    return select.from_(source.copy()).sql(dialect=engine.dialect)


def odd_measured(c: ColumnSpec) -> bool:
    """Is the column in the plain aggregate (`odd_sql`)?"""
    return c.family != "unmeasurable" and (not c.groupable or c.family in LENGTHS)


def count_sql(source: exp.Expression, dialect: str) -> str:
    return exp.select(exp.Count(this=exp.Star())).from_(source.copy()).sql(dialect=dialect)


def probe_sql(sql: str, dialect: str) -> str:
    """The same statement returning no rows: checks that the engine accepts it without reading data."""
    from sqlglot import parse_one

    return exp.select("*").from_(parse_one(sql, read=dialect).subquery("p")).where(exp.false()).sql(dialect=dialect)


# -- reading the result ------------------------------------------------------------------------

def text_value(value: Any, family: str, words: tuple[str, str] = ("false", "true")) -> str | None:
    """A value as the engine writes it: decimals in the engine's own text (scale and every digit
    kept), booleans in the engine's words (`words`: false, true), floats as Python prints them."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", errors="replace")
    if family == "boolean":
        return words[str(value).strip().lower() in ("1", "t", "true")]
    if family == "decimal" and isinstance(value, str):
        return value
    if family == "integer":
        try:
            return str(int(str(value).split(".")[0])) if "e" not in str(value).lower() else str(int(float(value)))
        except ValueError:
            return str(value)
    if family in ("float", "decimal"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        if family == "decimal" and number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return repr(number)
    return str(value)


def statements(columns: list[ColumnSpec], source: exp.Expression, engine: Connector, top_k: int,
               now: datetime | None = None) -> list[str]:
    """The statements profiling every groupable column: one, or one per column where the engine
    is better off that way (`Connector.SPLIT`). Text columns come first: their groupings tend to be
    the slowest, and run on several sessions, a slow one started last would run alone at the end."""
    split = engine.SPLIT
    if split == "always" or (split == "full" and not isinstance(source, exp.Subquery)):
        order = sorted(range(len(columns)), key=lambda i: columns[i].family not in TEXT)
        sqls = [profile_sql(columns, source, engine, top_k, now, only={i}) for i in order if columns[i].groupable]
    elif engine.MAX_WITH:
        sqls = [profile_sql(columns, source, engine, top_k, now, only=set(batch))
                for batch in _batches(columns, engine.MAX_WITH)]
    else:
        sqls = [profile_sql(columns, source, engine, top_k, now)]
    return [s for s in sqls if s is not None]


def _batches(columns: list[ColumnSpec], most: int) -> list[list[int]]:
    """Column indexes in groups whose statements name at most `most` WITH elements: a grouping per
    column, three more per number column (quartiles and histogram), one for a shared sample."""
    batches: list[list[int]] = [[]]
    used = 1
    for i, c in enumerate(columns):
        if not c.groupable:
            continue
        need = 4 if c.family in NUMERIC else 1
        if batches[-1] and used + need > most:
            batches.append([])
            used = 1
        batches[-1].append(i)
        used += need
    return [b for b in batches if b]


def parse_result(rows: list[tuple], columns: list[ColumnSpec]) -> dict[int, dict[str, Any]]:
    """Turn the statement's rows into one dict per column index."""
    out: dict[int, dict[str, Any]] = {i: {"top": [], "quartiles": {}, "hist": [], "periods": []}
                                      for i, c in enumerate(columns) if c.groupable}
    for row in rows:
        kind, col, pos, t1, t2, *ms = row
        col = int(col)
        c = columns[col]
        prof = out[col]
        if kind == "stats":
            for name, value in zip(MEASURES, ms):
                prof[name] = value
            prof["min"] = text_value(t1, c.family)
            prof["max"] = text_value(t2, c.family)
            if c.family == "boolean" and not c.masked:
                trues, falses = prof.get("trues") or 0, prof.get("falses") or 0
                no, yes = c.words
                prof["min"] = no if falses else (yes if trues else None)
                prof["max"] = yes if trues else (no if falses else None)
        elif kind == "top":
            prof["top"].append((int(pos), None if t1 is None else text_value(t1, c.family, c.words), int(ms[0])))
        elif kind == "quartile":
            for name, flag in zip(("q1", "median", "q3"), ms[1:4]):
                if flag:
                    prof["quartiles"][name] = ms[0]
                    prof["quartiles"][f"{name}_value"] = text_value(t1, c.family)
        elif kind == "hist":
            prof["hist"].append((int(pos), int(ms[0]), ms[1], ms[2]))
        elif kind == "period":
            prof["periods"].append((t1, int(ms[0])))
        elif kind in ("hist_end", "period_end"):  # the running count at a bin's (month's) last value
            prof.setdefault(kind, []).append((int(pos) if kind == "hist_end" else t1, int(ms[0]), ms[1], ms[2]))
    for prof in out.values():
        for kind, key in (("hist_end", "hist"), ("period_end", "periods")):
            below = 0
            for at, running, lo, hi in sorted(prof.pop(kind, [])):
                prof[key].append((at, running - below, lo, hi) if key == "hist" else (at, running - below))
                below = running
        prof["top"].sort()
        prof["hist"].sort()
        prof["periods"].sort(key=lambda p: (p[0] is None, p[0] or ""))
    return out
