"""Opening DuckDB connections the way dsa needs them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import duckdb


def connect(database: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection without DuckDB's progress bar. The bar is printed to stdout, even into
    a pipe, for any query running over two seconds: it would land in `dsa query --format csv`
    output, `dsa diff --format json` and the middle of dsa's own progress bar."""
    import duckdb  # here: importing DuckDB is for the commands that query with it

    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET enable_progress_bar = false")  # a session setting: not accepted in connect's config
    return con


def confine(con: duckdb.DuckDBPyConnection, folders: Iterable[Path]) -> None:
    """From now on `con` reads only files inside `folders` (the catalog's own) and nothing else of
    the machine: no other file (`read_csv('/etc/passwd')`), no COPY, no ATTACH, no extension, no
    Python variable by name. The settings are locked, so no later statement can undo them."""
    allowed = [str(Path(f).resolve()).rstrip("/") + "/" for f in folders]
    con.execute("SET allowed_directories = ?", [allowed])
    con.execute("SET python_enable_replacements = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
