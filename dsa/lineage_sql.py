"""Lineage's parsing half: one view's SQL read by sqlglot and walked scope by scope.

`dsa.lineage` runs a scan's lineage and needs no parser itself when worker processes do the
parsing (`dsa.workers`, `dsa.lineage_early`): what needs sqlglot is here, imported only by the
process that parses. A view is parsed once; its scopes (CTEs, subqueries, unions, derived
tables) are walked with the scanned columns (`SchemaIndex`), so `SELECT *`, unqualified and
quoted columns resolve to the table columns they read.
"""

from __future__ import annotations

import re
from typing import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

from dsa import workers
from dsa.errors import one_line
from dsa.lineage import _CLAUSE_KINDS, _RANK, Ref, Refs, Resolved, SchemaIndex, View


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


def resolve_view(view: View, dialect: str, index: SchemaIndex) -> Resolved | str:
    """One view's outputs, shaping columns and relations read; or why its SQL cannot be read."""
    return _resolve_parsed(_parse(view.sql, dialect), view.schema, index)


def _parse(sql: str, dialect: str) -> exp.Expression | str:
    try:
        return _query(sql, dialect)
    except Exception as exc:  # sqlglot cannot read every construct of every engine
        return _reason(exc)


def _resolve_parsed(tree: exp.Expression | str, schema: str, index: SchemaIndex) -> Resolved | str:
    if isinstance(tree, str):
        return tree
    try:
        lineage = ViewLineage(index, schema)
        return lineage.run(tree), lineage.shaping, lineage.tables
    except Exception as exc:
        return _reason(exc)


def _parse_then_resolve(dialect: str, views: list[tuple[str, str, str]]) -> list[Resolved | str] | None:
    """A worker's job for a first scan (`dsa.lineage_early`): parse the views now, while the
    source is still being read, then resolve them with the columns the parent posts later
    (None if it posts none)."""
    trees = [_parse(sql, dialect) for _, _, sql in views]
    columns = workers.receive()
    if columns is None:
        return None
    index = SchemaIndex(columns)
    return [_resolve_parsed(tree, schema, index) for tree, (schema, _, _) in zip(trees, views)]


def _resolve_chunk(dialect: str, columns: dict[tuple[str, str], list[str]], chunk: list[View]) -> list[Resolved | str]:
    """Resolve views in a worker process, given the columns of the relations they may read."""
    index = SchemaIndex(columns)
    return [resolve_view(view, dialect, index) for view in chunk]


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


