"""Managing connections: add, list, test, remove, and rotating the vault's key.

Used by `dsa connections ...` and the app's Connections page. Settings without secrets go to
`<store>/connections.json` (`dsa.sources`); the secret (a password, or a DSN holding one) goes
encrypted into the vault (`dsa.vault`). Every change, test and rotation is audited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dsa import audit
from dsa.config import Config, SourceOptions, check_source_name, parse_source
from dsa.connectors import connector_types, open_source
from dsa.errors import _KV_PASSWORD, ConfigError, DsaError, NotFound, one_line, register_secret, scrub, secret_parts
from dsa.sources import all_sources, remove_spec, save_spec, stored_specs
from dsa.vault import Vault, VaultError


@dataclass
class ConnectionInfo:
    name: str
    type: str | None
    target: str | None  # the connector's describe(): never a secret
    defined_in: str  # config | store
    secret: str  # vault (key id) | config | none | "vault: <why it cannot decrypt>"
    error: str | None = None


@dataclass
class CheckResult:
    name: str
    ok: bool
    target: str | None
    seconds: float
    message: str


def split_secret(spec: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """Take the secret out of a connection's settings: (settings to keep, (kind, secret))."""
    spec = dict(spec)
    password = spec.pop("password", None)
    dsn = spec.get("dsn")
    dsn_secret = isinstance(dsn, str) and bool(secret_parts(dsn))
    if password and dsn_secret:
        raise ConfigError("give the password once: either in the DSN or as the password, not both")
    if password:
        return spec, ("password", str(password))
    if dsn_secret:
        spec["dsn"] = strip_password(dsn)
        return spec, ("dsn", dsn)
    return spec, None


def strip_password(dsn: str) -> str:
    """The DSN without its password (URL `user:pw@` or `password=`), for the stored settings."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            netloc = userinfo.split(":", 1)[0] + "@" + host
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "password"])
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return " ".join(_KV_PASSWORD.sub("", dsn).split())


def add_connection(store_path: Path, config: Config, name: str, spec: dict[str, Any] | None,
                   secret: tuple[str, str] | None = None, replace: bool = False) -> SourceOptions | None:
    """Store a connection's settings (`spec`, with `type`) and/or its secret.

    Without `spec`, only the secret of an existing source (in the config or the store) is set.
    The settings are validated by the connector's `Options` with the secret in place first, so
    nothing is stored unless the whole connection is valid.
    """
    if secret:
        for part in [secret[1], *secret_parts(secret[1])]:
            register_secret(part)
    stored = stored_specs(store_path)
    try:
        check_source_name(name)
        if spec is None:
            if secret is None:
                raise ConfigError(f"connection '{name}': nothing to add (give --type and settings, or a password)")
            base = config.sources.get(name) or (parse_source(name, stored[name]) if name in stored else None)
            if base is None:
                raise ConfigError(f"--type: missing (connection '{name}' is new; known types: {_types()})")
            _validate(name, base.model_dump(), secret)
            Vault(store_path).put(name, *secret)
            return None
        if name in config.sources:
            raise ConfigError(f"connection '{name}' is defined in {config.path or 'the config file'}: change it there "
                              f"(to store only its password: `dsa connections add {name} --password-stdin`)")
        if name in stored and not replace:
            raise ConfigError(f"connection '{name}' already exists in the store (use --replace to change it)")
        keep, from_spec = split_secret(spec)
        if from_spec and secret:
            raise ConfigError("give the password once: in the DSN or with --password-stdin/--password, not both")
        secret = secret or from_spec
        options = _validate(name, keep, secret)
        vault = Vault(store_path)
        if secret:
            vault.put(name, *secret)
        elif name in stored:
            vault.remove(name)  # replaced by settings without a secret: the old one must not linger
        try:
            save_spec(store_path, name, keep)
        except BaseException:
            if secret:
                vault.remove(name)
            raise
    except DsaError as exc:
        audit.record(store_path, "connection.add", name, "error", str(exc))
        raise
    return options


def _validate(name: str, spec: dict[str, Any], secret: tuple[str, str] | None) -> SourceOptions:
    full = dict(spec)
    if secret:
        full["password" if secret[0] == "password" else "dsn"] = secret[1]
    return parse_source(name, full)


def _types() -> str:
    return ", ".join(connector_types())


def remove_connection(store_path: Path, config: Config, name: str) -> list[str]:
    """Delete a stored connection's settings and its secret; returns what was removed."""
    removed = []
    if Vault(store_path).remove(name):
        removed.append("secret")
    if name in stored_specs(store_path):
        remove_spec(store_path, name)
        removed.append("settings")
    if not removed:
        if name in config.sources:
            error = ConfigError(f"connection '{name}' is defined in {config.path or 'the config file'}: remove it there")
        else:
            error = NotFound(f"no stored connection '{name}'")
        audit.record(store_path, "connection.remove", name, "error", str(error))
        raise error
    return removed


