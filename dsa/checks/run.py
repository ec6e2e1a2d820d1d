"""`dsa check SOURCE`: a run of type `check` over the tables of the source's newest scan; and
the checks of a quality run (`check_profiled`), which reuse what the profile measured.

A run writes `check_results` (one row per check and table) and one `check_runs` row through the
immutable-run store, so `dsa mirror` and the app see it like any other run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from dsa import alerts, model
from dsa.catalog import latest_run
from dsa.checks.evaluate import Outcome, Sessions, Target, evaluate, targets
from dsa.checks.language import CheckGroup
from dsa.config import Config
from dsa.connectors import open_source
from dsa.errors import ConfigError, NotFound
from dsa.store import Run, Store

Progress = Callable[[int, int, str], None]
NUMBERS = ("integer", "decimal", "float")


@dataclass
class CheckRun:
    run_id: str
    connection: str
    status: str
    outcomes: list[Outcome]

    def count(self, outcome: str) -> int:
        return sum(o.outcome == outcome for o in self.outcomes)


def schema_changes(store: Store, source: str) -> Callable[[Target], dict[str, list[str]]]:
    """Columns removed, added and modified (type) between the source's two newest scans."""
    # the usable scans (dsa.catalog.USABLE): a partial scan's tables are as good as a whole one's
    runs = store.sql("SELECT run_id FROM sync_runs WHERE run_type = 'scan' AND status IN ('success', 'partial') "
                     "AND connection = ? ORDER BY started_at DESC LIMIT 2", [source])["run_id"].to_list()
    changes: dict[str, dict[str, list[str]]] = {}
    if len(runs) == 2:
        rows = store.sql(
            "SELECT coalesce(n.table_qualified_name, o.table_qualified_name) AS tq, "
            "coalesce(n.column_name, o.column_name) AS col, "
            "CASE WHEN n.column_name IS NULL THEN 'removed' WHEN o.column_name IS NULL THEN 'added' "
            "     WHEN n.data_type IS DISTINCT FROM o.data_type THEN 'modified' END AS change "
            "FROM (SELECT * FROM normalized_columns WHERE run_id = ?) n "
            "FULL JOIN (SELECT * FROM normalized_columns WHERE run_id = ?) o "
            "ON n.table_qualified_name = o.table_qualified_name AND n.column_name = o.column_name "
            "ORDER BY 1, 2", runs)
        for tq, col, change in rows.iter_rows():
            if change:
                changes.setdefault(tq, {}).setdefault(change, []).append(col)
    return lambda target: changes.get(target.qualified_name, {})


def sessions(connector, config: Config) -> Sessions:
    """The check sessions of a source: set up like profiling ones, under the source's own
    statement timeout; as many at once as `quality.workers`, and at least two where the engine
    has PARALLEL_SESSIONS (a table's aggregate pass and its groupings read side by side)."""
    options = config.quality.model_copy(update={"timeout_s": connector.options.timeout_s})
    return Sessions(connector, options, max(2, config.quality.workers))


def changes_for(store: Store, source: str, found: list[Target]) -> Callable[[Target], dict[str, list[str]]]:
    """`schema_changes` when a check needs them (they cost two catalog reads), else none."""
    if any(c.metric.kind == "schema" for t in found for c in t.checks):
        return schema_changes(store, source)
    return lambda target: {}


def outcome_rows(run: Run, outcomes: list[Outcome], now: datetime) -> list[dict]:
    return [{
        "run_id": run.run_id, "connection": run.connection, "tenant": "default", "qualified_name": o.table,
        "schema_name": o.schema, "table_name": o.table_name, "column_name": o.column, "name": o.check.name,
        "check": o.check.text, "metric": o.check.metric.kind, "value": o.value_number(), "value_text": o.value_text(),
        "outcome": o.outcome, "fail_threshold": o.check.thresholds["fail"], "warn_threshold": o.check.thresholds["warn"],
        "samples": json.dumps(o.samples, default=str) if o.samples is not None else None, "samples_masked": o.masked,
        "error": o.error, "checked_at": now,
    } for o in outcomes]


def write_results(run: Run, outcomes: list[Outcome], scan_run_id: str, started: datetime) -> None:
    """The run's `check_results` rows and its `check_runs` row."""
    now = datetime.now(timezone.utc)
    run.write("check_results", model.frame(outcome_rows(run, outcomes, now), model.CHECK_RESULTS))
    counts = {k: sum(o.outcome == v for o in outcomes) for k, v in
              (("passed", "pass"), ("warned", "warn"), ("failed", "fail"), ("errored", "error"))}
    run.write("check_runs", model.frame([{
        "run_id": run.run_id, "connection": run.connection, "run_type": run.run_type, "scan_run_id": scan_run_id,
        "check_count": len(outcomes), **counts, "started_at": started, "finished_at": now}], model.CHECK_RUNS))
    run.counts.update(check_count=len(outcomes), **counts)


