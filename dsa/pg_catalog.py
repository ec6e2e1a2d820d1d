"""Reading the catalog from its Postgres mirror: the same DuckDB SQL, translated by sqlglot.

`PostgresCatalog` has the reading surface of `Store` that the app and the command line use
(`sql`, `read_only_query`, `sync_runs`, `run`, `progress`, `begin_run`, `path`). Its sessions
are read-only on the server (`default_transaction_read_only`). Runs started through it are
written to a local cache store and mirrored into Postgres as they start and finish, so every
app instance over the same Postgres sees every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl
import psycopg
import sqlglot
from psycopg.adapt import Loader
from sqlglot import exp

from dsa import duck
from dsa.errors import ConfigError, DsaError, NotFound, one_line
from dsa.store import SYNC_RUNS, Store



# -- translation -----------------------------------------------------------------------------


def _fix_for_postgres(node: exp.Expression) -> exp.Expression:
    """What sqlglot leaves in DuckDB's words: arg_max / arg_min and GROUP BY ALL; and the
    catalog's information_schema, which in Postgres is the mirror schema's part of it."""
    if (isinstance(node, exp.Table) and node.db.lower() == "information_schema"
            and node.name.lower() in ("columns", "tables", "views")):
        from dsa.mirror import SCHEMA

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
    from dsa import queries

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


# -- result types ----------------------------------------------------------------------------


class _JsonText(Loader):
    """jsonb comes back as its text, as the local store's JSON columns are text."""

    def load(self, data: Any) -> str:
        return bytes(data).decode()


class _Number(Loader):
    """numeric as DuckDB gives it: a whole number (a sum of integers, which DuckDB returns as
    a 128-bit integer read as Decimal) stays Decimal, a fraction (an average) is a float."""

    def load(self, data: Any) -> Decimal | float:
        text = bytes(data).decode()
        return Decimal(text) if "." not in text and text.lstrip("-").isdigit() else float(text)


_POLARS = {"int8": pl.Int64, "int4": pl.Int32, "int2": pl.Int16, "float8": pl.Float64, "float4": pl.Float32,
           "text": pl.Utf8, "varchar": pl.Utf8, "bool": pl.Boolean, "jsonb": pl.Utf8, "json": pl.Utf8,
           "timestamptz": pl.Datetime("us", "UTC"), "timestamp": pl.Datetime("us"), "date": pl.Date}


