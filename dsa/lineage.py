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
from typing import TYPE_CHECKING, Any, Iterable

import orjson
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

from dsa import workers
from dsa.errors import one_line
from dsa.names import qualified_name
from dsa.system import write_atomic

# Polars is imported where it is used, not here: a worker process resolving views
# (`_resolve_chunk`) imports this module and needs sqlglot alone.
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
        self._by_table: dict[str, list[tuple[str, str]]] = {}
        for key in columns:
            self._folded.setdefault((key[0].lower(), key[1].lower()), key)
            self._by_table.setdefault(key[1].lower(), []).append(key)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> "SchemaIndex":
        """From rows with schema_name, table_name, column_name (in ordinal order)."""
        columns: dict[tuple[str, str], list[str]] = {}
        for s, t, c in zip(frame["schema_name"].to_list(), frame["table_name"].to_list(),
                           frame["column_name"].to_list()):
            columns.setdefault((s, t), []).append(c)
        return cls(columns)

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
            same = self._by_table.get(table.lower(), [])
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


class ViewLineage:
    """One view's resolution: its output columns' sources and the columns that shape its rows."""

    def __init__(self, index: SchemaIndex, home: str):
        self.index = index
        self.home = home
        self._outputs: dict[int, list[tuple[str, Refs]]] = {}
        self.shaping: Refs = {}  # columns read by filters and joins anywhere in the query
        self.tables: dict[tuple[str, str], str] = {}  # every relation read -> its strongest kind

    def run(self, tree: exp.Expression) -> list[tuple[str, Refs]]:
        root = build_scope(tree)
        if root is None:
            raise ValueError("not a query")
        for scope in root.traverse():
            self._shaping_columns(scope)
            for source in scope.sources.values():
                if isinstance(source, exp.Table):
                    self._note_table(self._relation(source), "filter")
        outputs = self.outputs(root)
        for _, refs in outputs:
            for (s, t, _c), kind in refs.items():
                self._note_table((s, t), kind)
        for (s, t, _c), kind in self.shaping.items():
            self._note_table((s, t), kind)
        return outputs

    # -- output columns --------------------------------------------------------------------

    def outputs(self, scope: Scope) -> list[tuple[str, Refs]]:
        """Each output column of a scope, in order: its name and the base columns it comes from."""
        key = id(scope)
        if key not in self._outputs:
            self._outputs[key] = self._set_operation(scope) if isinstance(scope.expression, exp.SetOperation) else self._select(scope)
        return self._outputs[key]

    def _set_operation(self, scope: Scope) -> list[tuple[str, Refs]]:
        left, right = (self.outputs(s) for s in scope.set_operation_scopes)
        merged = []
        for i, (name, refs) in enumerate(left):
            both = dict(refs)
            if i < len(right):
                for ref, kind in right[i][1].items():
                    _merge(both, ref, kind)
            merged.append((name, both))
        return merged

    def _select(self, scope: Scope) -> list[tuple[str, Refs]]:
        select = scope.expression
        if not isinstance(select, exp.Select):
            return []
        out: list[tuple[str, Refs]] = []
        for projection in select.selects:
            star = projection if isinstance(projection, exp.Star) else (
                projection if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star) else None)
            if star is not None:
                names = [projection.table] if isinstance(star, exp.Column) and star.table else list(scope.sources)
                for alias in names:
                    out.extend(self._source_outputs(scope, alias))
                continue
            inner = projection.unalias()
            copied = isinstance(inner, exp.Column)
            refs: Refs = {}
            for column in _columns_of(projection, scope):
                for ref, kind in self.resolve(column, scope).items():
                    _merge(refs, ref, kind if copied else "derived")
            for sub in _subqueries_of(projection, scope):
                for _, sub_refs in self.outputs(sub):
                    for ref in sub_refs:
                        _merge(refs, ref, "derived")
            out.append((projection.alias_or_name, refs))
        return out

    def _source_outputs(self, scope: Scope, alias: str) -> list[tuple[str, Refs]]:
        source = _source(scope, alias)
        if isinstance(source, Scope):
            return self.outputs(source)
        if isinstance(source, exp.Table):
            relation = self._relation(source)
            return [(c, {(*relation, c): "direct"}) for c in self.index.columns.get(relation, [])]
        return []

    # -- single columns ----------------------------------------------------------------------

    def resolve(self, column: exp.Column, scope: Scope) -> Refs:
        """The base columns a column reference reads (through derived tables and CTEs)."""
        name = column.name
        at: Scope | None = scope
        while at is not None:
            alias = column.table
            if alias:
                source = _source(at, alias)
            else:
                holders = [a for a in at.sources if self._has(at, a, name)]
                source = _source(at, holders[0]) if holders else (
                    _source(at, next(iter(at.sources))) if len(at.sources) == 1 and at.parent is None else None)
            if source is not None:
                return self._read(source, name)
            at = at.parent  # a correlated reference to an outer query
        return {}

    def _read(self, source: Scope | exp.Table, name: str) -> Refs:
        if isinstance(source, Scope):
            lowered = name.lower()
            for out_name, refs in self.outputs(source):
                if out_name == name or out_name.lower() == lowered:
                    return refs
            return {}
        relation = self._relation(source)
        return {(*relation, self.index.column(relation, name) or name): "direct"}

    def _has(self, scope: Scope, alias: str, name: str) -> bool:
        source = _source(scope, alias)
        if isinstance(source, Scope):
            lowered = name.lower()
            return any(n.lower() == lowered for n, _ in self.outputs(source))
        if isinstance(source, exp.Table):
            return self.index.column(self._relation(source), name) is not None
        return False

    def _relation(self, table: exp.Table) -> tuple[str, str]:
        return self.index.find(table.db or None, table.name, self.home)

    # -- what shapes the rows ------------------------------------------------------------

    def _shaping_columns(self, scope: Scope) -> None:
        """Columns in WHERE, JOIN, GROUP BY ... of this scope, and every column a predicate's
        subquery reads."""
        predicate = scope.is_subquery and not _in_projection(scope)
        for column in scope.columns:
            if _owner(column) is not scope.expression:
                continue  # a correlated reference: counted in the subquery's own scope
            kind = "filter" if predicate else _clause_kind(column, scope.expression)
            if kind:
                for ref in self.resolve(column, scope):
                    _merge(self.shaping, ref, kind)

    def _note_table(self, relation: tuple[str, str], kind: str) -> None:
        if relation not in self.tables or _RANK[kind] < _RANK[self.tables[relation]]:
            self.tables[relation] = kind


