"""Reading the catalog: which catalog to open, read-only SQL and exports of a run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Protocol

import polars as pl

from dsa.config import DEFAULT_STORE, is_postgres
from dsa.errors import ConfigError, DsaError, NotFound, one_line
from dsa.shared import CACHE_MARKER, catalog_dsn
from dsa.model import CATALOG_TABLES
from dsa.store import Store

if TYPE_CHECKING:
    import duckdb

    from dsa.config import Config

EXPORT_FORMATS = ("json", "csv", "parquet")


class Catalog(Protocol):
    """What reading (and starting runs in) a catalog takes: a local folder (`Store`) or a
    Postgres catalog (`PostgresCatalog`, written through a local cache store) have it alike."""

    path: Path  # the local folder: runs, connections, the vault (a Postgres catalog's cache)
    runs_dir: Path

    @property
    def label(self) -> str: ...  # where the catalog is, for messages

    @property
    def run_hooks(self) -> list[Callable[[str, Store, str], None]]: ...

    def init(self) -> None: ...

    def begin_run(self, connection: str, run_type: str, details: dict[str, Any] | None = None,
                  started_at: Any = None) -> ContextManager[Any]: ...

    def manifests(self) -> list[dict[str, Any]]: ...

    def run(self, run_id: str) -> dict[str, Any]: ...

    def sync_runs(self) -> pl.DataFrame: ...

    def progress(self, run_id: str) -> dict[str, Any] | None: ...

    def run_table(self, run_id: str, table: str) -> pl.DataFrame: ...  # one catalog table's rows of one run

    def sql(self, query: str, params: list | None = None) -> pl.DataFrame: ...

    def connect(self) -> duckdb.DuckDBPyConnection: ...


def open_catalog(spec: str | os.PathLike | None, config: "Config | None" = None) -> Catalog:
    """The catalog named by `store:` / `--store`: a local folder, or a Postgres URL.

    A local store gets the mirror hook when `mirror: {dsn: ...}` is configured, so every run
    (from the command line or the app) is mirrored as it ends. A Postgres catalog writes runs to
    a local cache store and mirrors them into Postgres as they start and end.
    """
    mirror_dsn = config.mirror.dsn if config is not None and config.mirror is not None else None
    spec = spec or DEFAULT_STORE
    if is_postgres(str(spec)):
        from dsa.pg_catalog import PostgresCatalog, default_cache

        cache = Store(default_cache(str(spec)))
        _remember_catalog(cache, str(spec))
        catalog = PostgresCatalog(str(spec), cache)
    elif (dsn := catalog_dsn(Path(spec))) is not None:
        # A cache folder of a Postgres catalog (e.g. handed to a `dsa scan` subprocess by the app):
        # its runs must reach Postgres too.
        from dsa.pg_catalog import PostgresCatalog

        catalog = PostgresCatalog(dsn, Store(Path(spec)))
    else:
        catalog = None
    if catalog is not None:
        if mirror_dsn and mirror_dsn != catalog.dsn:
            _add_mirror(catalog.cache, mirror_dsn)
        return catalog
    if Path(spec).exists() and not Path(spec).is_dir():
        raise ConfigError(f"the catalog {spec} is a file, not a folder (--store, DSA_STORE or the config's store:)")
    store = Store(Path(spec))
    if mirror_dsn:
        _add_mirror(store, mirror_dsn)
    return store


def _remember_catalog(cache: Store, dsn: str) -> None:
    """Mark a cache folder with its catalog's DSN (owner-only, like ~/.pgpass)."""
    path = cache.path / CACHE_MARKER
    data = json.dumps({"dsn": dsn}).encode()
    try:
        if path.exists() and path.read_bytes() == data:
            return
        cache.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(path.with_suffix(".tmp"), path)
    except OSError as exc:
        raise DsaError(f"cannot write the catalog cache at {cache.path}: {exc.strerror}") from None


def _add_mirror(store: Store, dsn: str) -> None:
    from dsa.mirror import MirrorHook

    store.run_hooks.append(MirrorHook(dsn, strict=False))


def read_only_query(store: Catalog, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run one SELECT over the catalog. Anything that is not a single query is refused."""
    if not isinstance(store, Store):
        return store.read_only_query(sql, params)
    import duckdb  # here: every command imports this module, and most never query

    con = store.connect()
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise ConfigError(f"query: {one_line(str(exc))}") from None
        if len(statements) != 1:
            raise ConfigError(f"query: give exactly one statement (got {len(statements)})")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise ConfigError(f"query: only read-only SELECT queries are allowed (got {kind.name})")
        try:
            return con.sql(sql, params=params or []).pl()
        except duckdb.Error as exc:
            # the query is the user's input: its errors (unknown names, bad casts) are exit 2
            raise ConfigError(f"query: {one_line(str(exc))}") from None
    finally:
        con.close()


# A run is usable when it ended `success`, or `partial`: a partial scan read everything but the
# objects it could not (a permission denied, a table dropped meanwhile), and those count as
# unknown in what is built on it (quality, diff, checks, reports, the app), never as gone.
USABLE = ("success", "partial")


def latest_run(store: Catalog, run_type: str = "scan", connection: str | None = None) -> str:
    """The newest usable run of this type (of this connection)."""
    runs = store.sync_runs().filter((pl.col("run_type") == run_type) & pl.col("status").is_in(USABLE))
    if connection:
        runs = runs.filter(pl.col("connection") == connection)
    if runs.height == 0:
        where = f" of '{connection}'" if connection else ""
        raise NotFound(f"no successful or partial {run_type}{where} in the catalog at {store.label}")
    return runs.sort("started_at", "run_id")["run_id"][-1]


def partial_note(store: Catalog, run_id: str) -> str | None:
    """One line saying that a run is partial and what that means for what is built on it."""
    m = store.run(run_id)
    if m["status"] != "partial":
        return None
    n = (m.get("counts") or {}).get("error_count") or 0
    return (f"{m['run_type']} {run_id} of '{m['connection']}' is partial: the {n} object{'s' if n != 1 else ''} "
            f"it could not read {'are' if n != 1 else 'is'} unknown here (see `dsa runs`)")


def export_run(store: Catalog, run_id: str | None, fmt: str, out: Path) -> list[tuple[Path, int]]:
    """Write every catalog table's rows of one run (and its sync_runs row) to `out`."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format: must be one of {', '.join(EXPORT_FORMATS)} (got {fmt!r})")
    run_id = run_id or latest_run(store)
    store.run(run_id)  # raises NotFound
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DsaError(f"--out: cannot create folder {out}: {exc.strerror}") from None
    reader = store.connect() if isinstance(store, Store) else None
    written = []
    try:
        for table in ["sync_runs", *CATALOG_TABLES]:
            import sqlglot
            from sqlglot import exp

            query = sqlglot.select("*").from_(exp.to_identifier(table)).where("run_id = ?").sql("duckdb")
            frame = reader.sql(query, params=[run_id]).pl() if reader else store.sql(query, [run_id])
            if frame.height == 0 and table != "sync_runs":
                continue
            path = out / f"{table}.{fmt}"
            if fmt == "parquet":
                frame.write_parquet(path)
            elif fmt == "csv":
                frame.write_csv(path)
            else:
                path.write_text(json.dumps(frame.to_dicts(), default=str, ensure_ascii=False, indent=1), encoding="utf-8")
            written.append((path, frame.height))
    finally:
        if reader:
            reader.close()
    return written
