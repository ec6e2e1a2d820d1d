"""Lineage: which tables and columns each view reads, derived from its SQL at every scan.

A scan hands `derive` the views it read (their SQL, in the source's dialect) and the columns of
every scanned table; sqlglot parses each view once and its scopes (CTEs, subqueries, unions,
derived tables) are walked with the scanned schema, so `SELECT *`, unqualified and quoted
columns resolve to the table columns they read. Postgres also gives its dependency catalog
(`pg_depend` through `pg_rewrite`, `queries/postgres/dependencies.sql`): exact table-level edges.

The catalog table `lineage_edges` holds one row per edge:
  level       'table' (upstream and downstream are tables or views) or 'column' (upstream is a
              column; downstream is a column of the view, or the view itself for filter/join edges)
  kind        'direct' (a value copied as is), 'derived' (computed from it), 'filter' (it decides
              which rows or groups: WHERE, HAVING, GROUP BY, a predicate's subquery), 'join' (a join key)
  method      'sqlglot' or 'pg_depend'
A view whose SQL sqlglot cannot read is noted in `run_errors` (phase 'lineage'): the scan itself
succeeds. Reading edges back (graphs, impact on a diff) is in `dsa.lineage_graph`.

Parsing is the cost (a few milliseconds a view), so each view's resolution is kept in the store
(`cache/lineage/`, `LineageCache`) and reused by the next scan while the view's SQL and the
columns of every relation it reads are unchanged; the views it lacks are resolved in two
processes when there are many of them.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing as mp
import os
import re
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from dsa import workers
from dsa.lineage_early import PARALLEL_VIEWS, EarlyLineage, cache_path
from dsa.names import qualified_name
from dsa.system import write_atomic

# Neither Polars nor sqlglot is imported here: a worker process resolving views imports this
# module through `dsa.lineage_sql` (the parsing half) and needs no Polars; the process running
# the scan parses nothing when its workers do, and then needs no sqlglot.
if TYPE_CHECKING:
    import polars as pl

    from dsa.connectors.base import Connector
    from dsa.normalize import Extraction
    from dsa.store import Run

KINDS = ("direct", "derived", "filter", "join")
# a column both copied and filtered on is reported once per downstream, by its strongest use
_RANK = {kind: i for i, kind in enumerate(KINDS)}
# the clause of a SELECT a column sits in -> the kind of its edge to the view
_CLAUSE_KINDS = {"where": "filter", "having": "filter", "qualify": "filter", "group": "filter",
                 "order": "filter", "joins": "join", "laterals": "join"}

Ref = tuple[str, str, str]  # schema, table, column of a scanned relation
Refs = dict[Ref, str]  # -> kind


@dataclass
class View:
    schema: str
    name: str
    sql: str
    columns: list[str] = field(default_factory=list)  # the view's own columns, in order


class SchemaIndex:
    """The scanned relations' columns, found by exact name first, then case-insensitively."""

    def __init__(self, columns: dict[tuple[str, str], list[str]]):
        self.columns = columns
        self._folded: dict[tuple[str, str], tuple[str, str]] = {}
        self.by_table: dict[str, list[tuple[str, str]]] = {}
        for key in columns:
            self._folded.setdefault((key[0].lower(), key[1].lower()), key)
            self.by_table.setdefault(key[1].lower(), []).append(key)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> "SchemaIndex":
        """From rows with schema_name, table_name, column_name and ordinal_position (a scan's
        frame need not be in that order: `SELECT *` reads the columns in their table's order)."""
        if "ordinal_position" in frame.columns:
            frame = frame.sort("schema_name", "table_name", "ordinal_position")
        grouped = frame.group_by("schema_name", "table_name", maintain_order=True).agg("column_name")
        return cls(dict(zip(zip(grouped["schema_name"].to_list(), grouped["table_name"].to_list()),
                            grouped["column_name"].to_list())))

    def find(self, schema: str | None, table: str, home: str) -> tuple[str, str]:
        """The scanned relation a reference names: its own schema, else the view's (`home`),
        else the one table of that name in any schema. Unknown ones keep the names given."""
        for s in ([schema] if schema else [home]):
            key = (s, table)
            if key in self.columns:
                return key
            folded = self._folded.get((s.lower(), table.lower()))
            if folded:
                return folded
        if not schema:
            same = self.by_table.get(table.lower(), [])
            if len(same) == 1:
                return same[0]
        return (schema or home, table)

    def column(self, relation: tuple[str, str], name: str) -> str | None:
        """The relation's column of this name (exact, else case-insensitive); None if unknown."""
        names = self.columns.get(relation)
        if names is None:
            return None
        if name in names:
            return name
        lowered = name.lower()
        return next((c for c in names if c.lower() == lowered), None)


