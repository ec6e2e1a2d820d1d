"""DuckDB SQL as Postgres SQL: how the catalog's views and report queries run on the mirror.

sqlglot translates; what it leaves in DuckDB's words (arg_max, GROUP BY ALL, JSON paths read
from text, the catalog's information_schema) is rewritten here. Both the mirror (creating the
views) and the Postgres-backed catalog (running queries) use it.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from dsa import queries
from dsa.errors import ConfigError, DsaError, one_line

SCHEMA = "dsa_production"  # the mirror's schema in Postgres


def _fix_for_postgres(node: exp.Expression) -> exp.Expression:
    """What sqlglot leaves in DuckDB's words: arg_max / arg_min and GROUP BY ALL; and the
    catalog's information_schema, which in Postgres is the mirror schema's part of it."""
    if (isinstance(node, exp.Table) and node.db.lower() == "information_schema"
            and node.name.lower() in ("columns", "tables", "views")):
        inner = exp.select("*").from_(exp.table_(node.name, db="information_schema")).where(
            exp.column("table_schema").eq(exp.Literal.string(SCHEMA)))
        return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name)))
    if isinstance(node, exp.Select) and isinstance(node.args.get("group"), exp.Group) and node.args["group"].args.get("all"):
        # GROUP BY ALL groups by every selected expression that holds no aggregate: by position.
        keys = [exp.Literal.number(i) for i, e in enumerate(node.expressions, 1)
                if not e.find(exp.AggFunc) and not e.find(exp.Window) and not isinstance(e.unalias(), exp.Literal)]
        node.set("group", exp.Group(expressions=keys) if keys else None)
        return node
    if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)) and not node.args.get("only_json_types"):
        # DuckDB reads JSON from text; Postgres needs json(b): the mirror's JSON columns are jsonb
        # (a no-op cast) and other JSON text columns are parsed. Operators (->, ->>) take jsonb.
        node.set("this", exp.cast(node.this.copy(), exp.DataType.build("jsonb")))
        path = node.expression
        keys = _path_keys(path) if isinstance(path, exp.JSONPath) else None
        if isinstance(node, exp.JSONExtractScalar) and keys is not None and len(keys) > 1:
            # a text result at a nested path: #>> '{a,0,b}' (chained ->> would read text as JSON)
            literal = "{" + ",".join('"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in keys) + "}"
            return exp.JSONBExtractScalar(this=node.this, expression=exp.Literal.string(literal))
        node.set("only_json_types", True)
        return node
    if isinstance(node, (exp.ArgMax, exp.ArgMin)):
        value, key = node.this, node.expression
        order = exp.Ordered(this=key.copy(), desc=isinstance(node, exp.ArgMax), nulls_first=False)
        agg = exp.ArrayAgg(this=exp.Order(this=value.copy(), expressions=[order]))
        # DuckDB's arg_max skips rows where either argument is NULL.
        cond = exp.and_(exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())),
                        exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())))
        return exp.Bracket(this=exp.Paren(this=exp.Filter(this=agg, expression=exp.Where(this=cond))),
                           expressions=[exp.Literal.number(1)], offset=1)
    return node


def _path_keys(path: exp.JSONPath) -> list[str] | None:
    """A simple JSON path ($.a[0].b) as its keys, or None for wildcards, filters and the like."""
    keys = []
    for part in path.expressions:
        if isinstance(part, exp.JSONPathRoot):
            continue
        if isinstance(part, (exp.JSONPathKey, exp.JSONPathSubscript)) and isinstance(part.this, (str, int)):
            keys.append(str(part.this))
        else:
            return None
    return keys


def to_postgres(statement: exp.Expression) -> str:
    return statement.transform(_fix_for_postgres).sql(dialect="postgres")


def to_postgres_statements(text: str) -> list[str]:
    """A file of DuckDB statements as Postgres statements (comments dropped)."""
    out = []
    for statement in sqlglot.parse(text, read="duckdb"):
        if statement is None:
            continue
        for c in statement.find_all(exp.Expression):
            c.comments = None
        out.append(to_postgres(statement))
    return out


def postgres_versions() -> dict[str, str]:
    """Shipped queries written again for Postgres where sqlglot's translation is not faithful:
    the DuckDB text of `queries/<name>.sql` -> the text of `queries/mirror/<name>.sql`."""
    out = {}
    for path in sorted((queries.ROOT / "mirror").glob("*.sql")):
        if path.stem != "bookkeeping" and not path.stem.startswith("views") and queries.exists(path.stem):
            out[queries.text(path.stem).strip()] = path.read_text(encoding="utf-8")
    return out


def translate_query(query: str) -> tuple[str, int]:
    """One DuckDB query as Postgres SQL with `$1..$n` placeholders; returns it and n."""
    try:
        statement = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise DsaError(f"query: cannot translate to Postgres: {one_line(str(exc))}") from None
    count = 0
    numbered: set[int] = set()

    def number(node: exp.Expression) -> exp.Expression:
        # DuckDB's `?` count up; `$n` name their parameter (and may repeat): Postgres takes `$n`.
        nonlocal count
        if isinstance(node, exp.Placeholder):
            if node.this is None:
                count += 1
                return exp.Var(this=f"${count}")
            if str(node.this).isdigit():
                numbered.add(int(node.this))
                return exp.Var(this=f"${int(node.this)}")
            raise ConfigError(f"query: named parameter ${node.this} is not supported on a Postgres catalog")
        return node

    text = to_postgres(statement.transform(number))
    if count and numbered:
        raise ConfigError("query: use either ? or $n parameters, not both")
    return text, count or max(numbered, default=0)


# Server functions that reach beyond the catalog: the server's files, large objects, other
# databases, settings, statistics of other sessions, or SQL of their own (query_to_xml runs any query).
_OUTSIDE = re.compile(r"^(pg_|lo_|dblink)|_to_xml|^(current_setting|set_config|xpath|xmlparse)$")
_INFORMATION_SCHEMA = ("columns", "tables", "views")


def check_catalog_only(query: str, relations: set[str]) -> None:
    """Refuse a user's query that reads anything but the catalog's relations (`relations`, the
    mirror schema's tables and views) and its information_schema, as the local store refuses
    files outside the catalog: a catalog query is a catalog query on either."""
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"query: {one_line(str(exc))}") from None
    named = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function: its name is checked with the other functions below
        name, schema = table.name.lower(), table.db.lower()
        if table.catalog or schema not in ("", SCHEMA, "information_schema"):
            raise ConfigError(f"query: {table.sql('duckdb')} is outside the catalog")
        if schema == "information_schema" and name in _INFORMATION_SCHEMA:
            continue
        if not (name in relations or (not schema and name in named)):
            raise ConfigError(f"query: {table.sql('duckdb')} is not a table or view of the catalog")
    for func in tree.find_all(exp.Func):
        name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
        if _OUTSIDE.search(name):
            raise ConfigError(f"query: function {name} reaches beyond the catalog")