class PostgresCatalog:
    """The catalog in a Postgres mirror, written through a local cache store."""

    def __init__(self, dsn: str, cache: Store):
        from dsa.mirror import SCHEMA, MirrorHook, describe_dsn

        self.dsn = dsn
        self.cache = cache
        self.path = cache.path
        self.runs_dir = cache.runs_dir
        self.schema = SCHEMA
        self.label = describe_dsn(dsn)
        cache.run_hooks.append(MirrorHook(dsn, strict=True))

    @property
    def run_hooks(self) -> list:
        return self.cache.run_hooks

    # -- writing goes to the cache store, and from there to Postgres --------------------------

    def init(self) -> None:
        self.cache.init()

    def begin_run(self, *args: Any, **kwargs: Any):
        return self.cache.begin_run(*args, **kwargs)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        return self.cache.progress(run_id)

    # -- reading ------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection]:
        from dsa.mirror import connect

        conn = connect(self.dsn, read_only=True, what="catalog")
        try:
            for name in ("jsonb", "json"):
                conn.adapters.register_loader(name, _JsonText)
            conn.adapters.register_loader("numeric", _Number)
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{self.schema}.sync_runs"]).fetchone()[0]
            if not exists:
                raise NotFound(f"the catalog {self.label} has no schema {self.schema} yet: run `dsa mirror` or a scan")
            conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(self.schema)))
            yield conn
        finally:
            conn.close()

    def _frame(self, conn: psycopg.Connection, query: str, params: list | None) -> pl.DataFrame:
        with psycopg.RawCursor(conn) as cur:
            cur.execute(query, params or None)
            if cur.description is None:
                return pl.DataFrame()
            names = [d.name for d in cur.description]
            types = {}
            for d in cur.description:
                info = conn.adapters.types.get(d.type_code)
                if info is not None and info.name in _POLARS:
                    types[d.name] = _POLARS[info.name]
            rows = cur.fetchall()
        if len(set(names)) != len(names):  # DuckDB would suffix duplicates the same way
            seen: dict[str, int] = {}
            for i, n in enumerate(names):
                if n in seen:
                    seen[n] += 1
                    names[i] = f"{n}_{seen[n]}"
                else:
                    seen[n] = 0
        columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
        return pl.DataFrame({n: pl.Series(n, v, dtype=types.get(n), strict=False) for n, v in columns.items()})

    def sql(self, query: str, params: list | None = None) -> pl.DataFrame:
        """Run DuckDB-dialect SQL (as written for the local store) on the Postgres catalog.

        The text of a shipped query `queries/<name>.sql` that has a Postgres version in
        `queries/mirror/<name>.sql` runs as that version (same `$n` parameters)."""
        params = list(params or [])
        text = postgres_versions().get(query.strip())
        if text is None:
            text, count = translate_query(query)
            if count != len(params):
                raise ConfigError(f"query: {count} placeholders but {len(params)} parameters")
        with self._session() as conn:
            try:
                return self._frame(conn, text, params)
            except psycopg.Error as exc:
                raise DsaError(f"query: {one_line(str(exc))} (on {self.label}; as Postgres: {one_line(text)})") from None

    def read_only_query(self, query: str, params: list | None = None) -> pl.DataFrame:
        """One SELECT, checked by DuckDB's own parser as on the local store, then translated."""
        con = duck.connect()
        try:
            try:
                statements = con.extract_statements(query)
            except duckdb.Error as exc:
                raise DsaError(f"query: {one_line(str(exc))}") from None
        finally:
            con.close()
        if len(statements) != 1:
            raise ConfigError(f"query: give exactly one statement (got {len(statements)})")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise ConfigError(f"query: only read-only SELECT queries are allowed (got {statements[0].type.name})")
        return self.sql(query, params)

    def sync_runs(self) -> pl.DataFrame:
        try:
            with self._session() as conn:
                frame = self._frame(conn, "SELECT * FROM sync_runs ORDER BY started_at, run_id", None)
        except NotFound:
            return pl.DataFrame(schema=SYNC_RUNS)
        except psycopg.Error as exc:
            raise DsaError(f"cannot read runs from {self.label}: {one_line(str(exc))}") from None
        if frame.height == 0:
            return pl.DataFrame(schema=SYNC_RUNS)
        return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                             for c, t in SYNC_RUNS.items()])

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection over the whole catalog, for code that needs DuckDB itself (a diff's
        variables and macros, ...). Finished runs the cache lacks are first copied from Postgres
        into it; runs never change, so each is fetched once."""
        self.replicate()
        return self.cache.connect()

    def run_table(self, run_id: str, table: str) -> pl.DataFrame:
        """One catalog table's rows of one run (copied into the cache first, like `connect`)."""
        self.replicate()
        return self.cache.run_table(run_id, table)

    def refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        self.replicate()
        self.cache.refresh(con)

    def replicate(self) -> list[str]:
        """Copy mirrored runs missing from the cache into it (as Parquet runs); returns their ids."""
        from dsa.model import CATALOG_TABLES, frame
        from dsa.store import _write_atomic

        self.cache.init()
        fetched = []
        with self._session() as conn:
            done = [r[0] for r in conn.execute("SELECT run_id FROM mirrored_runs ORDER BY run_id")]
            missing = [r for r in done if not (self.cache.runs_dir / r).exists()]
            if not missing:
                return fetched
            have = {(t, c) for t, c in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s", [self.schema])}
            runs = {m["run_id"]: m for m in self.manifests() if m["run_id"] in set(missing)}
            for run_id in missing:
                tmp = self.cache.path / "tmp" / f"{run_id}.{os.getpid()}"
                for table, schema in CATALOG_TABLES.items():
                    columns = [c for c in schema if (table, c) in have]
                    if not columns:
                        continue
                    query = psycopg.sql.SQL("SELECT {} FROM {} WHERE run_id = %s").format(
                        psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)), psycopg.sql.Identifier(table))
                    cur = conn.execute(query, [run_id])
                    rows = cur.fetchall()
                    if rows:
                        (tmp / table).mkdir(parents=True, exist_ok=True)
                        frame([dict(zip(columns, r)) for r in rows], schema).write_parquet(tmp / table / "part-00000.parquet")
                manifest = {k: v for k, v in runs.get(run_id, {"run_id": run_id}).items()
                            if k not in ("duration_s", "schema_count", "table_count", "column_count", "error_count")}
                tmp.mkdir(parents=True, exist_ok=True)
                _write_atomic(tmp / "run.json", json.dumps({**manifest, "replicated_from": self.label}, default=str).encode())
                try:
                    os.rename(tmp, self.cache.runs_dir / run_id)  # whole runs only, as the store expects
                except OSError:  # another process replicated it first
                    import shutil

                    shutil.rmtree(tmp, ignore_errors=True)
                    continue
                fetched.append(run_id)
        return fetched

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for row in self.sync_runs().iter_rows(named=True):
            m = dict(row)
            for key in ("started_at", "finished_at"):
                m[key] = m[key].isoformat() if isinstance(m[key], datetime) else m[key]
            m["counts"] = json.loads(m["counts"]) if m.get("counts") else {}
            m["details"] = json.loads(m["details"]) if m.get("details") else {}
            out.append(m)
        return out

    def run(self, run_id: str) -> dict[str, Any]:
        for m in self.manifests():
            if m["run_id"] == run_id:
                return m
        raise NotFound(f"no run '{run_id}' in the catalog {self.label}")


def default_cache(dsn: str) -> Path:
    """Where runs started against a Postgres catalog are written before they are mirrored.

    `DSA_CACHE` if set, else the user's cache folder; one folder per server and database, so
    app instances on one machine over the same catalog share their connections and runs.
    """
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    key = f"{info.get('host') or 'localhost'}-{info.get('port') or 5432}-{info.get('dbname') or ''}-{info.get('user') or ''}"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:60] + "-" + hashlib.sha1(key.encode()).hexdigest()[:8]
    base = os.environ.get("DSA_CACHE")
    if not base:
        import platformdirs

        base = platformdirs.user_cache_dir("dsa")
    return Path(base) / slug