def _merge(refs: Refs, ref: Ref, kind: str) -> None:
    if ref not in refs or _RANK[kind] < _RANK[refs[ref]]:
        refs[ref] = kind


def _source(scope: Scope, alias: str) -> Scope | exp.Table | None:
    sources = scope.sources
    found = sources.get(alias)
    if found is None:
        lowered = alias.lower()
        found = next((v for k, v in sources.items() if k.lower() == lowered), None)
    return found


def _columns_of(node: exp.Expression, scope: Scope) -> Iterable[exp.Column]:
    """Columns of `node` that belong to `scope` (not to a subquery inside it)."""
    return [c for c in node.find_all(exp.Column) if _owner(c) is scope.expression]


def _owner(column: exp.Column) -> exp.Expression | None:
    """The SELECT a column reference is written in."""
    return column.find_ancestor(exp.Select)


def _subqueries_of(node: exp.Expression, scope: Scope) -> list[Scope]:
    return [s for s in scope.subquery_scopes if _within(s.expression, node)]


def _within(node: exp.Expression, ancestor: exp.Expression) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _clause_kind(column: exp.Column, select: exp.Expression) -> str | None:
    """The kind of a column's edge by the clause of `select` it sits in (None: the SELECT list,
    handled as an output). A join's condition may sit inside a parenthesized FROM."""
    node: exp.Expression = column
    while node.parent is not None and node.parent is not select:
        if isinstance(node.parent, exp.Join) and node.arg_key in ("on", "using"):
            return "join"
        node = node.parent
    return _CLAUSE_KINDS.get(node.arg_key) if node.parent is select else None


def _in_projection(scope: Scope) -> bool:
    """Is this subquery scope a scalar subquery in its parent's SELECT list?"""
    parent = scope.parent.expression if scope.parent else None
    node = scope.expression
    while node is not None and node.parent is not parent:
        node = node.parent
    return node is not None and node.arg_key == "expressions"


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


PARALLEL_VIEWS = 200  # views to resolve before a second process pays for itself
WORKERS = workers.COUNT