def list_connections(store_path: Path, config: Config) -> list[ConnectionInfo]:
    """Every connection from the config and the store, with type and target, never a secret."""
    stored = stored_specs(store_path)
    vault = Vault(store_path)
    records = vault.records()
    full = all_sources(config, store_path)
    out = []
    for name in sorted(set(stored) | set(config.sources)):
        defined_in = "config" if name in config.sources else "store"
        options = full.sources.get(name)
        if name in full._unavailable:
            # not usable as it stands (a secret that does not decrypt, an unset ${ENV}): say why
            reason = full._unavailable[name]
            secret = f"{'vault' if isinstance(reason, VaultError) else 'unavailable'}: {reason}"
        elif name in records:
            secret = f"vault (key {records[name]['key_id']})"
        elif options is not None and _config_secret(options):
            secret = "config"
        else:
            secret = "none"
        out.append(ConnectionInfo(name, options.type if options else None, _describe(name, options), defined_in, secret))
    return out


def _config_secret(options: SourceOptions) -> bool:
    password = getattr(options, "password", None)
    dsn = getattr(options, "dsn", None)
    return bool(password) or bool(isinstance(dsn, str) and secret_parts(dsn))


def _describe(name: str, options: SourceOptions | None) -> str | None:
    if options is None or type(options) is SourceOptions:  # nothing known but its type
        return None
    try:
        return scrub(open_source(name, options).describe())
    except Exception as exc:  # describe() must not break a listing
        return scrub(f"({exc.__class__.__name__})")


def check_connection(store_path: Path, config: Config, name: str) -> CheckResult:
    """Open the source's read-only connection and close it; the outcome as one line."""
    started = time.perf_counter()
    target = None
    try:
        options = config.source(name)
        connector = open_source(name, options)
        target = scrub(connector.describe())
        conn = connector.connect()
        try:
            conn.close()
        except Exception:
            pass
        result = CheckResult(name, True, target, time.perf_counter() - started, "ok")
    except DsaError as exc:
        result = CheckResult(name, False, target, time.perf_counter() - started, str(exc))
    except Exception as exc:  # a driver error the connector did not wrap: still one scrubbed line
        result = CheckResult(name, False, target, time.perf_counter() - started,
                            scrub(one_line(f"cannot connect to source '{name}': {exc.__class__.__name__}: {exc}")))
    audit.record(store_path, "connection.test", name, "ok" if result.ok else "error",
                 None if result.ok else result.message, details={"target": target})
    return result


def rotate_key(store_path: Path, progress=None) -> dict[str, Any]:
    """Re-encrypt every secret under a new key (`Vault.rotate`), audited."""
    audit.record(store_path, "key.rotate", "credentials", "started")
    try:
        result = Vault(store_path).rotate(progress)
    except (DsaError, OSError) as exc:
        message = str(exc) if isinstance(exc, DsaError) else f"{exc.__class__.__name__}: {exc}"
        audit.record(store_path, "key.rotate", "credentials", "error", message)
        if isinstance(exc, OSError):
            raise VaultError(f"key rotation stopped: {message}; nothing is lost, run rotate-key again") from None
        raise
    audit.record(store_path, "key.rotate", "credentials", "ok", details=result)
    return result
