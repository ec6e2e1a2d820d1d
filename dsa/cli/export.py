from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

from dsa.cli.common import app, console, state


@app.command()
def export(
    run: Optional[str] = typer.Argument(None, help="Run id (default: the newest successful or partial scan)."),
    format: Literal["json", "csv", "parquet"] = typer.Option("json", "--format", "-f", help="File format."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write one file per catalog table into."),
) -> None:
    """Export a run's entities and metrics."""
    from dsa.catalog import export_run

    written = export_run(state.store(), run, format, out)
    for path, rows in written:
        console.print(f"{path}  {rows} rows")
