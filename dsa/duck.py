"""Opening DuckDB connections the way dsa needs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