# -- a scan's lineage --------------------------------------------------------------------------


EDGE_FIELDS = ("level", "upstream", "downstream", "kind", "method")


@dataclass
class Derived:
    edges: list[tuple[str, str, str, str, str]]  # EDGE_FIELDS
    errors: list[dict[str, str]]  # qualified_name, object_type, error

    def frame(self, run_id: str, connection: str) -> pl.DataFrame:
        import polars as pl

        from dsa.model import LINEAGE_EDGES, S

        frame = pl.DataFrame(self.edges, schema={k: S for k in EDGE_FIELDS}, orient="row")
        return frame.unique(maintain_order=True).with_columns(
            run_id=pl.lit(run_id), connection=pl.lit(connection)).select(list(LINEAGE_EDGES))


WORKERS = workers.COUNT


def derive(connection: str, dialect: str, views: list[View], index: SchemaIndex,
           dependencies: list[dict[str, Any]] | None = None, cache: LineageCache | None = None,
           early: EarlyLineage | None = None) -> Derived:
    """Table- and column-level edges of every view; `dependencies` (Postgres: rows of
    view_schema, view_name, ref_schema, ref_name) give exact table-level edges; `cache` holds
    resolutions of earlier scans; `early` the workers already parsing the views (a first scan,
    `dsa.lineage_early`). Views the cache lacks are resolved in `WORKERS` processes when there
    are many (parsing is pure Python: one process keeps one core busy)."""
    edges: list[tuple[str, str, str, str, str]] = []
    errors: list[dict[str, str]] = []
    exact: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for row in dependencies or []:
        exact.setdefault((row["view_schema"], row["view_name"]), set()).add((row["ref_schema"], row["ref_name"]))
    keys = [_cache_key(dialect, view) for view in views]
    known = [cache.get(key, index) if cache is not None else None for key in keys]
    cached = list(known)
    missing = [i for i, k in enumerate(known) if k is None]
    if early is not None and early.jobs:
        parsed = _collect_early(early, index)
        for i in missing:
            view = views[i]
            known[i] = parsed.get((view.schema, view.name, view.sql))
        missing = [i for i in missing if known[i] is None]
    for i, resolved in zip(missing, _resolve_many([views[i] for i in missing], dialect, index)):
        known[i] = resolved
    if cache is not None:
        for key, resolved, was in zip(keys, known, cached):
            if was is None and not isinstance(resolved, str):
                cache.put(key, index, *resolved)
    for view, resolved in zip(views, known):
        view_qn = qualified_name(connection, view.schema, view.name)
        found = exact.get((view.schema, view.name), set())
        if isinstance(resolved, str):  # sqlglot cannot read every construct of every engine
            errors.append({"qualified_name": view_qn, "object_type": "view",
                           "error": f"lineage: cannot read the SQL of view {view_qn}: {resolved}"})
            outputs, shaping, table_kinds = [], {}, {}
        else:
            outputs, shaping, table_kinds = resolved
        names = view.columns if len(view.columns) == len(outputs) else [n for n, _ in outputs]
        for name, (_, refs) in zip(names, outputs):
            downstream = qualified_name(connection, view.schema, view.name, name)
            for (s, t, c), kind in refs.items():
                edges.append(("column", qualified_name(connection, s, t, c), downstream, kind, "sqlglot"))
        if outputs:
            for (s, t, c), kind in shaping.items():
                edges.append(("column", qualified_name(connection, s, t, c), view_qn, kind, "sqlglot"))
        # in the order the view's SQL reads them, then the rest the catalog knows (sorted): the
        # same edges in the same order at every scan
        for relation in [*table_kinds, *sorted(found.difference(table_kinds))]:
            method = "pg_depend" if relation in found else "sqlglot"
            edges.append(("table", qualified_name(connection, *relation), view_qn,
                          table_kinds.get(relation, "direct"), method))
    return Derived(edges, errors)


Resolved = tuple[list[tuple[str, Refs]], Refs, dict[tuple[str, str], str]]


