"""Column profiles for engines that compute a WITH element again for every reference to it
(`Connector.profile_statements`): one statement per column that reads its grouped rows once.

`dsa.profile` derives each measure from a column's grouped rows in its own part of a UNION ALL;
an engine that does not share a WITH element between those parts groups the whole table again
for each (MariaDB: seven times per number column). Here the grouped rows (value, count) are read
once, in one of two shapes:

- values the engine compares as stored (numbers, dates, enums, binary, ...): every measure is a
  window over the grouped rows (`_windowed`): sums `OVER ()` for the statistics, the running
  count in value order (a quartile is the first value whose running count reaches 25/50/75% of
  the values: percentile_disc, exact; the last value of each histogram bin and of each month
  carries the running count there, which `parse_result` turns into counts: `hist_end`,
  `period_end`), the next value, min/max as the first and last values, and the rank by count
  descending, then value (top values). The windows cost a pass over the grouped rows each, far
  less than a rollup that groups them again;
- text, grouped on its bytes (lengths and blanks exact for every value as written) and again
  under the column's collation: a GROUP BY ... WITH ROLLUP over the byte groups, whose total row
  holds every measure as a plain aggregate (rows, nulls, distinct values, min/max, lengths, blank
  and number-like text: MariaDB computes MIN() and MAX() windows row by row, in quadratic time),
  and the rank of the values for the top values.

The rows come out in `dsa.profile`'s form (kind, col, pos, t1, t2, m0...), one per kind a picked
row is: the rows are crossed with the kinds once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlglot import exp

from dsa.profile import (DATES, HIST_BINS, MEASURES, NUMERIC, SRC, TEXT, ColumnSpec, _as, _case, _col, _column_groups,
                         _dbl, _display, _finite, _n, _not_null, _ordered, _row, _s, _stat_measures, _txt)

if TYPE_CHECKING:
    from dsa.connectors.base import Connector

_STAND_IN = "dsa sampled rows"  # the name a sample stands under while statements are built
# families grouped by sorting (numbers and times of day: often many distinct values); the others
# (dates, text, enums, ...) by MariaDB's hash of groups, cheaper for a few thousand values
SORTED_GROUPS = {"integer", "decimal", "float", "timestamp"}
_FULL = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="UNBOUNDED", end_side="FOLLOWING")
_RUNNING = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")


def statements(columns: list[ColumnSpec], source: exp.Expression, engine: Connector, top_k: int,
               now: datetime | None = None) -> list[str]:
    """One statement per groupable column, text columns first (their groupings are the slowest:
    started last on several sessions, one would run alone at the end)."""
    now = now or datetime.now(timezone.utc)
    order = sorted(range(len(columns)), key=lambda i: columns[i].family not in TEXT)
    sampled = None
    if isinstance(source, exp.Subquery):
        # a sample's rows (a condition of a hundred key ranges) written once, not copied into
        # and written out of every column's tree: each statement names a stand-in, replaced
        sampled = source.sql(dialect=engine.dialect)
        source = exp.alias_(exp.Table(this=exp.to_identifier(_STAND_IN, quoted=True)), SRC, table=True)
    sqls = [column_sql(columns[i], i, source, engine, top_k, now) for i in order if columns[i].groupable]
    if sampled is None:
        return sqls
    stand_in = source.sql(dialect=engine.dialect)
    if not all(s.count(stand_in) == 1 for s in sqls):
        raise ValueError(f"a column statement names {stand_in} more than once")
    return [s.replace(stand_in, sampled) for s in sqls]


def _window(fn: exp.Expression, *order: exp.Expression, spec: exp.WindowSpec | None = None) -> exp.Window:
    return exp.Window(this=fn, order=exp.Order(expressions=list(order)) if order else None,
                      spec=spec.copy() if spec is not None else None)


def column_sql(c: ColumnSpec, i: int, source: exp.Expression, engine: Connector, top_k: int, now: datetime) -> str:
    """Column i's statement: windows over its grouped rows (`_windowed`), or for text, whose
    values are grouped again under the column's collation, a rollup of those groups."""
    if c.family not in TEXT:
        return _windowed(c, i, source, engine, top_k, now)
    v, n, k = _col(f"v{i}"), _col("n"), _col("k")
    numeric, dates = c.family in NUMERIC, c.family in DATES and not c.masked
    shown = not c.masked and c.family != "boolean" and c.ordered
    bounded = c.ordered and (shown or numeric)  # min/max taken: shown, or a histogram's bounds

    # the values and their total: GROUP BY k, v WITH ROLLUP, k (v IS NULL) never NULL but in the
    # total row, which is so told from the NULL value; the NULL value's own rows are left out
    grouped = _column_groups(c, i, source, engine)
    keyed = exp.select(_as(exp.Is(this=v.copy(), expression=exp.Null()), "k"), v.copy(), n.copy())
    if c.family in TEXT:
        keyed = keyed.select(_col("len"), copy=False)
    keyed = keyed.from_(grouped.subquery("g", copy=False), copy=False)
    totals = exp.select(k.copy(), v.copy(), _as(exp.Sum(this=n.copy()), "n"))
    measures = _stat_measures(i, c, engine, now)
    for m, name in enumerate(MEASURES):
        if name in measures:
            totals = totals.select(_as(measures[name], f"m{m}"), copy=False)
    if bounded:
        totals = totals.select(_as(exp.Min(this=v.copy()), "lo"), _as(exp.Max(this=v.copy()), "hi"), copy=False)
    counted = _finite(v.copy(), c.family, engine)  # the values quartiles and histograms count
    if numeric:
        totals = totals.select(_as(exp.Sum(this=_case(counted.copy(), n.copy())), "tot"), copy=False)
    totals = totals.from_(keyed.subquery("e", copy=False), copy=False).group_by(k.copy(), v.copy(), copy=False)
    totals.set("group", exp.Group(expressions=[k.copy(), v.copy()], rollup=[exp.Rollup(expressions=[])]))
    is_total = exp.Is(this=k.copy(), expression=exp.Null())
    # the total and the non-null values (not the NULL value's rows nor the subtotals): a WHERE
    # around the rollup (MariaDB's HAVING does not see the total row's NULLs)
    wanted = exp.or_(is_total.copy(), exp.and_(exp.EQ(this=k.copy(), expression=exp.false()), _not_null(v.copy())))

    # windows over the values, the total row last
    last = _ordered(is_total.copy(), engine)
    by_value = [last, _ordered(v.copy(), engine)]
    windows: dict[str, exp.Expression] = {
        "rk": _window(exp.RowNumber(), last.copy(), _ordered(n.copy(), engine, desc=True), _ordered(v.copy(), engine))}
    if numeric or dates:
        windows["cum"] = _window(exp.Sum(this=n.copy()), *[o.copy() for o in by_value], spec=_RUNNING)
        windows["nxt"] = _window(exp.Lead(this=_case(exp.not_(is_total.copy()), v.copy())), *[o.copy() for o in by_value])
    if numeric:
        for name in ("lo", "hi", "tot"):  # the total row's, on every row
            windows[f"all_{name}"] = _window(exp.LastValue(this=_col(name)), *[o.copy() for o in by_value], spec=_FULL)
    inner = exp.select("*")
    for name, e in windows.items():
        inner = inner.select(_as(e, name), copy=False)
    inner = inner.from_(totals.subquery("t", copy=False), copy=False).where(wanted, copy=False)

    stats_ms = [_col(f"m{m}") if name in measures else exp.Null() for m, name in enumerate(MEASURES)]
    t1, t2 = ((_display(engine.shown_value(_col("lo"), c.family)), _display(engine.shown_value(_col("hi"), c.family)))
              if shown else (exp.Null(), exp.Null()))
    rows = [(is_total.copy(), ("stats", exp.Null(), t1, t2, stats_ms))]
    detail = exp.not_(is_total.copy())
    if top_k > 0:
        keep = exp.and_(detail.copy(), exp.LTE(this=_col("rk"), expression=_n(top_k)))
        rows.append((keep, ("top", _col("rk"), exp.Null() if c.masked else _display(engine.shown_value(v.copy(), c.family)),
                            exp.Null(), [n.copy()])))
    if numeric:
        x, lo, hi = _dbl(v.copy()), _dbl(_col("all_lo")), _dbl(_col("all_hi"))

        def bin_of(value: exp.Expression) -> exp.Expression:
            scaled = exp.Floor(this=exp.Div(this=exp.Mul(this=exp.paren(exp.Sub(this=value, expression=lo.copy())),
                                                         expression=_n(HIST_BINS)),
                                            expression=exp.paren(exp.Sub(this=hi.copy(), expression=lo.copy()))))
            return exp.Case(ifs=[exp.If(this=exp.EQ(this=hi.copy(), expression=lo.copy()), true=_n(0)),
                                 exp.If(this=exp.GTE(this=scaled, expression=_n(HIST_BINS)), true=_n(HIST_BINS - 1))],
                            default=scaled.copy())

        _value_ends(rows, c, engine, v, n, x, lo, hi, _col("all_tot"), exp.and_(detail.copy(), counted.copy()), bin_of)
    if dates:
        _month_ends(rows, v, detail)
    return _kinds(i, rows, inner).sql(dialect=engine.dialect, copy=False)