def check_tables(store: Store, config: Config, source: str, groups: list[CheckGroup], scan_run_id: str,
                 progress: Progress | None = None) -> list[Outcome]:
    """Evaluate `groups` on the tables of one scan, one table after another on one connection."""
    every, outcomes = targets(store, scan_run_id, groups)
    found = [t for t in every.values() if t.checks]
    if not found:
        return outcomes
    connector = open_source(source, config.source(source))
    changes = changes_for(store, source, found)
    now = datetime.now(timezone.utc)
    with sessions(connector, config) as pool:
        for i, target in enumerate(found):
            if progress:
                progress(i, len(found), target.qualified_name)
            outcomes += evaluate(connector, pool, target, every, config.quality.mask,
                                 connector.options.timeout_s, changes, now)
    return outcomes


def from_profile(table: dict, columns: list[dict]) -> dict[tuple[str, str | None], Any]:
    """What a quality run's profile of a table already measured, as check values by (metric,
    column): the row count always; column measures only when the profile read every row."""
    known: dict[tuple[str, str | None], Any] = {("row_count", None): table["row_count"]}
    if table.get("approximate"):
        return known
    for c in columns:
        name, total, nulls, distinct = c["column_name"], c["total_count"], c["null_count"], c["distinct_count"]
        if total is None or nulls is None:
            continue
        known[("missing_count", name)] = nulls
        known[("missing_percent", name)] = c["null_percentage"]
        if distinct is not None:
            values = total - nulls
            known.update({("distinct_count", name): distinct, ("duplicate_count", name): values - distinct,
                          ("duplicate_percent", name): 100.0 * (values - distinct) / values if values else 0.0})
        family = c["type_family"]
        if family in NUMBERS and c["min_value"] is not None:
            known.update({("min", name): float(c["min_value"]), ("max", name): float(c["max_value"])})
        if family in NUMBERS and c["mean"] is not None:
            known[("avg", name)] = c["mean"]
        if family in ("date", "timestamp") and c["max_value"] is not None:
            known.update({("min", name): c["min_value"], ("max", name): c["max_value"], ("freshness", name): c["max_value"]})
    return known


def repeated_values(top: list[dict]) -> dict[str, list[str]]:
    """The values a profile's top values show more than once, by column: a failed duplicate
    check's samples in a quality run (masked columns' values were never stored)."""
    out: dict[str, list[str]] = {}
    for t in sorted(top, key=lambda t: t["rank"]):
        if (t["count"] or 0) > 1 and t["value"] is not None and not t.get("masked"):
            out.setdefault(t["column_name"], []).append(t["value"])
    return out


def check_profiled(connector, target: Target, every: dict[str, Target], config: Config, result,
                   changes: Callable[[Target], dict[str, list[str]]]) -> list[Outcome]:
    """A profiled table's checks in a quality run (`result`: its `TableResult`): what the profile
    measured is reused, and failing samples of duplicates come from its top values; the rest is
    measured on sessions of its own, opened only if something is left to read."""
    with sessions(connector, config) as pool:
        return evaluate(connector, pool, target, every, config.quality.mask, connector.options.timeout_s, changes,
                        datetime.now(timezone.utc), from_profile(result.table, result.columns),
                        repeated_values(result.top))


def check(store: Store, config: Config, source: str, progress: Progress | None = None,
          groups: list[CheckGroup] | None = None) -> CheckRun:
    """Run the configured checks of one source (or `groups`) on its newest scan's tables."""
    groups = config.check_groups(source) if groups is None else groups
    if not groups:
        raise ConfigError(f"no checks configured for source '{source}' (add them under checks: in the config)")
    config.source(source)
    try:
        scan_run_id = latest_run(store, "scan", source)
    except NotFound:
        raise NotFound(f"no successful scan of '{source}' in the catalog at {store.path}: run `dsa scan {source}` first") from None
    started = datetime.now(timezone.utc)
    with store.begin_run(source, "check", {"scan_run_id": scan_run_id}) as run:
        outcomes = check_tables(store, config, source, groups, scan_run_id, progress)
        write_results(run, outcomes, scan_run_id, started)
    alerts.after_run(store, config.alerts, source, run.run_id)
    return CheckRun(run.run_id, source, run.status, outcomes)
