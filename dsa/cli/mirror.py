from __future__ import annotations

from typing import Optional

import typer

from dsa.cli.common import app, console, progress_bar, state
from dsa.errors import ConfigError


@app.command()
def mirror(
    dsn: Optional[str] = typer.Option(None, "--dsn", help="Postgres URL (default: mirror.dsn in dsa.yaml, or the postgresql:// store)."),
) -> None:
    """Mirror the catalog's finished runs into Postgres schema dsa_production (incremental)."""
    from dsa.mirror import mirror as run_mirror
    from dsa.pg_catalog import PostgresCatalog

    catalog = state.store()
    source = catalog.cache if isinstance(catalog, PostgresCatalog) else catalog
    if dsn is None:
        config = state._file_config()
        if config.mirror is not None:
            dsn = config.mirror.dsn
        elif isinstance(catalog, PostgresCatalog):
            dsn = catalog.dsn
        else:
            raise ConfigError("mirror: give --dsn postgresql://... or set mirror: {dsn: ...} in dsa.yaml")
    with progress_bar("mirroring") as progress:
        result = run_mirror(source, dsn, progress)
    console.print(result.summary())
