"""The incremental diff: what changed between two scan runs, in structure and in the data.

The comparison itself is DuckDB SQL in `queries/diff/` (full outer joins on names over the
catalog tables); this module picks the runs, prepares the few inputs SQL cannot make (view SQL
normalized with sqlglot, the objects each run could not read), runs the files in order and
stores the results as a `diff` run:

    macros.sql       helpers (quoting, type keys, "was this object observed?")
    inputs.sql       both runs' schemas, tables, columns, constraints, indexes, side by side
    match.sql        which old table/column is which new one (names, then renames), moves
    schemas.sql ... indexes.sql   one result query per entity type, written to Parquet as is
    summary.sql      counts per entity type
    data_drift.sql   metric drift between the quality runs tied to the two scans

Runs of two connections compare by the names below the connection (staging against prod).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dsa import alerts, duck, lineage_graph, model, monitors, queries
from dsa.catalog import USABLE
from dsa.config import Config, DiffOptions
from dsa.errors import ConfigError, NotFound
from dsa.model import CATALOG_TABLES, DIFF_DATA
from dsa.names import qualified_name, split_name
from dsa.store import Store

CHANGE_TYPES = ("added", "removed", "modified", "renamed", "moved", "unknown", "unchanged")
# What makes the diff "changed" (exit 4): anything but unknown and unchanged, or data drift.
REAL_CHANGES = ("added", "removed", "modified", "renamed", "moved")
RESULT_TABLES = {
    "schema": "incremental_diff_schema",
    "table": "incremental_diff_table",
    "column": "incremental_diff_column",
    "constraint": "incremental_diff_constraint",
    "index": "incremental_diff_index",
}
# Tables last: a table whose columns, constraints or indexes changed is modified (tables.sql).
RESULT_ORDER = ("schema", "column", "constraint", "index", "table")
RESULT_FILES = {"schema": "schemas", "table": "tables", "column": "columns", "constraint": "constraints", "index": "indexes"}
INCOMPLETE = ("failed", "running")
# The catalog tables the diff reads of the two scan runs and of their quality runs, straight
# from those runs' Parquet files (queries/diff/sources*.sql).
INPUT_TABLES = ("normalized_schemas", "normalized_tables", "normalized_columns", "run_errors")
QUALITY_TABLES = ("table_quality_metrics", "column_quality_metrics")
EXIT_CHANGED = 4
ARROW = "->"


@dataclass
class DiffResult:
    run_id: str
    connection: str
    from_run: dict[str, Any]
    to_run: dict[str, Any]
    from_quality_run: str | None
    to_quality_run: str | None
    renames: bool
    summary: pl.DataFrame  # diff_summary rows
    changes: dict[str, pl.DataFrame]  # entity type -> rows that are not unchanged
    drift: pl.DataFrame  # incremental_diff_data rows, largest first
    notes: list[str] = field(default_factory=list)
    impact: list[dict[str, Any]] = field(default_factory=list)  # dsa.lineage_graph.impact

    @property
    def breaking_count(self) -> int:
        return sum(1 for i in self.impact if i["breaking"])

    @property
    def change_count(self) -> int:
        return int(self.summary.select(pl.sum_horizontal(list(REAL_CHANGES)).sum()).item())

    @property
    def unknown_count(self) -> int:
        return int(self.summary["unknown"].sum())

    @property
    def changed(self) -> bool:
        return self.change_count > 0 or self.drift.height > 0

    @property
    def exit_code(self) -> int:
        return EXIT_CHANGED if self.changed else 0

    def summary_line(self) -> str:
        """One line: what changed, per entity type."""
        parts = []
        for row in self.summary.iter_rows(named=True):
            counts = [f"{row[c]} {c}" for c in (*REAL_CHANGES, "unknown") if row[c]]
            if counts:
                plural = "indexes" if row["entity_type"] == "index" else row["entity_type"] + "s"
                parts.append(f"{plural} " + ", ".join(counts))
        what = "; ".join(parts) if parts else "no structural changes"
        if self.drift.height:
            what += f"; {self.drift.height} data drifts"
        return what

    def to_document(self) -> dict[str, Any]:
        """The machine-readable diff (`dsa diff --format json`)."""

        def run(m: dict[str, Any], quality: str | None) -> dict[str, Any]:
            return {"run_id": m["run_id"], "connection": m["connection"], "status": m["status"],
                    "started_at": m["started_at"], "quality_run_id": quality}

        def rows(frame: pl.DataFrame, keep: list[str]) -> list[dict[str, Any]]:
            out = []
            for row in frame.select(keep).to_dicts():
                row["changes"] = json.loads(row["changes"]) if "changes" in row else None
                out.append(row)
            return out

        entity_keys = ["qualified_name", "previous_name", "change_type", "changes"]
        return {
            "diff_run_id": self.run_id,
            "connection": self.connection,
            "from": run(self.from_run, self.from_quality_run),
            "to": run(self.to_run, self.to_quality_run),
            "renames": self.renames,
            "changed": self.changed,
            "change_count": self.change_count,
            "unknown_count": self.unknown_count,
            "drift_count": self.drift.height,
            "summary": self.summary.drop("run_id", "connection").to_dicts(),
            "changes": {kind: rows(frame, entity_keys) for kind, frame in self.changes.items()},
            "data_drift": self.drift.select(
                "drift_rank", "qualified_name", "previous_name", "entity_type", "metric", "from_value", "to_value",
                "change", "measured", "unit", "threshold", "severity",
            ).to_dicts(),
            "impact": self.impact,
            "breaking_count": self.breaking_count,
            "notes": self.notes,
        }


# -- describing changes ------------------------------------------------------------------------


def _value(v) -> str:
    return "null" if v is None else json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v


def short_value(value: str | None) -> str:
    """Metric values as people read them: 20.304347826086957 -> 20.3043."""
    if value is None:
        return "null"
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() or len(value) <= 8 else f"{number:.6g}"


def describe_changes(changes: list[dict]) -> str:
    """A changed object's `changes` as one line: `data_type: integer -> bigint; ...`."""
    out = []
    for c in changes:
        if c["attribute"] in ("qualified_name",):
            continue
        if c["attribute"] == "view_definition":
            out.append("view SQL changed")
        elif c["from"] is None and isinstance(c["to"], list):  # a table's changed columns, constraints, indexes
            out.append(f"{c['attribute']}: {', '.join(map(str, c['to']))}")
        else:
            out.append(f"{c['attribute']}: {_value(c['from'])} {ARROW} {_value(c['to'])}")
    return "; ".join(out)


