from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from dsa.cli.common import app, console, state
from dsa.errors import ConfigError


@app.command()
def lineage(
    name: str = typer.Argument(..., help="A table or column: its qualified name, or its end (schema.table, table.column) when unambiguous."),
    upstream: bool = typer.Option(False, "--upstream", help="Only what NAME reads from."),
    downstream: bool = typer.Option(False, "--downstream", help="Only what reads NAME."),
    depth: int = typer.Option(50, "--depth", min=1, help="Steps to follow from NAME."),
    run: Optional[str] = typer.Option(None, "--run", help="A scan run of NAME's connection (default: its newest successful scan)."),
    format: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Lineage of a table or column, from its views' SQL (upstream and downstream)."""
    from dsa import lineage_graph

    if format not in ("text", "json"):
        raise ConfigError(f"--format: must be text or json (got {format!r})")
    if upstream and downstream:
        raise ConfigError("give --upstream or --downstream, not both (neither: both ways)")
    direction = "upstream" if upstream else "downstream" if downstream else "both"
    catalog = state.store()
    node = lineage_graph.resolve(catalog, name)
    edges = lineage_graph.walk(lineage_graph.edges(catalog, run or node.run_id), node.qualified_name, direction, depth)
    if format == "json":
        document = {"node": node.qualified_name, "level": node.level, "connection": node.connection,
                    "run_id": run or node.run_id, "direction": direction, "edges": edges.to_dicts()}
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        return
    console.print(f"{node.level} {node.qualified_name} (scan {run or node.run_id})")
    if not edges.height:
        console.print(f"  no {direction if direction != 'both' else 'upstream or downstream'} lineage")
    for way in ("upstream", "downstream"):
        part = edges.filter(edges["direction"] == way)
        if not part.height:
            continue
        console.print(f"{way}:")
        for row in part.iter_rows(named=True):
            other = row["upstream"] if way == "upstream" else row["downstream"]
            arrow = "<-" if way == "upstream" else "->"
            console.print(f"  {'  ' * (row['depth'] - 1)}{arrow} {other}  ({row['level']}, {row['kind']})")
