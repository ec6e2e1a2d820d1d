"""One table's profile: its row count, the profile statements, the plain aggregate for columns
that cannot be grouped, the foreign-key orphan counts, and the rows of the four quality frames.

Everything runs in the source engine on the table's own read-only connection, under a deadline
(`dsa.sessions`). What differs between engines is asked of the connector: session setup, the
sampled relation (`sample_source`), a consistent snapshot, several sessions at once
(`PARALLEL_SESSIONS`), and the shape of the profile SQL (`dsa.profile`).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Callable

from sqlglot import exp

from dsa import model, profile, score
from dsa.errors import one_line
from dsa.names import qualified_name
from dsa.sampling import AUTO_SAMPLE_ROWS, Sample, whole
from dsa.sessions import Deadline, TableTimeout, isolate, on_sessions, run

if TYPE_CHECKING:
    from dsa.options import QualityOptions
    from dsa.connectors.base import Connector

SENSITIVE = re.compile(
    r"pass(word|wd)?|pwd|secret|ssn|social_sec|e_?mail|token|api_?key|credit_?card|card_?num|cvv|iban|phone|salary|birth",
    re.IGNORECASE,
)


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
    checks: list[Any] = field(default_factory=list)  # the table's check outcomes (dsa.checks), if it has checks


def masked(task: TableTask, column: str, mask) -> bool:
    """Are `column`'s values never to be stored (`quality.mask`: sensitive-looking names, globs)?
    `task` is anything with `schema` and `table`."""
    if mask.auto and SENSITIVE.search(column):
        return True
    names = (f"{task.table}.{column}", f"{task.schema}.{task.table}.{column}", column)
    return any(fnmatchcase(n, p) for p in mask.columns for n in names)


def profile_table(connector: Connector, task: TableTask, options: QualityOptions, sample: Sample, top_k: int,
                  run_id: str, now: datetime, register: Callable[[Deadline | None], None] | None = None,
                  sessions: int | None = None) -> TableResult:
    """Profile one table on its own connection; where the engine declares PARALLEL_SESSIONS, its
    column statements may run on up to `sessions` (default `workers`) sessions at once."""
    started = time.perf_counter()
    conn = connector.connect()
    deadline = Deadline(options.timeout_s, connector.canceller(conn))
    if register:
        register(deadline)
    try:
        with deadline:
            connector.prepare_profile_session(conn, options)
            return _profile(conn, connector, task, options, sample, top_k, run_id, now, deadline, started,
                            sessions or options.workers)
    finally:
        if register:
            register(None)
        try:
            conn.close()
        except Exception:
            pass


def _profile(conn, connector: Connector, task: TableTask, options: QualityOptions, sample: Sample, top_k: int,
             run_id: str, now: datetime, deadline: Deadline, started: float, sessions: int) -> TableResult:
    rel = connector.profile_relation(task.schema, task.table)
    specs = [profile.column_spec(c["column_name"], c["type_family"], masked(task, c["column_name"], options.mask),
                                 connector.BOOLEAN_TEXT, bool(c.get("leads_index")))
             for c in task.columns]
    connector.begin_snapshot(conn)  # closing the connection ends it

    # exact row count first whenever the table may be sampled (not for 100%: the profile counts them;
    # nor for a percentage where the engine's estimate is reported instead, labelled)
    row_count, estimated = None, False
    if sample.may_sample(task.row_estimate):
        if sample.percent is not None and connector.ESTIMATED_COUNT_WHEN_SAMPLED and task.row_estimate:
            row_count, estimated = int(task.row_estimate), True
        else:
            row_count = int(run(conn, profile.count_sql(whole(rel), connector.dialect), deadline)[0][0])
    percent = sample.percent_of(row_count)
    large = (row_count or 0) >= AUTO_SAMPLE_ROWS
    keyed = connector.key_sample(conn, task.schema, task.table, rel, percent, task.columns) if percent is not None else None
    src, method = keyed or connector.sample_source(rel, percent, sample.rows_wanted() if percent is not None else None, large)

    stats: dict[int, dict[str, Any]] = {}
    if any(s.groupable for s in specs):
        try:
            rows = _grouped(conn, connector, specs, src, top_k, now, deadline, options, sessions)
        except TableTimeout:
            raise
        except Exception as exc:
            other = connector.resample(rel, percent, method, exc) if percent is not None else None
            if other is not None:
                src, method = other
            else:
                isolate(conn, connector.dialect, specs,
                        lambda cols: next(iter(connector.profile_statements(cols, src, top_k, now)), None),
                        deadline, _demote)
            rows = _grouped(conn, connector, specs, src, top_k, now, deadline, options, sessions)
        stats = profile.parse_result(rows, specs)
    odd_row = _odd_row(conn, connector, specs, src, deadline) if not stats or any(map(profile.odd_measured, specs)) else {}

    profiled = None
    for prof in stats.values():
        profiled = int(prof.get("total") or 0)
        break
    if profiled is None:
        profiled = int(odd_row.get("rows") or 0)
    if row_count is None:
        row_count = profiled
    orphans, fk_skipped = _orphans(conn, connector, task, src, deadline)
    findings = connector.table_findings(conn, task.schema, task.table)

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
            unique_expected=score.unique_expected({**row, "non_null": (row["total_count"] or 0) - (row.get("null_count") or 0)})[0],
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
        "row_count_estimated": estimated,
        "column_count": len(task.columns),
        "size_bytes": task.size_bytes,
        "sample_method": method,
        "sample_percent": percent if approximate else 100.0,
        "sample_rows": profiled,
        "sample_seed": connector.sample_seed(method),
        "approximate": approximate,
        "malformed_rows": sum(f["count"] for f in findings if f["finding"] == "malformed_rows") if findings else None,
        "findings": model.to_json(findings) if findings else None,
        "quality_score": table_score,
        "score_components": model.to_json({c["column_name"]: c["quality_score"] for c in result.columns}),
        "score_explanation": "empty table" if row_count == 0 else score.table_explanation(result.columns),
        "duration_s": time.perf_counter() - started,
        "profiled_at": datetime.now(timezone.utc),
    }
    return result


def _grouped(conn, connector: Connector, specs: list[profile.ColumnSpec], src: exp.Expression, top_k: int,
             now: datetime, deadline: Deadline, options: QualityOptions, sessions: int) -> list[tuple]:
    """The rows of the profile statements of every groupable column."""
    sqls = connector.profile_statements(specs, src, top_k, now)
    if connector.PARALLEL_SESSIONS and sessions > 1 and len(sqls) > 1:
        return connector.profile_rows(on_sessions(conn, connector, sqls, deadline, options, sessions), specs)
    rows: list[tuple] = []
    for sql in sqls:
        rows.extend(run(conn, sql, deadline))
    return connector.profile_rows(rows, specs)


def _demote(spec: profile.ColumnSpec, error: str) -> None:
    """What the engine refuses for a column, step by step: its type's own measures (a
    money or text-search type is no double or plain text), then its min/max (it may group what it cannot
    order), then its grouping (measured by the plain aggregate)."""
    if spec.family in profile.MEASURED:  # its type's own measures (TRIM, casts to double, ...)
        spec.skipped[f"{spec.family}_measures"] = error
        spec.family = "other"
        return
    if spec.ordered and spec.family != "boolean":
        spec.ordered = False
        spec.skipped["min_max"] = error
        return
    spec.groupable = False
    spec.skipped.update(distinct=error, top_values=error, min_max=error)


def _unmeasurable(spec: profile.ColumnSpec, error: str) -> None:
    spec.family = "unmeasurable"
    spec.skipped["count"] = error


def _odd_row(conn, connector: Connector, specs: list[profile.ColumnSpec], src: exp.Expression,
             deadline: Deadline) -> dict[str, Any]:
    """The plain aggregate of the columns that cannot be grouped (and the row count), by name."""
    try:
        result = run(conn, profile.odd_sql(specs, src, connector), deadline)
    except TableTimeout:
        raise
    except Exception:
        isolate(conn, connector.dialect, [s for s in specs if profile.odd_measured(s)],
                lambda cols: profile.odd_sql(cols, src, connector), deadline, _unmeasurable)
        result = run(conn, profile.odd_sql(specs, src, connector), deadline)
    return dict(zip(_odd_names(specs), result[0]))


def _orphans(conn, connector: Connector, task: TableTask, src: exp.Expression,
             deadline: Deadline) -> tuple[dict[str, int], dict[str, str]]:
    """Referential integrity: orphaned foreign-key values per column, counted by an anti-join in
    the engine, and the columns whose check failed (with why)."""
    orphans: dict[str, int] = {}
    fk_skipped: dict[str, str] = {}
    for fk in task.foreign_keys:
        cols, ref_cols = fk.get("columns") or [], fk.get("ref_columns") or []
        if not cols or len(cols) != len(ref_cols) or not fk.get("ref_table"):
            continue
        parent = exp.alias_(connector.profile_relation(fk.get("ref_schema") or task.schema, fk["ref_table"]), "ref", table=True)
        match = exp.and_(*[exp.EQ(this=exp.column(r, "ref", quoted=True), expression=exp.column(c, profile.SRC, quoted=True))
                           for c, r in zip(cols, ref_cols)])
        present = exp.and_(*[exp.not_(exp.Is(this=exp.column(c, profile.SRC, quoted=True), expression=exp.Null())) for c in cols])
        anti = exp.not_(exp.Exists(this=exp.select(exp.Literal.number(1)).from_(parent).where(match)))
        sql = exp.select(exp.Count(this=exp.Star())).from_(src.copy()).where(exp.and_(present, anti)).sql(dialect=connector.dialect)
        try:
            n = int(run(conn, sql, deadline)[0][0])
        except TableTimeout:
            raise
        except Exception as exc:
            for c in cols:
                fk_skipped[c] = f"orphan check failed: {one_line(str(exc))[:200]}"
            continue
        for c in cols:
            orphans[c] = orphans.get(c, 0) + n
    return orphans, fk_skipped


def _odd_names(specs: list[profile.ColumnSpec]) -> list[str]:
    names = ["rows"]
    for i, c in enumerate(specs):
        if not profile.odd_measured(c):
            continue
        if not c.groupable:
            names.append(f"c{i}")
        if c.family in profile.LENGTHS:
            names += [f"l{i}_min", f"l{i}_max", f"l{i}_avg"]
    return names


def _int(x: Any) -> int | None:
    return None if x is None else int(x)


def _column_row(base, task, col, spec, prof, odd_row, i, profiled, approximate) -> dict[str, Any]:
    family = spec.family if spec.family == "other" else col["type_family"]  # "other": its measures were refused
    row: dict[str, Any] = {
        **base,
        "table_qualified_name": task.qualified_name,
        "schema_name": task.schema,
        "table_name": task.table,
        "column_name": col["column_name"],
        "ordinal_position": col.get("ordinal_position"),
        "data_type": col.get("data_type"),
        "type_family": col["type_family"],
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
            quartiles = prof["quartiles"]
            row.update(q1=quartiles.get("q1"), median=quartiles.get("median"), q3=quartiles.get("q3"),
                       q1_value=quartiles.get("q1_value"), median_value=quartiles.get("median_value"),
                       q3_value=quartiles.get("q3_value"),
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
