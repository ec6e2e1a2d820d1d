from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dsa.cli.common import app, console, state


@app.command()
def export(
    run: Optional[str] = typer.Argument(None, help="Run id (default: the newest successful scan)."),
    format: str = typer.Option("json", "--format", "-f", help="json, csv or parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write one file per catalog table into."),
) -> None:
    """Export a run's entities and metrics."""
    from dsa.catalog import export_run

    written = export_run(state.store(), run, format, out)
    for path, rows in written:
        console.print(f"{path}  {rows} rows")