# -- choosing the runs ------------------------------------------------------------------------


def _scan(store: Store, run_id: str, option: str) -> dict[str, Any]:
    try:
        m = store.run(run_id)
    except NotFound:
        raise NotFound(f"{option}: no run '{run_id}' in the catalog at {store.path}") from None
    if m["run_type"] != "scan":
        raise ConfigError(f"{option}: run '{run_id}' is a {m['run_type']} run, not a scan")
    return m


def _usable_scans(store: Store, connection: str) -> list[dict[str, Any]]:
    return [m for m in store.manifests()
            if m["run_type"] == "scan" and m["status"] in USABLE and m["connection"] == connection]


def resolve_runs(store: Store, source: str, from_run: str | None = None, to_run: str | None = None,
                 against: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (older, newer) scan manifests to compare.

    Default: the two newest usable scans of `source` (`success` or `partial`). `--to RUN` alone: RUN against the newest
    usable scan of `source` before it. `--from RUN` alone: RUN against the newest usable
    scan of `source`. `--against OTHER`: the newest usable scan of source OTHER against that of
    `source` (or against `--to`). Explicit runs may belong to any connection.
    """
    if against and from_run:
        raise ConfigError("give either --from or --against, not both")
    scans = _usable_scans(store, source)
    to_m = _scan(store, to_run, "--to") if to_run else None
    from_m = _scan(store, from_run, "--from") if from_run else None
    if against:
        others = _usable_scans(store, against)
        if not others:
            raise NotFound(f"--against: no successful or partial scan of '{against}' in the catalog at {store.path}")
        from_m = others[-1]
    if to_m is None:
        if not scans:
            raise NotFound(f"no successful or partial scan of '{source}' in the catalog at {store.path}")
        to_m = scans[-1] if from_m is not None else None
        if to_m is None:
            if len(scans) < 2:
                raise NotFound(
                    f"diff: source '{source}' has only one successful or partial scan ({scans[0]['run_id']}); "
                    "scan it again, or name runs with --from/--to"
                )
            from_m, to_m = scans[-2], scans[-1]
    if from_m is None:
        earlier = [m for m in scans if (m["started_at"], m["run_id"]) < (to_m["started_at"], to_m["run_id"])]
        if not earlier:
            raise NotFound(f"--to: no successful or partial scan of '{source}' before run '{to_m['run_id']}'; "
                           "name one with --from")
        from_m = earlier[-1]
    return from_m, to_m


def quality_run_for(store: Store, scan_run_id: str) -> str | None:
    """The newest finished quality run that profiled this scan (`details.scan_run_id`)."""
    found = [m for m in store.manifests()
             if m["run_type"] == "quality" and m["status"] in ("success", "partial")
             and (m.get("details") or {}).get("scan_run_id") == scan_run_id]
    return found[-1]["run_id"] if found else None


# -- inputs SQL cannot make ---------------------------------------------------------------------


def view_key(definition: str | None, dialect: str | None) -> str | None:
    """A view's SQL in a canonical form: parsed and regenerated by sqlglot with identifiers
    normalized and always quoted, comments dropped. `CREATE VIEW x AS` is stripped so a renamed
    view keeps its key. Unparseable SQL falls back to its whitespace-collapsed text."""
    if definition is None:
        return None
    # here, not at the top: most diffs compare no view, and sqlglot is a large import
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    try:
        tree = sqlglot.parse_one(definition, read=dialect)
        if isinstance(tree, exp.Create) and tree.expression is not None:
            tree = tree.expression
        tree = normalize_identifiers(tree, dialect=dialect)
        return tree.sql(dialect=dialect, identify=True, normalize=True, comments=False)
    except Exception:  # sqlglot cannot read every engine's every construct
        return " ".join(definition.split()).rstrip(";")


def _dialect(manifest: dict[str, Any]) -> str | None:
    from dsa.connectors import find_connector

    source_type = (manifest.get("details") or {}).get("source_type")
    connector = find_connector(source_type) if source_type else None
    return connector.dialect if connector else None


def _view_keys(con, sides: dict[str, dict[str, Any]]) -> pl.DataFrame:
    views = con.sql(
        "SELECT side, qualified_name, view_definition FROM diff_tables WHERE view_definition IS NOT NULL"
    ).pl()
    dialects = {side: _dialect(m) for side, m in sides.items()} if views.height else {}
    keys = [view_key(d, dialects[s]) for s, d in zip(views["side"], views["view_definition"])]
    return pl.DataFrame(
        {"side": views["side"], "qualified_name": views["qualified_name"], "view_key": keys},
        schema={"side": pl.Utf8, "qualified_name": pl.Utf8, "view_key": pl.Utf8},
    )


def _unobserved(con, sides: dict[str, dict[str, Any]]) -> pl.DataFrame:
    """What each run could not see: its run_errors split into schema/table/column parts, and
    one all-NULL row for a run that failed or never finished (then nothing it lacks is gone)."""
    rows = []
    for side, m in sides.items():
        if m["status"] in INCOMPLETE:
            rows.append({"side": side})
        # a view whose lineage could not be derived was read all the same
        errors = con.execute("SELECT qualified_name FROM run_errors WHERE run_id = ? "
                             "AND phase IS DISTINCT FROM 'lineage'", [m["run_id"]]).fetchall()
        for (name,) in errors:
            try:
                parts = split_name(name)
            except ValueError:
                parts = [m["connection"]]
            below = (parts[1:] if parts and parts[0] == m["connection"] else parts)[:3]
            rows.append(dict(zip(("side", "schema_name", "table_name", "column_name"), [side, *below])))
    return pl.DataFrame(
        {k: [r.get(k) for r in rows] for k in ("side", "schema_name", "table_name", "column_name")},
        schema={k: pl.Utf8 for k in ("side", "schema_name", "table_name", "column_name")},
    )


# -- the diff ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What a diff compares: the two scans, their quality runs, the options."""

    source: str
    options: DiffOptions
    renames: bool
    from_m: dict[str, Any]
    to_m: dict[str, Any]
    from_q: str | None
    to_q: str | None
    has_quality: bool
    notes: list[str]

    @property
    def details(self) -> dict[str, Any]:
        return {
            "from_run": self.from_m["run_id"], "to_run": self.to_m["run_id"],
            "from_connection": self.from_m["connection"], "to_connection": self.to_m["connection"],
            "from_quality_run": self.from_q, "to_quality_run": self.to_q, "renames": self.renames,
        }


def _plan(store: Store, config: Config | None, source: str, from_run: str | None, to_run: str | None,
          against: str | None, renames: bool | None) -> _Plan:
    options: DiffOptions = config.diff if config is not None else DiffOptions()
    renames = options.renames if renames is None else renames
    from_m, to_m = resolve_runs(store, source, from_run, to_run, against)
    from_q, to_q = quality_run_for(store, from_m["run_id"]), quality_run_for(store, to_m["run_id"])
    notes = []
    for side, m in (("older", from_m), ("newer", to_m)):
        if m["status"] != "success":
            notes.append(f"the {side} scan {m['run_id']} is {m['status']}: what it could not read is unknown, not removed")
    has_quality = "table_quality_metrics" in CATALOG_TABLES and "column_quality_metrics" in CATALOG_TABLES
    if not (from_q and to_q and has_quality):
        missing = [m["run_id"] for m, q in ((from_m, from_q), (to_m, to_q)) if not q]
        notes.append(f"data drift not compared: no quality run of scan {', '.join(missing)}" if missing
                     else "data drift not compared: quality metrics are not in this catalog")
    return _Plan(source, options, renames, from_m, to_m, from_q, to_q, has_quality, notes)


def diff(store: Store, config: Config | None, source: str, from_run: str | None = None, to_run: str | None = None,
         against: str | None = None, renames: bool | None = None) -> DiffResult:
    """Compare two scan runs and store the result as a `diff` run of connection `source`."""
    plan = _plan(store, config, source, from_run, to_run, against, renames)
    with store.begin_run(source, "diff", plan.details) as run:
        # Polars writes each result on a second thread while DuckDB (one thread, GIL
        # released) runs the next query; Run.write is thread-safe.
        with ThreadPoolExecutor(max_workers=1) as writer:
            written = []
            result = _compare(store, plan, run.run_id, lambda table, rows: written.append(
                writer.submit(run.write, table, rows)))
            for future in written:
                future.result()  # a failed write fails the diff run
        events = monitors.schema_events(run.run_id, source, result.changes)
        if events:
            run.write("anomalies", model.frame(events, model.ANOMALIES))
        run.counts.update(change_count=result.change_count, unknown_count=result.unknown_count,
                          drift_count=result.drift.height,
                          **{f"{k}_{c}": int(v) for k, c, v in _flat(result.summary)})
        run.finish()
    if config is not None:
        alerts.after_run(store, config.alerts, source, run.run_id)
    return result


def compare(store: Store, config: Config | None, source: str, from_run: str | None = None,
            to_run: str | None = None, against: str | None = None, renames: bool | None = None) -> DiffResult:
    """The same comparison as `diff`, runs chosen the same way, but nothing stored (a report
    reads the catalog; its `run_id` is empty)."""
    return _compare(store, _plan(store, config, source, from_run, to_run, against, renames), "", None)


def _compare(store: Store, plan: _Plan, run_id: str, sink) -> DiffResult:
    """Run queries/diff/ over the two runs' files; `sink(table, rows)` receives each result."""
    from_m, to_m, from_q, to_q, source = plan.from_m, plan.to_m, plan.from_q, plan.to_q, plan.source
    drifts = bool(from_q and to_q and plan.has_quality)
    con = _connect(store)
    try:
        variables = {
            "diff_run_id": run_id, "diff_connection": source,
            "diff_from_run": from_m["run_id"], "diff_to_run": to_m["run_id"],
            "diff_from_prefix": qualified_name(from_m["connection"]) + ".",
            "diff_to_prefix": qualified_name(to_m["connection"]) + ".",
            "diff_renames": plan.renames,
            "diff_from_quality": from_q, "diff_to_quality": to_q,
            **{f"diff_t_{k}": float(v) for k, v in plan.options.thresholds.model_dump().items()},
        }
        # row order means nothing here; dropping it lets DuckDB stream and use less memory
        con.execute("SET preserve_insertion_order = false")
        # One thread: the diff is a chain of small joins over a few hundred thousand rows,
        # where a second thread mostly adds scheduling work (measured on the 100,000-column
        # benchmark: 30% less CPU and about half the wall time on a busy 2-core machine).
        con.execute("SET threads = 1")
        sources = {table: (from_m["run_id"], to_m["run_id"]) for table in INPUT_TABLES}
        if drifts:
            sources.update({table: (from_q, to_q) for table in QUALITY_TABLES})
        for table, run_ids in sources.items():
            variables[f"diff_files_{table}"] = _run_files(store, table, run_ids)
        for name, value in variables.items():
            con.execute(f"SET VARIABLE {name} = ?", [value])  # names are our constants above
        con.execute(queries.text("diff/sources"))
        if drifts:
            con.execute(queries.text("diff/sources_quality"))
        sides = {"from": from_m, "to": to_m}
        _register(con, "diff_errors", _unobserved(con, sides))
        for name in ("macros", "inputs"):
            con.execute(queries.text(f"diff/{name}"))
        _register(con, "diff_view_sql", _view_keys(con, sides))
        con.execute(queries.text("diff/match"))
        frames = {}
        for kind in RESULT_ORDER:
            table = RESULT_TABLES[kind]
            # each entity query's result goes straight to Parquet; no temp table in between.
            # The run ids are constants: added here as Polars literals rather than carried
            # through DuckDB and Arrow on every one of 100,000s of rows.
            frames[kind] = con.sql(queries.text(f"diff/{RESULT_FILES[kind]}")).pl().with_columns(
                run_id=pl.lit(run_id), connection=pl.lit(source),
                from_run_id=pl.lit(from_m["run_id"]), to_run_id=pl.lit(to_m["run_id"]),
            ).select(list(CATALOG_TABLES[table]))
            if sink:
                sink(table, frames[kind])
            # summary.sql counts change types and tables.sql names a table's changed parts:
            # hand DuckDB those few columns, not the rows
            keep = ["change_type"] if kind in ("schema", "table") else \
                ["change_type", "table_qualified_name", "qualified_name"]
            con.register(f"diff_result_{kind}", frames[kind].select(keep).to_arrow())
        summary = con.sql(queries.text("diff/summary")).pl()
        if sink:
            sink("diff_summary", summary)
        drift = pl.DataFrame(schema=DIFF_DATA)
        if drifts:
            drift = con.sql(queries.text("diff/data_drift")).pl()
            if drift.height and sink:
                sink("incremental_diff_data", drift)
        changes = {
            kind: frames[kind].filter(pl.col("change_type") != "unchanged").sort("qualified_name")
            for kind in RESULT_TABLES
        }
    finally:
        con.close()
    impact = lineage_graph.impact(_lineage_of(store, from_m["run_id"]), changes["table"], changes["column"])
    return DiffResult(run_id, source, from_m, to_m, from_q, to_q, plan.renames, summary, changes, drift, plan.notes,
                      impact)


def _connect(store: Store):
    """The diff's own in-memory DuckDB connection. Not `store.connect()`: the diff reads only
    its runs' files (sources.sql), so the store-wide views, run list and credentials would be
    work for nothing."""
    store.init()  # the empty schema files _run_files lists
    return duck.connect()


def _run_files(store: Store, table: str, run_ids: tuple[str, str]) -> list[str]:
    """The Parquet files of one catalog table that hold these runs' rows: the table's empty
    schema file (so every column of the current schema exists even if a run's parts predate it),
    then each run's parts."""
    files = sorted((store.runs_dir / "_schema" / table).glob("*.parquet"))
    for run_id in dict.fromkeys(run_ids):
        files += sorted((store.runs_dir / run_id / table).glob("*.parquet"))
    return [f.as_posix() for f in files]


def _lineage_of(store: Store, run_id: str) -> pl.DataFrame:
    """The older scan's lineage edges, read from its files (what the diff's changes reach)."""
    files = _run_files(store, "lineage_edges", (run_id,))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


def _register(con, name: str, frame: pl.DataFrame) -> None:
    con.register(f"_{name}_frame", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _{name}_frame")
    con.unregister(f"_{name}_frame")


def _flat(summary: pl.DataFrame):
    for row in summary.iter_rows(named=True):
        for change in CHANGE_TYPES:
            if row[change]:
                yield row["entity_type"], change, row[change]
