"""Reading the catalog: read-only SQL and exports of a run."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from dsa.errors import ConfigError, DsaError, NotFound, one_line
from dsa.model import CATALOG_TABLES
from dsa.store import Store

EXPORT_FORMATS = ("json", "csv", "parquet")


def read_only_query(store: Store, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run one SELECT over the catalog. Anything that is not a single query is refused."""
    import duckdb  # here: every command imports this module, and most never query

    con = store.connect()
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise DsaError(f"query: {one_line(str(exc))}") from None
        if len(statements) != 1:
            raise ConfigError(f"query: give exactly one statement (got {len(statements)})")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise ConfigError(f"query: only read-only SELECT queries are allowed (got {kind.name})")
        try:
            return con.execute(sql, params or []).pl()
        except duckdb.Error as exc:
            raise DsaError(f"query: {one_line(str(exc))}") from None
    finally:
        con.close()


def latest_run(store: Store, run_type: str = "scan", connection: str | None = None) -> str:
    runs = store.sync_runs().filter((pl.col("run_type") == run_type) & (pl.col("status") == "success"))
    if connection:
        runs = runs.filter(pl.col("connection") == connection)
    if runs.height == 0:
        where = f" for '{connection}'" if connection else ""
        raise NotFound(f"no successful {run_type} run{where} in the catalog at {store.path}")
    return runs.sort("started_at")["run_id"][-1]


def export_run(store: Store, run_id: str | None, fmt: str, out: Path) -> list[tuple[Path, int]]:
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
    con = store.connect()
    written = []
    try:
        for table in ["sync_runs", *CATALOG_TABLES]:
            frame = con.execute(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]).pl()
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
        con.close()
    return written
