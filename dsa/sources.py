"""Where sources come from: the config file's `sources:` plus connections kept in the store.

Connections added with `dsa connections add`, the app's Connections page or `dsa demo` live in
`<store>/connections.json`, without secrets (those live encrypted in the vault); for the cache of a
Postgres catalog, in its `dsa_production.connections` table (`dsa.shared`). A name in the config
file wins over a stored connection of the same name.
"""

from __future__ import annotations

import fcntl
import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dsa import audit, shared
from dsa.config import Config, SourceOptions, parse_source, parse_sources
from dsa.errors import ConfigError, DsaError, NotFound
from dsa.system import write_atomic


def _file(store_path: Path) -> Path:
    return Path(store_path) / "connections.json"


@contextmanager
def _locked(store_path: Path) -> Iterator[None]:
    Path(store_path).mkdir(parents=True, exist_ok=True)
    with open(Path(store_path) / ".connections.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def stored_specs(store_path: Path) -> dict[str, dict[str, Any]]:
    dsn = shared.catalog_dsn(store_path)
    if dsn:
        return shared.read_specs(dsn)
    path = _file(store_path)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _save(store_path: Path, specs: dict[str, dict[str, Any]]) -> None:
    write_atomic(_file(store_path), json.dumps(specs, indent=1, ensure_ascii=False).encode())


def save_spec(store_path: Path, name: str, spec: dict[str, Any]) -> SourceOptions:
    """Validate and keep a connection's settings (secrets must already be out of `spec`)."""
    options = parse_source(name, spec)
    dsn = shared.catalog_dsn(store_path)
    if dsn:
        existed = shared.write_spec(dsn, name, spec)
        audit.record(store_path, "connection.update" if existed else "connection.add", name, "ok", None,
                     {"type": options.type, "settings": sorted(spec)})
        return options
    with _locked(store_path):
        specs = stored_specs(store_path)
        action = "connection.update" if name in specs else "connection.add"
        specs[name] = spec
        _save(store_path, specs)
    audit.record(store_path, action, name, "ok", None, {"type": options.type, "settings": sorted(spec)})
    return options


def remove_spec(store_path: Path, name: str) -> None:
    dsn = shared.catalog_dsn(store_path)
    if dsn:
        if not shared.write_spec(dsn, name, None):
            raise NotFound(f"no stored connection '{name}'")
        audit.record(store_path, "connection.remove", name, "ok", None, {"removed": "settings"})
        return
    with _locked(store_path):
        specs = stored_specs(store_path)
        if name not in specs:
            raise NotFound(f"no stored connection '{name}'")
        del specs[name]
        _save(store_path, specs)
    audit.record(store_path, "connection.remove", name, "ok", None, {"removed": "settings"})


def all_sources(config: Config, store_path: Path) -> Config:
    """The config with stored connections added (config entries win), each source's secret
    from the vault filled in. Secrets live only in these in-memory options: a source whose
    secret cannot be decrypted raises the reason when it is used (`Config.source`), and only then."""
    try:
        stored = stored_specs(store_path)
    except DsaError as exc:  # a Postgres catalog out of reach: the config's sources still work
        logging.getLogger("dsa.sources").warning("warning: stored connections not loaded: %s", exc)
        return config
    merged, unavailable, problems = parse_sources(stored)
    if problems:
        raise ConfigError(f"{_file(store_path)}: {'; '.join(problems)}")
    merged.update(config.sources)
    unavailable = {n: r for n, r in unavailable.items() if n not in config.sources}
    unavailable.update(config._unavailable)
    if (Path(store_path) / "credentials.json").exists() or shared.catalog_dsn(store_path):  # else no vault to load
        from dsa.vault import Vault, VaultError, with_secret

        for name, found in Vault(store_path).get_many(merged).items():
            try:
                if isinstance(found, VaultError):
                    raise found
                merged[name] = with_secret(name, merged[name], *found)
            except VaultError as exc:
                unavailable[name] = exc
    out = config.model_copy(update={"sources": merged})
    out._unavailable = unavailable
    return out
