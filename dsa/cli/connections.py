"""`dsa connections add|list|test|remove|rotate-key`: sources kept in the store, secrets in the vault."""

from __future__ import annotations

import json
import sys
from typing import Any, List, Literal, Optional

import typer
import yaml

from dsa.cli.common import app, console, console_err, state
from dsa.config import load_config
from dsa.connectors import builtin_types
from dsa.errors import ConfigError, register_secret

connections = typer.Typer(
    help="Manage sources: settings in the store, passwords encrypted in the vault.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(connections, name="connections")


def _api():
    """dsa.connections (the vault's cryptography, the connectors), imported only when used."""
    from dsa import connections as api

    return api


def _base_config():
    """The config file alone (the store's connections are read separately)."""
    return load_config(state.config_path)


def _settings(pairs: list[str]) -> dict[str, Any]:
    """`--set key=value` pairs; values are YAML (`30`, `true`, `[a, b]`); dotted keys nest."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: value is not valid YAML") from None
        if "password" in key.lower():
            raise ConfigError(f"--set {key}: passwords go in with --password-stdin or --password-prompt, not --set")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part} is set twice")
        node[parts[-1]] = value
    return out


def _read_stdin(what: str) -> str:
    try:
        text = sys.stdin.readline().rstrip("\r\n")
    except (AttributeError, OSError, ValueError, UnicodeDecodeError):
        raise ConfigError(f"--{what}-stdin: cannot read standard input") from None
    if not text:
        raise ConfigError(f"--{what}-stdin: standard input is empty")
    register_secret(text)
    return text


@connections.command("add")
def add(
    name: str = typer.Argument(..., help="Connection name."),
    type_: Optional[str] = typer.Option(None, "--type", "-t", help=f"Source type: {', '.join(builtin_types())} "
                                        "(or a plugin's)."),
    path: Optional[str] = typer.Option(None, "--path", help="File or folder (sqlite, duckdb)."),
    dsn: Optional[str] = typer.Option(None, "--dsn", help="Connection URL; a password in it is stored encrypted."),
    host: Optional[str] = typer.Option(None, "--host"),
    port: Optional[int] = typer.Option(None, "--port"),
    user: Optional[str] = typer.Option(None, "--user"),
    database: Optional[str] = typer.Option(None, "--database"),
    set_: List[str] = typer.Option([], "--set", help="Any other setting as KEY=VALUE (YAML value), e.g. sslmode=require."),
    password: Optional[str] = typer.Option(None, "--password", help="Visible to other users: prefer --password-stdin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    password_prompt: bool = typer.Option(False, "--password-prompt", help="Ask for the password (hidden)."),
    dsn_stdin: bool = typer.Option(False, "--dsn-stdin", help="Read the whole DSN (with its password) from standard input."),
    replace: bool = typer.Option(False, "--replace", help="Replace a stored connection of the same name."),
) -> None:
    """Add a connection (settings validated by its connector), or set an existing source's password."""
    if sum(map(bool, (password is not None, password_stdin, password_prompt, dsn_stdin))) > 1:
        raise ConfigError("give the password one way: --password, --password-stdin, --password-prompt or --dsn-stdin")
    if dsn_stdin and dsn:
        raise ConfigError("--dsn-stdin: give the DSN once (not also with --dsn)")
    secret = None
    if password is not None:
        register_secret(password)
        console_err.print("warning: a password on the command line is visible to other users and in shell history; "
                          "prefer --password-stdin or --password-prompt", soft_wrap=True)
        secret = ("password", password)
    elif password_stdin:
        secret = ("password", _read_stdin("password"))
    elif password_prompt:
        if not sys.stdin.isatty():
            raise ConfigError("--password-prompt: standard input is not a terminal (use --password-stdin)")
        value = typer.prompt(f"password for {name}", hide_input=True, default="", show_default=False)
        if not value:
            raise ConfigError("--password-prompt: no password entered")
        register_secret(value)
        secret = ("password", value)
    if dsn_stdin:
        dsn = _read_stdin("dsn")
    elif dsn:
        from dsa.errors import secret_parts

        if secret_parts(dsn):
            for part in secret_parts(dsn):
                register_secret(part)
            console_err.print("warning: the DSN on the command line holds a password, visible to other users and in "
                              "shell history; prefer --dsn-stdin", soft_wrap=True)
    given = {"path": path, "dsn": dsn, "host": host, "port": port, "user": user, "database": database}
    spec = {k: v for k, v in given.items() if v is not None}
    extra = _settings(set_)
    if type_ is None and (spec or extra):
        raise ConfigError(f"--type: missing (needed with settings for connection '{name}')")
    full = None
    if type_ is not None:
        overlap = sorted(set(spec) & set(extra))
        if overlap:
            raise ConfigError(f"--set {overlap[0]}: given twice (also as --{overlap[0]})")
        full = {"type": type_, **spec, **extra}
        if dsn_stdin:
            from dsa.connections import split_secret

            full, secret = split_secret(full)
            if secret is None:  # a DSN without a password is a plain setting
                full["dsn"] = dsn
    elif dsn_stdin:
        raise ConfigError(f"--type: missing (needed with --dsn-stdin for connection '{name}')")
    store = state.store()
    options = _api().add_connection(store.path, _base_config(), name, full, secret, replace=replace)
    what = f"{options.type} connection" if options is not None else "password of connection"
    stored = " (secret encrypted in the vault)" if secret else ""
    console.print(f"saved {what} '{name}'{stored}")


@connections.command("list")
def list_(format: Literal["table", "json"] = typer.Option("table", "--format", "-f", help="Output format.")) -> None:
    """Connections from the config file and the store: type, target, where the secret is. Never the secret."""
    rows = _api().list_connections(state.store().path, _base_config())
    if format == "json":
        sys.stdout.write(json.dumps([r.__dict__ for r in rows], ensure_ascii=False) + "\n")
        return
    if not rows:
        console.print("no connections: add one with `dsa connections add NAME --type TYPE ...` or in dsa.yaml")
        return
    from rich.table import Table

    table = Table("name", "type", "target", "defined in", "secret")
    for r in rows:
        table.add_row(r.name, r.type or "", r.target or "", r.defined_in, r.secret)
    console.print(table)


@connections.command("test")
def test(
    names: List[str] = typer.Argument(None, help="Connection names."),
    all_: bool = typer.Option(False, "--all", help="Test every connection."),
) -> None:
    """Open each connection (read-only) and report ok or the error. Exit 1 if any fails."""
    config = state.config()
    names = sorted(config.sources) if all_ else list(names or [])
    if not names:
        raise ConfigError("name a connection to test, or pass --all")
    unknown = [n for n in names if n not in config.sources]
    if unknown:
        config.source(unknown[0])  # unknown names fail before anything is opened
    failed = 0
    for name in names:
        result = _api().check_connection(state.store().path, config, name)
        if result.ok:
            console.print(f"ok      {name}  ({result.target})  {result.seconds:.2f}s", soft_wrap=True)
        else:
            failed += 1
            console_err.print(f"failed  {name}: {result.message}", soft_wrap=True)
    raise typer.Exit(1 if failed else 0)


@connections.command("remove")
def remove(name: str = typer.Argument(..., help="Connection name.")) -> None:
    """Delete a stored connection's settings and its secret."""
    removed = _api().remove_connection(state.store().path, _base_config(), name)
    console.print(f"removed connection '{name}' ({', '.join(removed)})")


@connections.command("rotate-key")
def rotate() -> None:
    """Re-encrypt every secret under a new key; the old key decrypts until the rotation finished."""
    result = _api().rotate_key(state.store().path)
    if result["key_id"] is None:
        console.print("no secrets and no key yet: nothing to rotate")
        return
    resumed = " (finished an interrupted rotation)" if result["resumed"] else ""
    console.print(f"re-encrypted {result['rotated']} of {result['secrets']} secrets under key {result['key_id']}{resumed}")
    if result.get("from_env") and result["old_keys"]:
        console.print(f"now remove the old key(s) {', '.join(result['old_keys'])} from DSA_SECRET_KEY")
    elif result["old_keys"]:
        console.print(f"old key(s) {', '.join(result['old_keys'])} removed from the key file")
