"""Which config file and catalog a command uses: `--config`/`--store`, their environment
variables, the config's `store:`, or the defaults.

Kept apart from the command line's modules (and Typer): `dsa scan` resolves its source here
before the command line loads, to send the catalog queries first (`dsa.launch`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from dsa.config import DEFAULT_CONFIG, DEFAULT_STORE, Config, is_postgres, load_config

if TYPE_CHECKING:
    from dsa.catalog import Catalog


@dataclass
class State:
    config_path: Optional[str] = None
    store_path: Optional[str] = None
    _file: Optional[Config] = field(default=None, repr=False)
    _config: Optional[Config] = field(default=None, repr=False)
    _catalog: Optional[Catalog] = field(default=None, repr=False)

    def use(self, config_path: Optional[str], store_path: Optional[str]) -> None:
        """Start over with these options (each command run in one process starts afresh)."""
        self.config_path, self.store_path = config_path, store_path
        self._file = self._config = self._catalog = None

    def config(self) -> Config:
        """The config file's settings plus the connections kept in the store."""
        if self._config is None:
            from dsa.sources import all_sources

            # a missing file named by --config or DSA_CONFIG is an error here (load_config says so)
            base = self._file_config() if self._config_file().exists() else load_config(self.config_path)
            self._config = all_sources(base, self.store_folder())
        return self._config

    def _config_file(self) -> Path:
        return Path(self.config_path or os.environ.get("DSA_CONFIG") or DEFAULT_CONFIG)

    def _file_config(self) -> Config:
        """The config file if there is one, read once: a missing file (even a named one) is an
        empty config here, so commands that only read the catalog work without one."""
        if self._file is None:
            path = self._config_file()
            self._file = load_config(path) if path.exists() else Config()
        return self._file

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
