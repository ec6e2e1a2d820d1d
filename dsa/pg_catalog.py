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
import secrets
import threading
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import duckdb
import polars as pl
import psycopg
from psycopg.adapt import Loader

from dsa import duck
from dsa.errors import ConfigError, DsaError, NotFound, one_line
from dsa.mirror import MirrorHook, connect, describe_dsn
from dsa.model import CATALOG_TABLES, frame
from dsa.pg_sql import SCHEMA, check_catalog_only, postgres_versions, translate_query
from dsa.store import SYNC_RUNS, Store
from dsa.system import write_atomic



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
        with self._session() as conn:
            relations = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [self.schema])}
        check_catalog_only(query, relations)
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
                # a folder of this call's own: threads of one process replicate at once too (a
                # report reads the comparison, the history and the runs' tables side by side)
                tmp = self.cache.path / "tmp" / f"{run_id}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(3)}"
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
                write_atomic(tmp / "run.json", json.dumps({**manifest, "replicated_from": self.label}, default=str).encode())
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
