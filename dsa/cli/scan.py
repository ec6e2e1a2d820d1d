from __future__ import annotations

from typing import List

import typer

from dsa.cli.common import app, console, console_err, print_error, progress_bar, state
from dsa.errors import ConfigError, DsaError


@app.command()
def scan(
    sources: List[str] = typer.Argument(None, help="Configured source names."),
    all_: bool = typer.Option(False, "--all", help="Scan every configured source."),
) -> None:
    """Scan sources' metadata into a new run. Exit 0 success, 1 failed, 3 partial."""
    from dsa.scan import scan as run_scan, start

    config = state.config()
    names = sorted(config.sources) if all_ else list(sources or [])
    if not names:
        raise ConfigError("name a source to scan, or pass --all" + ("" if config.sources else " (no sources configured)"))
    for name in names:
        config.source(name)  # unknown names fail before anything runs
    # the first source's catalog queries run while the catalog (and Polars) loads
    try:
        first = start(config, names[0])
    except DsaError:
        first = None  # reported in its turn below
    store = state.store()
    worst = 0
    for name in names:
        try:
            with progress_bar(f"scanning {name}") as progress:
                result = run_scan(store, config, name, progress, first if name == names[0] else None)
        except DsaError as exc:
            print_error(str(exc))
            worst = max(worst, 1)
            continue
        console.print(f"{result.run_id}  {result.summary()}")
        for err in result.errors[:10]:
            console_err.print(f"  cannot read {err['object_type']} {err['qualified_name']}: {err['error']}", soft_wrap=True)
        if result.status == "partial":
            worst = max(worst, 3) if worst != 1 else 1
    raise typer.Exit(worst)