def _value_ends(rows: list, c: ColumnSpec, engine: Connector, v: exp.Expression, n: exp.Expression,
                x: exp.Expression, low: exp.Expression, high: exp.Expression, total: exp.Expression,
                counted_here: exp.Expression, bin_of) -> None:
    """The kinds read off the values in order, added to `rows`: the quartiles (the value where the
    running count `cum` first reaches p * `total`) and each histogram bin's last value, of the
    rows `counted_here`; `x` is the value as a double, `low`/`high` the histogram's bounds."""
    def hit(p: float) -> exp.Expression:
        target = exp.Mul(this=_n(p), expression=total.copy())
        return exp.and_(exp.GTE(this=_col("cum"), expression=target),
                        exp.LT(this=exp.Sub(this=_col("cum"), expression=n.copy()), expression=target.copy()))

    hits = [hit(p) for p in (0.25, 0.5, 0.75)]
    exact = exp.Null() if c.masked else _display(engine.shown_value(v.copy(), c.family))
    rows.append((exp.and_(counted_here.copy(), exp.or_(*[h.copy() for h in hits])),
                 ("quartile", exp.Null(), exact, exp.Null(), [x.copy(), *[_case(h, _n(1), _n(0)) for h in hits]])))

    # the last value of its bin: the next value's bin is further (values ascend; the bin of a
    # value below the maximum needs no bounding, and with one value there is no next one)
    def scaled(value: exp.Expression) -> exp.Expression:
        return exp.Floor(this=exp.Div(this=exp.Mul(this=exp.paren(exp.Sub(this=value, expression=low.copy())),
                                                   expression=_n(HIST_BINS)),
                                      expression=exp.paren(exp.Sub(this=high.copy(), expression=low.copy()))))

    further = exp.GT(this=exp.Least(this=scaled(_dbl(_col("nxt"))), expressions=[_n(HIST_BINS - 1)]),
                     expression=scaled(x.copy()))
    end = exp.and_(counted_here.copy(), exp.or_(exp.Is(this=_col("nxt"), expression=exp.Null()), further))
    rows.append((end, ("hist_end", bin_of(x.copy()), exp.Null(), exp.Null(), [_col("cum"), low.copy(), high.copy()])))


