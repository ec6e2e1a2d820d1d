"""What every command shares: the Typer app, global options, the config and store in use."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import typer
from rich.console import Console

from dsa.settings import State

# Every command module imports this one, and `dsa <any command>` imports every command module
# (Typer needs their signatures): so only what all commands need is imported at module level
# here and in the command modules; the rest is imported where it is used, and a `dsa scan`
# does not pay for sqlglot, duckdb, the Postgres catalog or the app's modules.

app = typer.Typer(
    name="dsa",
    help="Metadata catalog and data-quality profiler: scan, profile and diff databases and files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Piped output is not squeezed into 80 columns: tables stay readable in files and CI logs.
# markup and emoji are off: names and values from sources are data, and a table named
# `[/x]` or `:fire:` must print as itself (and not crash Rich). Style with `style=` or `Text`.
console = Console(highlight=False, soft_wrap=True, markup=False, emoji=False,
                  width=None if Console().is_terminal else 250)
console_err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def print_error(message: str, prefix: str = "error:") -> None:
    """One red `error:` line on stderr; the message is printed as plain text."""
    from rich.text import Text

    console_err.print(Text.assemble((prefix, "bold red"), " ", str(message)), soft_wrap=True)


state = State()



@app.callback()
def _global(
    config: Optional[str] = typer.Option(None, "--config", envvar="DSA_CONFIG", help="Config file (default ./dsa.yaml)."),
    store: Optional[str] = typer.Option(None, "--store", envvar="DSA_STORE", help="Catalog folder (default ./.dsa), or a postgresql:// URL to read the catalog from Postgres."),
) -> None:
    state.use(config, store)


@contextmanager
def progress_bar(label: str) -> Iterator:
    """A progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    if not console_err.is_terminal:
        yield lambda done, total, what="": None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(), console=console_err, transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, what="")

        def update(done: int, total: int, what: str = "") -> None:
            bar.update(task, completed=done, total=total, what=what)

        yield update
