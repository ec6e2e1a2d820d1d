"""What every command shares: the Typer app, global options, the config and store in use."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer
from rich.console import Console

from dsa.config import DEFAULT_CONFIG, DEFAULT_STORE, Config, is_postgres, load_config

if TYPE_CHECKING:
    from dsa.catalog import Catalog

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


@dataclass
class State:
    config_path: Optional[str] = None
    store_path: Optional[str] = None
    _config: Optional[Config] = field(default=None, repr=False)

    _catalog: Optional[Catalog] = field(default=None, repr=False)

    def config(self) -> Config:
        """The config file's settings plus the connections kept in the store."""
        if self._config is None:
            from dsa.sources import all_sources

            base = load_config(self.config_path)
            self._config = all_sources(base, self.store_folder())
        return self._config

    def _file_config(self) -> Config:
        """The config file if there is one: a missing file (even a named one) is an empty config
        here, so commands that only read the catalog work without one."""
        path = Path(self.config_path or os.environ.get("DSA_CONFIG") or DEFAULT_CONFIG)
        return load_config(path) if path.exists() else Config()

    def store_spec(self) -> str:
        """`--store` / DSA_STORE / the config's `store:`: a folder or a postgresql:// URL."""
        spec = self.store_path or os.environ.get("DSA_STORE") or self._file_config().store or DEFAULT_STORE
        return spec if is_postgres(spec) else str(Path(spec))

    def store_folder(self) -> Path:
        """The folder of the catalog's runs (and stored connections), without opening it: for a
        local store that is its folder, so a `dsa scan` can start reading its source first."""
        spec = self.store_spec()
        return self.store().path if is_postgres(spec) else Path(spec)

    def store(self) -> Catalog:
        """The catalog: a local `Store`, or a `PostgresCatalog` (runs mirrored as they end)."""
        if self._catalog is None:
            from dsa.catalog import open_catalog

            self._catalog = open_catalog(self.store_spec(), self._file_config())
        return self._catalog


state = State()


@app.callback()
def _global(
    config: Optional[str] = typer.Option(None, "--config", envvar="DSA_CONFIG", help="Config file (default ./dsa.yaml)."),
    store: Optional[str] = typer.Option(None, "--store", envvar="DSA_STORE", help="Catalog folder (default ./.dsa), or a postgresql:// URL to read the catalog from Postgres."),
) -> None:
    state.config_path = config
    state.store_path = store
    state._config = None
    state._catalog = None


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