def _month_ends(rows: list, v: exp.Expression, values: exp.Expression) -> None:
    """Each month's last value among the rows `values`, added to `rows` (months in value order)."""
    def period(e: exp.Expression) -> exp.Expression:
        return exp.Substring(this=_txt(e), start=_n(1), length=_n(7))

    end = exp.and_(values.copy(), exp.or_(exp.Is(this=_col("nxt"), expression=exp.Null()),
                                          exp.NEQ(this=period(_col("nxt")), expression=period(v.copy()))))
    rows.append((end, ("period_end", exp.Null(), period(v.copy()), exp.Null(), [_col("cum")])))

def _kinds(i: int, rows: list[tuple[exp.Expression, tuple]], inner: exp.Select) -> exp.Select:
    """The picked rows in `dsa.profile`'s form: `inner` crossed with the kinds, each row kept for
    the kinds whose condition it meets (`rows`: condition, (kind, pos, t1, t2, measures))."""
    kind = _col("kind", "kinds")
    table = exp.select(_as(_s(rows[0][1][0]), "kind"))
    for _, spec in rows[1:]:
        table = exp.union(table, exp.select(_as(_s(spec[0]), "kind")), distinct=False, copy=False)

    def by_kind(values: list[tuple[str, exp.Expression]]) -> exp.Expression:
        ifs = [exp.If(this=exp.EQ(this=kind.copy(), expression=_s(name)), true=e)
               for name, e in values if not isinstance(e, exp.Null)]
        return exp.Case(ifs=ifs) if ifs else exp.Null()

    pos, t1, t2 = (by_kind([(spec[0], spec[j]) for _, spec in rows]) for j in (1, 2, 3))
    ms = [by_kind([(spec[0], spec[4][m]) for _, spec in rows if m < len(spec[4])]) for m in range(len(MEASURES))]
    chosen = exp.or_(*[exp.and_(exp.EQ(this=kind.copy(), expression=_s(spec[0])), cond) for cond, spec in rows])
    out = _row("kind", _n(i), pos, t1, t2, ms, inner.subquery("w", copy=False), chosen)
    out.set("expressions", [_as(kind.copy(), "kind"), *out.expressions[1:]])
    return out.join(table.subquery("kinds", copy=False), join_type="cross", copy=False)


