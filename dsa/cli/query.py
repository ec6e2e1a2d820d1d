from __future__ import annotations

import json
import sys
from typing import Literal

import typer

from dsa.cli.common import app, console, state


@app.command()
def query(
    sql: str = typer.Argument(..., help="One read-only DuckDB SELECT over the catalog's tables and views."),
    format: Literal["table", "csv", "json"] = typer.Option("table", "--format", "-f", help="Output format."),
) -> None:
    """Query the catalog with DuckDB SQL (read-only)."""
    from dsa.catalog import read_only_query

    frame = read_only_query(state.store(), sql)
    if format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str, ensure_ascii=False) + "\n")
    elif format == "csv":
        sys.stdout.write(frame.write_csv())
    else:
        from rich.table import Table

        table = Table(*frame.columns)
        for row in frame.iter_rows():
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
        console.print(f"{frame.height} rows")
