"""The connector registry.

A connector is one class in a module of this package (found by walking the package) or in a
third-party package that names it in the `dsa.connectors` entry-point group:

    [project.entry-points."dsa.connectors"]
    oracle = "dsa_oracle:OracleConnector"

Subclassing `Connector` with a `type` registers the class under that name.
"""

from __future__ import annotations

import importlib

from dsa.connectors.base import REGISTRY, Connector
from dsa.errors import ConfigError

__all__ = ["Connector", "get_connector", "find_connector", "connector_types", "builtin_types", "open_source"]

_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # imported here: `dsa scan` of a built-in type never walks the package (`_load_type`)
    import pkgutil
    from importlib.metadata import entry_points

    for module in pkgutil.iter_modules(__path__):
        if module.name != "base" and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    for ep in entry_points(group="dsa.connectors"):
        if ep.name not in REGISTRY:
            try:
                ep.load()
            except Exception as exc:  # a broken plugin must not break the built-in connectors
                import warnings

                warnings.warn(f"connector plugin '{ep.name}' failed to load: {exc}", stacklevel=2)


def _load_type(type_name: str) -> None:
    """Register `type_name`'s connector, importing as little as possible: a built-in connector's
    module is named after its type, so `dsa scan` of a Postgres source does not import DuckDB,
    sqlglot or the files connector. Anything else (plugins, odd names) loads everything."""
    if type_name in REGISTRY:
        return
    if type_name.isidentifier() and not type_name.startswith("_") and type_name != "base":
        module = f"{__name__}.{type_name}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    if type_name not in REGISTRY:
        _load()


def find_connector(type_name: str) -> type[Connector] | None:
    """The connector class registered as `type_name`, or None."""
    _load_type(type_name)
    return REGISTRY.get(type_name)


def connector_types() -> list[str]:
    """Every registered type: the built-in connectors and the plugins (all of them loaded)."""
    _load()
    return sorted(REGISTRY)


def builtin_types() -> list[str]:
    """The types of the connectors shipped in this package, without importing them (a built-in
    connector's module is named after its type): for help texts, which every command builds."""
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base" and not m.name.startswith("_"))


def get_connector(type_name: str, where: str = "type") -> type[Connector]:
    _load_type(type_name)
    try:
        return REGISTRY[type_name]
    except KeyError:
        raise ConfigError(f"{where}: unknown source type '{type_name}' (known: {', '.join(sorted(REGISTRY))})") from None


def open_source(name: str, options) -> Connector:
    """The connector instance for a configured source."""
    return get_connector(options.type)(name, options)