def _windowed(c: ColumnSpec, i: int, source: exp.Expression, engine: Connector, top_k: int, now: datetime) -> str:
    """A column whose grouped rows are its values as the engine compares them (not text): every
    measure is a window over those rows, computed in two sorts of them.

    - `SUM(...) OVER ()` (one pass, no sort): the statistics (rows, distinct values, sums,
      zeros, ...), and the non-null rows (quartiles' total; nulls are the rest);
    - in value order (NULL first, MariaDB's ascending order): the running count (quartiles,
      histogram and month ends), the next value, and min/max as the first non-null and the last
      value (FIRST_VALUE, NTH_VALUE(2) after a NULL, LAST_VALUE over the whole frame: MariaDB's
      MIN() and MAX() windows recompute the frame for every row, in quadratic time);
    - by count descending, then value: the rank (top values; the NULL value ranked last).

    Each window costs a pass over the grouped rows, so equal measures share one. The rows a
    kind needs are picked by one WHERE over the windows' rows (the first-ranked row carries the
    statistics), then crossed with the kinds (`_kinds`).
    """
    v, n = _col(f"v{i}"), _col("n")
    numeric, dates = c.family in NUMERIC, c.family in DATES and not c.masked
    shown = not c.masked and c.family != "boolean" and c.ordered
    bounded = c.ordered and (shown or numeric)
    counted = _finite(v.copy(), c.family, engine)
    by_value = [_ordered(v.copy(), engine)]
    is_null = exp.Is(this=v.copy(), expression=exp.Null())
    present = _not_null(v.copy())

    windows: dict[str, exp.Expression] = {
        "rk": _window(exp.RowNumber(), _ordered(is_null.copy(), engine), _ordered(n.copy(), engine, desc=True),
                      _ordered(v.copy(), engine)),
        "nn": _window(exp.Sum(this=_case(present.copy(), n.copy()))),  # the non-null rows
    }
    shared = {windows["nn"].this.sql(dialect=engine.dialect): "nn"}
    measures = _stat_measures(i, c, engine, now)
    stats_ms: list[exp.Expression] = []
    for m, name in enumerate(MEASURES):
        e = measures.get(name)
        if e is None:
            stats_ms.append(exp.Null())
            continue
        if name == "nulls":  # the rows less the non-null ones
            stats_ms.append(exp.Sub(this=_col("m0"), expression=exp.Coalesce(this=_col("nn"), expressions=[_n(0)])))
            continue
        assert not isinstance(e, (exp.Min, exp.Max))  # quadratic as windows
        key = e.sql(dialect=engine.dialect)
        if key not in shared:
            shared[key] = f"m{m}"
            windows[f"m{m}"] = _window(e)
        stats_ms.append(_col(shared[key]))
    if bounded:
        windows["f1"] = _window(exp.FirstValue(this=v.copy()), *by_value, spec=_FULL)
        windows["f2"] = _window(exp.NthValue(this=v.copy(), offset=_n(2)), *by_value, spec=_FULL)
        windows["hi"] = _window(exp.LastValue(this=v.copy()), *by_value, spec=_FULL)
    if numeric or dates:
        windows["cum"] = _window(exp.Sum(this=_case(counted.copy(), n.copy())), *by_value, spec=_RUNNING)
        windows["nxt"] = _window(exp.Lead(this=v.copy()), *by_value)
    if numeric:  # the values quartiles count: the non-null ones (MariaDB stores no NaN)
        total = exp.Sum(this=_case(counted.copy(), n.copy()))
        tot = _col(shared.setdefault(total.sql(dialect=engine.dialect), "tot"))
        if tot.name == "tot":
            windows["tot"] = _window(total)
    inner = exp.select(v.copy(), n.copy())
    for name, e in windows.items():
        inner = inner.select(_as(e, name), copy=False)
    grouped = _column_groups(c, i, source, engine)
    for e in grouped.expressions:  # counts as doubles (exact below 2^53): every window sums them,
        if e.alias == "n":        # and MariaDB sums integers as decimals, three times slower
            e.set("this", _dbl(e.this))
    if c.family in SORTED_GROUPS and not c.leads_index:
        # sorted, then counted (MariaDB's hash of groups costs twice a sort at 90,000 values);
        # a column an index starts with is read in the index's order, neither hashed nor sorted
        grouped.set("operation_modifiers", [exp.var("SQL_BIG_RESULT")])
    inner = inner.from_(grouped.subquery("g", copy=False), copy=False)

    # the smallest value: the first, or the second after the NULL value
    lo = exp.Coalesce(this=_col("f1"), expressions=[_col("f2")]) if bounded else exp.Null()
    hi = _col("hi") if bounded else exp.Null()
    t1, t2 = ((_display(engine.shown_value(lo.copy(), c.family)), _display(engine.shown_value(hi.copy(), c.family)))
              if shown else (exp.Null(), exp.Null()))
    rows = [(exp.EQ(this=_col("rk"), expression=_n(1)), ("stats", exp.Null(), t1, t2, stats_ms))]
    if top_k > 0:
        keep = exp.and_(present.copy(), exp.LTE(this=_col("rk"), expression=_n(top_k)))
        rows.append((keep, ("top", _col("rk"), exp.Null() if c.masked else _display(engine.shown_value(v.copy(), c.family)),
                            exp.Null(), [n.copy()])))
    if numeric:
        x, low, high = _dbl(v.copy()), _dbl(lo.copy()), _dbl(hi.copy())

        def bin_of(value: exp.Expression) -> exp.Expression:
            """Its bin of HIST_BINS between the bounds: the last holds the maximum; one bin if
            they are equal."""
            width = exp.Nullif(this=exp.Sub(this=high.copy(), expression=low.copy()), expression=_n(0))
            scaled = exp.Floor(this=exp.Div(this=exp.Mul(this=exp.paren(exp.Sub(this=value, expression=low.copy())),
                                                         expression=_n(HIST_BINS)), expression=width))
            return exp.Coalesce(this=exp.Least(this=scaled, expressions=[_n(HIST_BINS - 1)]), expressions=[_n(0)])

        same = counted.sql(dialect=engine.dialect) == present.sql(dialect=engine.dialect)
        counted_here = present.copy() if same else exp.and_(present.copy(), counted.copy())
        _value_ends(rows, c, engine, v, n, x, low, high, tot, counted_here, bin_of)
    if dates:
        _month_ends(rows, v, present)
    # the picked rows only are crossed with the kinds
    picked = exp.select("*").from_(inner.subquery("a", copy=False), copy=False).where(
        exp.or_(*[cond.copy() for cond, _ in rows]), copy=False)
    return _kinds(i, rows, picked).sql(dialect=engine.dialect, copy=False)