def _collect_early(early: EarlyLineage, index: SchemaIndex) -> dict[tuple[str, str, str], Resolved | str]:
    """The resolutions of the views the workers parsed early, by (schema, name, SQL); a view
    whose worker failed is missing (resolved by the caller)."""
    jobs, posted_early = early.jobs, early.posted
    early.jobs, early.posted = [], None
    posted = []
    for i, (worker, chunk) in enumerate(jobs):
        columns = _columns_read(index, [View(s, n, sql) for s, n, sql in chunk])
        if posted_early is None:  # not posted while reading: now
            if worker.post(columns):
                posted.append((worker, chunk))
            else:
                worker.close()
        elif posted_early[i] == columns:
            posted.append((worker, chunk))
        else:  # it resolves with other columns than the scan's: resolved by the caller instead
            worker.close(kill=True)
    found: dict[tuple[str, str, str], Resolved | str] = {}
    for worker, chunk in posted:
        results = worker.result()
        if results is not None and len(results) == len(chunk):
            found.update(zip(chunk, results))
    return found


_SQL = "dsa.lineage_sql"  # the parsing half, imported where views are parsed


def _resolve_here(views: list[View], dialect: str, index: SchemaIndex) -> list[Resolved | str]:
    from dsa.lineage_sql import resolve_view

    return [resolve_view(view, dialect, index) for view in views]


def _chunk_resolver():
    from dsa.lineage_sql import _resolve_chunk

    return _resolve_chunk


def _resolve_many(views: list[View], dialect: str, index: SchemaIndex) -> list[Resolved | str]:
    """Resolve views here, or in `WORKERS` processes when there are many: the idle workers
    `dsa scan` forked before it had a second thread (`dsa.workers`), else a 'forkserver' pool
    (a fork now would copy the locks of Polars' threads). A chunk no process returns is
    resolved here."""
    if len(views) < PARALLEL_VIEWS or (os.cpu_count() or 1) < 2:
        return _resolve_here(views, dialect, index)
    chunks = [views[i::WORKERS] for i in range(WORKERS)]  # every other view: shapes spread evenly
    jobs = [(dialect, _columns_read(index, chunk), chunk) for chunk in chunks]
    forked = workers.take(WORKERS)
    if forked:
        sent = [worker.send(_SQL, "_resolve_chunk", *job) for worker, job in zip(forked, jobs)]
        done = [_resolve_here(job[2], dialect, index) for job in jobs[len(forked):]]  # workers short: this one helps
        done[:0] = [worker.result() if ok else worker.close() for worker, ok in zip(forked, sent)]
    else:
        try:
            context = mp.get_context("forkserver")
            context.set_forkserver_preload([_SQL])
            with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
                done = list(pool.map(_chunk_resolver(), *zip(*jobs)))
        except (OSError, ValueError, BrokenExecutor):  # no processes to be had here
            done = [None] * WORKERS
    out: list[Resolved | str] = [""] * len(views)
    for w, results in enumerate(done):
        out[w::WORKERS] = results if results is not None else _resolve_here(jobs[w][2], dialect, index)
    return out


_WORD = re.compile(r"\w+")


def _columns_read(index: SchemaIndex, views: list[View]) -> dict[tuple[str, str], list[str]]:
    """The columns of the relations these views may name (a name that is a word of their SQL,
    whatever its case, or one that is not a plain word): what a worker needs of the index."""
    words = {w.lower() for view in views for w in _WORD.findall(view.sql)}
    named = {key for table, keys in index.by_table.items()
             if table in words or not _WORD.fullmatch(table) for key in keys}
    return {key: columns for key, columns in index.columns.items() if key in named}  # the index's order


def views_of(tables: pl.DataFrame, columns: pl.DataFrame) -> list[View]:
    """The views (and materialized views) of a scan's frames, with their SQL and columns."""
    import polars as pl

    found = tables.filter(pl.col("view_definition").is_not_null()).select(
        "schema_name", "table_name", "view_definition")
    if not found.height:
        return []
    own = columns.join(found.select("schema_name", "table_name"), on=["schema_name", "table_name"], how="semi")
    names: dict[tuple[str, str], list[str]] = {}
    for s, t, c in own.sort("schema_name", "table_name", "ordinal_position").select(
            "schema_name", "table_name", "column_name").iter_rows():
        names.setdefault((s, t), []).append(c)
    return [View(s, t, sql, names.get((s, t), [])) for s, t, sql in found.iter_rows()]


