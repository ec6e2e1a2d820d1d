"""The quality run: profile every table of a source's newest scan into a new immutable run.

Per table, in the source engine (`dsa.table_profile`): an exact `count(*)` when sampling may
apply (`dsa.sampling`), the profile statements of `dsa.profile` (plus a plain aggregate for
columns that cannot be grouped), and one anti-join per foreign key counting orphaned values.
Tables run in parallel (`quality.workers`), each on its own read-only connection with a deadline
(the smaller of the source's `timeout_s` and `quality.timeout_s`, `dsa.sessions`): the engine's
statement timeout where it has one, and an interrupt of the connection when the deadline passes. A failing or timed-out table is recorded
and the run ends `partial`; Ctrl-C interrupts the running statements and keeps every table that
finished. The source's checks (`dsa.checks`) are judged with each profiled table, reusing what
its profile measured; the run's metrics then feed the monitors (`dsa.monitors`), and new check
failures and anomalies are posted to the alert webhooks (`dsa.alerts`).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Any, Callable

from dsa import alerts, model, monitors, score
from dsa.catalog import latest_run
from dsa.checks.evaluate import targets
from dsa.checks.run import changes_for, check_profiled, write_results
from dsa.config import Config, effective_timeout
from dsa.connectors import open_source
from dsa.errors import ConfigError, NotFound, one_line, scrub
from dsa.sampling import Sample, parse_sample
from dsa.sessions import Deadline, TableTimeout
from dsa.store import Store
from dsa.table_profile import TableResult, TableTask, profile_table

__all__ = ["quality", "profile_table", "parse_sample", "Sample", "QualityResult", "TableTask", "TableResult",
           "TableTimeout"]

PROFILED_TYPES = ("table", "partitioned_table", "materialized_view", "foreign_table", "external")

Progress = Callable[[int, int, str], None]


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
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {metric: why}
    malformed: dict[str, int] = field(default_factory=dict)  # table -> rows not fitting its columns

    def summary(self) -> str:
        status = self.status
        if self.skipped:
            metrics = sum(len(m) for m in self.skipped.values())
            status += f" with {metrics} metrics skipped on {len(self.skipped)} columns"
        text = f"{self.connection}: {status}, {self.table_count} tables profiled ({self.rows:,} rows) in {self.seconds:.2f}s"
        if self.quality_score is not None:
            text += f", score {self.quality_score:.1f}"
        if self.failed:
            text += f", {len(self.failed)} tables failed"
        if self.malformed:
            names = ", ".join(f"{t} ({n:,})" for t, n in sorted(self.malformed.items()))
            text += f", {sum(self.malformed.values()):,} malformed rows in {names}"
        return text


# -- the run ------------------------------------------------------------------------------------

def _tasks(store: Store, scan_run_id: str, tables: str | None) -> list[TableTask]:
    trows = store.run_table(scan_run_id, "normalized_tables").sort("schema_name", "table_name", nulls_last=True)
    crows = store.run_table(scan_run_id, "normalized_columns").sort("table_qualified_name", "ordinal_position",
                                                                   nulls_last=True)
    by_table: dict[str, list[dict]] = {}
    for c in crows.select("table_qualified_name", "column_name", "ordinal_position", "data_type", "type_family",
                          "is_primary_key", "is_unique", "foreign_key").iter_rows(named=True):
        by_table.setdefault(c["table_qualified_name"], []).append(c)
    out = []
    for schema, table, qn, ttype, size, estimate, custom in trows.select(
            "schema_name", "table_name", "qualified_name", "table_type", "size_bytes", "row_estimate",
            "custom_attributes").iter_rows():
        if ttype not in PROFILED_TYPES:
            continue
        if tables and not any(fnmatchcase(n, tables) for n in (table, f"{schema}.{table}")):
            continue
        attributes = json.loads(custom or "{}")
        columns = by_table.get(qn, [])
        # columns an index starts with (whole values, not a prefix): an engine may group them in its order
        leading = {ix["columns"][0] for ix in attributes.get("indexes") or []
                   if ix.get("columns") and not (ix.get("prefix_lengths") or {}).get(ix["columns"][0])}
        for c in columns:
            c["leads_index"] = c["column_name"] in leading
        out.append(TableTask(schema, table, qn, size, estimate, columns, attributes.get("foreign_keys", [])))
    return out


def quality(store: Store, config: Config, source: str, *, tables: str | None = None, sample: str | int | None = None,
            top_k: int | None = None, progress: Progress | None = None) -> QualityResult:
    """Profile one configured source's newest usable scan. Raises `DsaError` for user errors."""
    source_options = config.source(source)
    # one time limit for each statement, the source's and quality's together (docs/quality.md)
    options = config.quality.model_copy(update={"timeout_s": effective_timeout(source_options, config.quality)})
    spec = parse_sample(sample, "--sample") if sample is not None else parse_sample(options.sample, "quality.sample")
    top_k = options.top_k if top_k is None else top_k
    if top_k < 0:
        raise ConfigError(f"--top-k: must be 0 or more (got {top_k})")
    connector = open_source(source, source_options)
    try:
        scan_run_id = latest_run(store, "scan", source)
    except NotFound:
        raise NotFound(f"no successful or partial scan of '{source}' in the catalog at {store.path}: "
                       f"run `dsa scan {source}` first") from None
    tasks = _tasks(store, scan_run_id, tables)
    if tables and not tasks:
        raise NotFound(f"--tables {tables!r} matches no table of '{source}' (scan {scan_run_id})")
    groups = config.check_groups(source)
    every = targets(store, scan_run_id, groups)[0] if groups else {}
    changes = changes_for(store, source, [t for t in every.values() if t.checks])
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

        def profile_and_check(task: TableTask, key: int) -> TableResult:
            result = profile_table(connector, task, options, spec, top_k, run.run_id, now, register_for(key), sessions)
            target = every.get(task.qualified_name)
            if target is not None and target.checks:
                result.checks = check_profiled(connector, target, every, config, result, changes)
            return result

        report("starting")
        executor = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="dsa-quality")
        # `workers` sessions in all: fewer tables than workers share the spare ones
        sessions = max(1, options.workers // max(1, min(options.workers, len(tasks))))
        futures: dict[Future, TableTask] = {executor.submit(profile_and_check, t, k): t for k, t in enumerate(tasks)}
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = futures[fut]
                    try:
                        res = fut.result()
                    except TableTimeout:
                        _failed(run, task, "timeout", f"profiling took longer than {options.timeout_s:g}s (its time limit)",
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
        if groups:
            write_results(run, [o for r in results for o in r.checks], scan_run_id, now)
        if config.monitors.enabled:
            monitors.record(run, store, config.monitors)
    alerts.after_run(store, config.alerts, source, run.run_id)
    worst = sorted((c for r in results for c in r.columns if c.get("quality_score") is not None),
                   key=lambda c: (c["quality_score"], c["qualified_name"]))[:10]
    return QualityResult(
        run_id=run.run_id, connection=source, status=run.status, table_count=len(results), failed=failed,
        seconds=time.perf_counter() - started, rows=sum(r.table["row_count"] or 0 for r in results),
        quality_score=run.counts.get("quality_score"), worst_columns=worst,
        skipped={c["qualified_name"]: json.loads(c["skipped_metrics"]) for r in results for c in r.columns
                 if c.get("skipped_metrics")},
        malformed={r.table["qualified_name"]: r.table["malformed_rows"] for r in results if r.table.get("malformed_rows")},
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
