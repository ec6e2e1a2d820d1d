"""`dsa report`: one self-contained report file (HTML or Markdown) of a scan and its quality run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from dsa.cli.common import app, console_err, state


@app.command()
def report(
    source: str = typer.Argument(..., help="Connection to report on."),
    run: Optional[str] = typer.Option(None, "--run", help="Scan run (or a quality run: the scan it profiled). Default: SOURCE's newest successful or partial scan."),
    against: Optional[str] = typer.Option(None, "--against", help="Older scan run to show the changes against. Default: the scan before --run."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="File to write, '-' for standard output. Default: report-SOURCE.html (or .md)."),
    format: str = typer.Option("html", "--format", "-f", help="html (one self-contained file) or md (Markdown)."),
    tables: Optional[str] = typer.Option(None, "--tables", help="Only tables whose name or schema.name matches this glob."),
) -> None:
    """Write one report file: summary, tables and profiles, changes, drift, checks."""
    from dsa.report import default_file_name, report_bytes
    from dsa.system import write_atomic

    data = report_bytes(state.store(), state.config(), source, run, against, format, tables)
    if out == "-":
        sys.stdout.buffer.write(data)
        return
    path = Path(out or default_file_name(source, format))
    write_atomic(path, data)
    console_err.print(f"wrote {path} ({len(data) / 1e6:.2f} MB)")