def write_lineage(run: Run, connector: Connector, extraction: Extraction,
                  dependencies: list[dict[str, Any]] | None) -> None:
    """Derive a scan's lineage and write it into the scan run: edges to `lineage_edges`, views
    whose SQL could not be read to `run_errors` (phase 'lineage'; the run's status unchanged)."""
    from dsa.model import RUN_ERRORS, frame

    views = views_of(extraction.tables, extraction.columns)
    if not views and not dependencies:
        if isinstance(getattr(connector, "on_rows", None), EarlyLineage):
            connector.on_rows.release()
        return
    index = SchemaIndex.from_frame(extraction.columns)
    cache = LineageCache.of(run.store.path, run.connection)
    early = getattr(connector, "on_rows", None)
    try:
        derived = derive(run.connection, connector.dialect, views, index, dependencies, cache,
                         early if isinstance(early, EarlyLineage) else None)
    finally:
        if isinstance(early, EarlyLineage):
            early.release()
    cache.save()
    edges = derived.frame(run.run_id, run.connection)
    run.write("lineage_edges", edges)
    if derived.errors:
        at = datetime.now(timezone.utc)
        run.write("run_errors", frame([{**e, "run_id": run.run_id, "connection": run.connection, "phase": "lineage",
                                        "recorded_at": at} for e in derived.errors], RUN_ERRORS))
    run.counts.update(lineage_edge_count=edges.height, lineage_error_count=len(derived.errors),
                      lineage_view_count=len(views), lineage_views_reused=cache.reused)


# -- resolutions kept between scans ------------------------------------------------------------------


def _cache_key(dialect: str, view: View) -> str:
    # the view's own schema is part of it: unqualified names resolve there
    return hashlib.blake2b(f"{dialect}\0{view.schema}\0{view.sql}".encode(), digest_size=16).hexdigest()


def _signature(index: SchemaIndex, relation: tuple[str, str]) -> str | None:
    columns = index.columns.get(relation)
    if columns is None:
        return None
    return hashlib.blake2b("\0".join(columns).encode(), digest_size=8).hexdigest()


class LineageCache:
    """Views' resolutions from earlier scans of one connection, in `<store>/cache/lineage/`.

    An entry is reused only while the columns of every relation the view read are the ones it was
    resolved with. The file is rewritten after each scan with the entries that scan used (written
    whole to a temporary name and renamed: two scans at once leave one's entries, never a torn
    file; a file that cannot be read is ignored)."""

    def __init__(self, path: Path):
        self.path = path
        self._old: dict[str, tuple[bytes, bytes]] = {}
        self._new: dict[str, tuple[bytes, bytes]] = {}
        self.reused = 0  # views whose resolution came from the cache
        import polars as pl

        try:
            old = pl.read_parquet(path)
            self._old = dict(zip(old["key"].to_list(), zip(old["reads"].to_list(), old["result"].to_list())))
        except Exception:  # no cache yet, or one from another version: resolve afresh
            pass

    @classmethod
    def of(cls, store_path: Path, connection: str) -> "LineageCache":
        return cls(cache_path(store_path, connection))

    def get(self, key: str, index: SchemaIndex):
        entry = self._old.get(key)
        if entry is None:
            return None
        reads = orjson.loads(entry[0])
        if any(_signature(index, (s, t)) != sig for s, t, sig in reads):
            return None
        self._new[key] = entry
        self.reused += 1
        data = orjson.loads(entry[1])
        outputs = [(name, {(s, t, c): k for s, t, c, k in refs}) for name, refs in data["outputs"]]
        shaping = {(s, t, c): k for s, t, c, k in data["shaping"]}
        tables = {(s, t): k for s, t, k in data["tables"]}
        return outputs, shaping, tables

    def put(self, key: str, index: SchemaIndex, outputs, shaping: Refs, tables: dict[tuple[str, str], str]) -> None:
        reads = [(s, t, _signature(index, (s, t))) for s, t in tables]
        data = {"outputs": [(name, [(*ref, k) for ref, k in refs.items()]) for name, refs in outputs],
                "shaping": [(*ref, k) for ref, k in shaping.items()],
                "tables": [(*rel, k) for rel, k in tables.items()]}
        self._new[key] = (orjson.dumps(reads), orjson.dumps(data))

    def save(self) -> None:
        if not self._new and not self._old:
            return
        import polars as pl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._new)
        frame = pl.DataFrame({"key": keys, "reads": [self._new[k][0] for k in keys],
                              "result": [self._new[k][1] for k in keys]},
                             schema={"key": pl.Utf8, "reads": pl.Binary, "result": pl.Binary})
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        write_atomic(self.path, buffer.getvalue())