def derive(connection: str, dialect: str, views: list[View], index: SchemaIndex,
           dependencies: list[dict[str, Any]] | None = None, cache: LineageCache | None = None) -> Derived:
    """Table- and column-level edges of every view; `dependencies` (Postgres: rows of
    view_schema, view_name, ref_schema, ref_name) give exact table-level edges; `cache` holds
    resolutions of earlier scans. Views the cache lacks are resolved in `WORKERS` processes
    when there are many (parsing is pure Python: one process keeps one core busy)."""
    edges: list[tuple[str, str, str, str, str]] = []
    errors: list[dict[str, str]] = []
    exact: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for row in dependencies or []:
        exact.setdefault((row["view_schema"], row["view_name"]), set()).add((row["ref_schema"], row["ref_name"]))
    keys = [_cache_key(dialect, view) for view in views]
    known = [cache.get(key, index) if cache is not None else None for key in keys]
    missing = [i for i, k in enumerate(known) if k is None]
    for i, resolved in zip(missing, _resolve_many([views[i] for i in missing], dialect, index)):
        known[i] = resolved
        if cache is not None and not isinstance(resolved, str):
            cache.put(keys[i], index, *resolved)
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


def resolve_view(view: View, dialect: str, index: SchemaIndex) -> Resolved | str:
    """One view's outputs, shaping columns and relations read; or why its SQL cannot be read."""
    try:
        lineage = ViewLineage(index, view.schema)
        return lineage.run(_query(view.sql, dialect)), lineage.shaping, lineage.tables
    except Exception as exc:  # sqlglot cannot read every construct of every engine
        return _reason(exc)


def _resolve_chunk(dialect: str, columns: dict[tuple[str, str], list[str]], chunk: list[View]) -> list[Resolved | str]:
    """Resolve views in a worker process, given the columns of the relations they may read."""
    index = SchemaIndex(columns)
    return [resolve_view(view, dialect, index) for view in chunk]


def _resolve_many(views: list[View], dialect: str, index: SchemaIndex) -> list[Resolved | str]:
    """Resolve views here, or in `WORKERS` processes when there are many: the idle workers
    `dsa scan` forked before it had a second thread (`dsa.workers`), else a 'forkserver' pool
    (a fork now would copy the locks of Polars' threads). A chunk no process returns is
    resolved here."""
    if len(views) < PARALLEL_VIEWS or (os.cpu_count() or 1) < 2:
        return [resolve_view(view, dialect, index) for view in views]
    chunks = [views[i::WORKERS] for i in range(WORKERS)]  # every other view: shapes spread evenly
    jobs = [(dialect, _columns_read(index, chunk), chunk) for chunk in chunks]
    forked = workers.take(WORKERS)
    if forked:
        sent = [worker.send(__name__, "_resolve_chunk", *job) for worker, job in zip(forked, jobs)]
        done = [_resolve_chunk(*job) for job in jobs[len(forked):]]  # workers short: this one helps
        done[:0] = [worker.result() if ok else worker.close() for worker, ok in zip(forked, sent)]
    else:
        try:
            context = mp.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
                done = list(pool.map(_resolve_chunk, *zip(*jobs)))
        except (OSError, ValueError, BrokenExecutor):  # no processes to be had here
            done = [None] * WORKERS
    out: list[Resolved | str] = [""] * len(views)
    for w, results in enumerate(done):
        out[w::WORKERS] = results if results is not None else _resolve_chunk(*jobs[w])
    return out


_WORD = re.compile(r"\w+")


def _columns_read(index: SchemaIndex, views: list[View]) -> dict[tuple[str, str], list[str]]:
    """The columns of the relations these views may name (a name that is a word of their SQL,
    whatever its case, or one that is not a plain word): what a worker needs of the index."""
    words = {w.lower() for view in views for w in _WORD.findall(view.sql)}
    return {key: columns for key, columns in index.columns.items()
            if key[1].lower() in words or not _WORD.fullmatch(key[1])}


def _query(sql: str, dialect: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read=dialect)
    if isinstance(tree, exp.Create):
        tree = tree.expression
    if not isinstance(tree, exp.Query):
        raise ValueError("not a SELECT")
    return tree


_STYLING = re.compile(r"\x1b\[[0-9;]*m")  # the underline sqlglot puts under the spot it could not read


def _reason(exc: Exception) -> str:
    text = one_line(_STYLING.sub("", str(exc)))
    return (text[:200] + "...") if len(text) > 200 else text or exc.__class__.__name__


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
        return
    index = SchemaIndex.from_frame(extraction.columns)
    cache = LineageCache.of(run.store.path, run.connection)
    derived = derive(run.connection, connector.dialect, views, index, dependencies, cache)
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
        name = hashlib.blake2b(connection.encode(), digest_size=12).hexdigest()
        return cls(Path(store_path) / "cache" / "lineage" / f"{name}.parquet")

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
