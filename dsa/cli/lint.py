from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from dsa.cli.common import app, console, state
from dsa.errors import ConfigError

EXIT_FOUND = 5


@app.command()
def lint(
    source: str = typer.Argument(..., help="Connection whose newest successful scan to check."),
    run: Optional[str] = typer.Option(None, "--run", help="A scan run of SOURCE instead of its newest."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Exit 5 when a finding of this rule (or 'all': any finding) is found."),
    format: str = typer.Option("text", "--format", "-f", help="text or json."),
    measure: bool = typer.Option(True, "--measure/--no-measure", help="Measure implied foreign keys' orphan rates in the source."),
) -> None:
    """Schema insights: what is wrong with a schema (rules in docs/lineage.md). Exit 0, or 5 with --fail-on when a finding matches."""
    from dsa.lint import RULE_IDS, lint as run_lint, summary

    if format not in ("text", "json"):
        raise ConfigError(f"--format: must be text or json (got {format!r})")
    if fail_on is not None and fail_on != "all" and fail_on not in RULE_IDS:
        raise ConfigError(f"--fail-on: unknown rule {fail_on!r} (rules: {', '.join(RULE_IDS)}, or all)")
    findings = run_lint(state.store(), state.config(), source, run, measure)
    if format == "json":
        sys.stdout.write(json.dumps([f.to_dict() for f in findings], default=str, ensure_ascii=False) + "\n")
    else:
        for f in findings:
            console.print(f"{f.rule:<17} {f.message}")
        console.print(f"{len(findings)} findings: {summary(findings)}")
    if fail_on and any(fail_on in ("all", f.rule) for f in findings):
        raise typer.Exit(EXIT_FOUND)
