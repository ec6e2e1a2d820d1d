from __future__ import annotations

import json
import sys
from typing import Literal, Optional, TYPE_CHECKING

import typer

from dsa.cli.common import app, console, state

if TYPE_CHECKING:
    from dsa.diff import DiffResult

MAX_LINES = 200  # changes printed as text; the JSON output and the catalog hold them all


@app.command()
def diff(
    source: str = typer.Argument(..., help="Connection whose scans to compare (and the diff run's connection)."),
    from_run: Optional[str] = typer.Option(None, "--from", help="Older scan run (any connection). Default: see docs/diff.md."),
    to_run: Optional[str] = typer.Option(None, "--to", help="Newer scan run (any connection). Default: SOURCE's newest successful or partial scan."),
    against: Optional[str] = typer.Option(None, "--against", help="Compare SOURCE's scan with the newest successful or partial scan of this other connection (e.g. staging)."),
    renames: Optional[bool] = typer.Option(None, "--renames/--no-renames", help="Report same-shape drop+add pairs as renamed (config diff.renames, default on)."),
    format: Literal["text", "json"] = typer.Option("text", "--format", "-f", help="Output format."),
) -> None:
    """What changed between two scan runs. Exit 0 nothing changed, 4 something did."""
    from dsa.diff import diff as run_diff

    result = run_diff(state.store(), state.config(), source, from_run, to_run, against, renames)
    if format == "json":
        sys.stdout.write(json.dumps(result.to_document(), default=str, ensure_ascii=False) + "\n")
    else:
        print_text(result)
    raise typer.Exit(result.exit_code)


def print_text(result: DiffResult) -> None:
    import polars as pl
    from rich.table import Table

    from dsa.diff import ARROW, CHANGE_TYPES, describe_changes, short_value

    f, t = result.from_run, result.to_run
    console.print(f"diff {result.run_id}", markup=False)
    console.print(f"  from {f['run_id']} ({f['connection']}, {f['status']}, {f['started_at'][:19]})", markup=False)
    console.print(f"  to   {t['run_id']} ({t['connection']}, {t['status']}, {t['started_at'][:19]})", markup=False)
    table = Table("entity", *CHANGE_TYPES)
    for row in result.summary.iter_rows(named=True):
        table.add_row(row["entity_type"], *(str(row[c]) for c in CHANGE_TYPES))
    console.print(table)

    renamed_tables = set(result.changes["table"].filter(pl.col("change_type") == "renamed")["qualified_name"].to_list())
    lines, followed = [], {}
    for kind, frame in result.changes.items():
        for row in frame.iter_rows(named=True):
            changes = json.loads(row["changes"])
            # a column/constraint/index that only moved with its renamed table is not news
            if (kind in ("column", "constraint", "index") and row["change_type"] == "renamed"
                    and row.get("table_qualified_name") in renamed_tables and len(changes) == 1):
                followed[kind] = followed.get(kind, 0) + 1
                continue
            text = f"  {kind:<10} {row['change_type']:<9} {row['qualified_name']}"
            if row["change_type"] == "renamed":
                text += f" (was {row['previous_name']})"
            detail = describe_changes(changes)
            if detail:
                text += f"  {detail}"
            lines.append(text)
    if lines:
        console.print("changes:")
        for line in lines[:MAX_LINES]:
            console.print(line, markup=False)
        if len(lines) > MAX_LINES:
            console.print(f"  ... and {len(lines) - MAX_LINES} more (--format json, or the incremental_diff_* tables)", markup=False)
    if followed:
        console.print("  (" + ", ".join(f"{n} {k}s" for k, n in followed.items()) + " renamed with their tables)", markup=False)
    if result.drift.height:
        console.print("data drift, largest first:")
        for row in result.drift.head(50).iter_rows(named=True):
            if row["unit"] == "changed":
                how = "changed"
            else:
                unit = "%" if row["unit"] == "pct" else " points"
                how = f"{row['measured']:.1f}{unit} (threshold {row['threshold']:g}{unit})"
            console.print(f"  {row['drift_rank']:>3}. {row['qualified_name']}  {row['metric']}: "
                          f"{short_value(row['from_value'])} {ARROW} {short_value(row['to_value'])}  {how}", markup=False)
        if result.drift.height > 50:
            console.print(f"  ... and {result.drift.height - 50} more", markup=False)
    breaking = [i for i in result.impact if i["breaking"]]
    if breaking:
        console.print("breaking changes (views and columns reading what is gone):")
        for item in breaking[:MAX_LINES]:
            reached = ", ".join(d["qualified_name"] for d in item["downstream"][:10])
            more = f" and {len(item['downstream']) - 10} more" if len(item["downstream"]) > 10 else ""
            console.print(f"  {item['entity_type']} {item['change_type']} {item['previous_name']} {ARROW} {reached}{more}",
                          markup=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
    if result.changed:
        console.print(f"{result.change_count} changes, {result.drift.height} data drifts", markup=False)
    else:
        console.print("no changes" + (f" ({result.unknown_count} objects unknown)" if result.unknown_count else ""), markup=False)
