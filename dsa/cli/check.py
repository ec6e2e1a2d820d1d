"""`dsa check` and `dsa checks suggest`."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from dsa.cli.common import app, console, print_error, progress_bar, state
from dsa.errors import ConfigError

checks_app = typer.Typer(help="Write and review checks.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")

MARKS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "error": "ERROR"}


@app.command()
def check(
    sources: List[str] = typer.Argument(None, help="Configured source names."),
    format: str = typer.Option("text", "--format", "-f", help="text, json or junit."),
    fail_on: str = typer.Option("fail", "--fail-on", help="fail (default) or warn: which outcome makes the exit code 5."),
) -> None:
    """Run the configured checks. Exit 0 all pass, 5 a check failed or errored, 2 config errors."""
    # imported here: every command module is loaded at start-up, and sqlglot is slow to import
    from dsa.checks import report
    from dsa.checks.run import check as run_check

    if format not in ("text", "json", "junit"):
        raise ConfigError(f"--format: must be text, json or junit (got {format!r})")
    if fail_on not in ("fail", "warn"):
        raise ConfigError(f"--fail-on: must be fail or warn (got {fail_on!r})")
    if not sources:
        raise ConfigError("name a source to check (see `dsa connections list`)")
    config = state.config()
    for name in sources:
        config.source(name)
        if not config.check_groups(name):
            raise ConfigError(f"no checks configured for source '{name}' (add them under checks: in the config)")
    store = state.store()
    runs = []
    for name in sources:
        with progress_bar(f"checking {name}") as progress:
            runs.append(run_check(store, config, name, progress=progress))
    if format == "json":
        sys.stdout.write(report.as_json(runs) + "\n")
    elif format == "junit":
        sys.stdout.write(report.as_junit(runs) + "\n")
    else:
        for run in runs:
            for o in run.outcomes:
                console.print(f"{MARKS[o.outcome]:5}  {report.line(o)}")
            console.print(f"{run.run_id}  {run.connection}: {len(run.outcomes)} checks, {run.count('pass')} passed, "
                          f"{run.count('warn')} warned, {run.count('fail')} failed, {run.count('error')} errored")
    raise typer.Exit(report.exit_code(runs, fail_on))


@checks_app.command("suggest")
def suggest(
    source: str = typer.Argument(..., help="A configured source with a quality run."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Write the YAML to this file (default: print it)."),
) -> None:
    """Suggest checks from the source's latest profile, as YAML to review and paste under checks:."""
    from pathlib import Path

    from dsa.checks.suggest import suggest_yaml

    text = suggest_yaml(state.store(), source)
    if out:
        if Path(out).exists():
            print_error(f"{out} exists: not overwritten (choose another --out)")
            raise typer.Exit(2)
        Path(out).write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        sys.stdout.write(text)
