from __future__ import annotations

from typing import List, Optional

import typer

from dsa.cli.common import app, console, console_err, print_error, progress_bar, state
from dsa.errors import ConfigError, DsaError


@app.command()
def quality(
    sources: List[str] = typer.Argument(None, help="Configured source names."),
    tables: Optional[str] = typer.Option(None, "--tables", help="Only tables matching this glob (`name` or `schema.name`)."),
    sample: Optional[str] = typer.Option(None, "--sample", help="Sample PCT% or ROWS (default: full below 1,000,000 rows)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", help="Top values per column (default quality.top_k, 10)."),
) -> None:
    """Profile the tables of sources' newest scans. Exit 0 success, 1 failed, 3 partial."""
    # imported here: every command module is loaded at start-up, and sqlglot is slow to import
    from dsa.catalog import partial_note
    from dsa.quality import parse_sample, quality as run_quality

    if not sources:
        raise ConfigError("name a source to profile (see `dsa connections list`)")
    if sample is not None:
        parse_sample(sample)
    if top_k is not None and top_k < 0:
        raise ConfigError(f"--top-k: must be 0 or more (got {top_k})")
    config = state.config()
    for name in sources:
        config.source(name)  # unknown names fail before anything runs
    store = state.store()
    worst = 0
    for name in sources:
        try:
            with progress_bar(f"profiling {name}") as progress:
                result = run_quality(store, config, name, tables=tables, sample=sample, top_k=top_k, progress=progress)
        except DsaError as exc:
            print_error(str(exc))
            worst = exc.exit_code if worst in (0, 3) else worst
            continue
        console.print(f"{result.run_id}  {result.summary()}", highlight=False, soft_wrap=True)
        scan_run = (store.run(result.run_id).get("details") or {}).get("scan_run_id")
        note = partial_note(store, scan_run) if scan_run else None
        if note:
            console_err.print(f"note: {note}", soft_wrap=True, highlight=False, markup=False)
        if result.worst_columns:
            console.print("worst columns:", highlight=False)
            for c in result.worst_columns[:5]:
                if c["quality_score"] >= 100:
                    break
                console.print(f"  {c['quality_score']:5.1f}  {c['qualified_name']}: {c['score_explanation']}",
                              highlight=False, soft_wrap=True, markup=False)
        for f in result.failed[:10]:
            console_err.print(f"  {f['status']}: {f['qualified_name']}: {f['error']}", soft_wrap=True, highlight=False, markup=False)
        if result.status == "partial" and worst != 1:
            worst = 3
        elif result.status == "failed":
            worst = 1
    raise typer.Exit(worst)
