from __future__ import annotations

from typing import Optional

import typer
from rich.text import Text

from dsa.cli.common import app, console, state


@app.command()
def runs(
    source: Optional[str] = typer.Argument(None, help="Only this connection's runs."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Newest N runs."),
) -> None:
    """Run history: status, duration, counts and errors."""
    frame = state.store().sync_runs()
    if source:
        frame = frame.filter(frame["connection"] == source)
    frame = frame.tail(limit)
    from rich.table import Table

    table = Table("run", "connection", "type", "status", "started (UTC)", "seconds", "schemas", "tables", "columns", "error")
    colors = {"success": "green", "partial": "yellow", "failed": "red", "running": "cyan"}
    for r in frame.iter_rows(named=True):
        table.add_row(
            r["run_id"], r["connection"], r["run_type"], Text(r["status"], style=colors.get(r["status"], "white")),
            r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
            "" if r["duration_s"] is None else f"{r['duration_s']:.2f}",
            *("" if r[k] is None else str(r[k]) for k in ("schema_count", "table_count", "column_count")),
            r["error"] or "",
        )
    if frame.height == 0:
        console.print("no runs yet: try `dsa demo`, or `dsa scan SOURCE`")
    else:
        console.print(table)
