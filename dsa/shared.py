"""What app instances over one Postgres catalog share besides runs: the stored connections, the
vault's ciphertext and the audit log, kept in schema `dsa_production` of the catalog's database.

A store folder is the cache of a Postgres catalog when it holds `postgres-catalog.json` (written
by `dsa.catalog.open_catalog`). For such a folder `dsa.sources`, `dsa.vault` and `dsa.audit`
read and write these tables instead of `connections.json`, `credentials.json` and `audit/`, so a
connection added on one instance is seen, decrypted (with the same `DSA_SECRET_KEY`) and scanned
on another, and every instance's actions land in one log:

    connections   name (primary key), spec (jsonb, no secret), updated_at, updated_by
    credentials   the vault's rows: connection (primary key), secret_kind, ciphertext, key_id, times, users
    audit_log     the audit records (dsa.audit.COLUMNS)

This module only knows SQL and psycopg; it imports nothing else of dsa but its errors.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsa.errors import DsaError, one_line, scrub

if TYPE_CHECKING:
    import psycopg

SCHEMA = "dsa_production"
CACHE_MARKER = "postgres-catalog.json"
CREDENTIAL_COLUMNS = ("connection", "secret_kind", "ciphertext", "key_id", "created_at", "updated_at",
                      "created_by", "updated_by")
_TABLES = [
    "CREATE SCHEMA IF NOT EXISTS dsa_production",
    """CREATE TABLE IF NOT EXISTS dsa_production.connections (
        name text PRIMARY KEY, spec jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), updated_by text)""",
    """CREATE TABLE IF NOT EXISTS dsa_production.credentials (
        connection text, secret_kind text, ciphertext text, key_id text, created_at timestamptz,
        updated_at timestamptz, created_by text, updated_by text)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS credentials_connection ON dsa_production.credentials (connection)",
    """CREATE TABLE IF NOT EXISTS dsa_production.audit_log (
        recorded_at timestamptz, actor text, os_user text, host text, pid bigint, action text, target text,
        outcome text, details jsonb, error text)""",
]
_ready: set[str] = set()


def catalog_dsn(store_path: str | os.PathLike) -> str | None:
    """The Postgres catalog whose cache this folder is, or None for a plain local store."""
    try:
        return json.loads((Path(store_path) / CACHE_MARKER).read_text())["dsn"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _connect(dsn: str) -> "psycopg.Connection":
    import psycopg  # only a Postgres catalog needs it: local stores never load the driver

    try:
        conn = psycopg.connect(dsn, connect_timeout=10, options="-c TimeZone=UTC")
    except psycopg.Error as exc:
        raise DsaError(f"cannot reach the Postgres catalog: {scrub(one_line(str(exc)))}") from None
    if dsn not in _ready:
        with conn.transaction():
            # one creator at a time: CREATE ... IF NOT EXISTS races on the catalog tables otherwise
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('dsa_production.shared'))")
            for statement in _TABLES:
                conn.execute(statement)
        _ready.add(dsn)
    return conn


# -- stored connections ---------------------------------------------------------------------------


def read_specs(dsn: str) -> dict[str, dict[str, Any]]:
    with _connect(dsn) as conn:
        rows = conn.execute("SELECT name, spec FROM dsa_production.connections ORDER BY name").fetchall()
    return {name: spec for name, spec in rows}


def write_spec(dsn: str, name: str, spec: dict[str, Any] | None) -> bool:
    """Keep (or with `spec` None, remove) one connection's settings; returns whether it existed."""
    from psycopg.types.json import Jsonb
    with _connect(dsn) as conn, conn.transaction():
        existed = conn.execute("SELECT 1 FROM dsa_production.connections WHERE name = %s FOR UPDATE",
                               [name]).fetchone() is not None
        if spec is None:
            conn.execute("DELETE FROM dsa_production.connections WHERE name = %s", [name])
        else:
            conn.execute("INSERT INTO dsa_production.connections (name, spec, updated_by) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = now(), "
                         "updated_by = excluded.updated_by", [name, Jsonb(spec), os.environ.get("DSA_USER") or getpass.getuser()])
    return existed


# -- the vault's rows -----------------------------------------------------------------------------


def read_credentials(dsn: str) -> dict[str, dict[str, Any]]:
    """The vault's rows as `dsa.vault` keeps them (times as ISO text)."""
    from psycopg import sql
    query = sql.SQL("SELECT {} FROM dsa_production.credentials").format(
        sql.SQL(", ").join(map(sql.Identifier, CREDENTIAL_COLUMNS)))
    with _connect(dsn) as conn:
        rows = conn.execute(query).fetchall()
    out = {}
    for row in rows:
        record = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in zip(CREDENTIAL_COLUMNS, row)}
        out[record["connection"]] = record
    return out


def write_credentials(dsn: str, changed: dict[str, dict[str, Any]], removed: set[str]) -> None:
    """Upsert the rows an operation changed and delete those it removed, in one transaction;
    rows other instances changed meanwhile are left as they are."""
    from psycopg import sql
    columns = sql.SQL(", ").join(map(sql.Identifier, CREDENTIAL_COLUMNS))
    updates = sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in CREDENTIAL_COLUMNS[1:])
    upsert = sql.SQL("INSERT INTO dsa_production.credentials ({}) VALUES ({}) ON CONFLICT (connection) DO UPDATE SET {}").format(
        columns, sql.SQL(", ").join(sql.Placeholder() * len(CREDENTIAL_COLUMNS)), updates)
    with _connect(dsn) as conn, conn.transaction():
        for name in sorted(removed):
            conn.execute("DELETE FROM dsa_production.credentials WHERE connection = %s", [name])
        for name in sorted(changed):
            conn.execute(upsert, [changed[name].get(c) for c in CREDENTIAL_COLUMNS])


# -- the audit log --------------------------------------------------------------------------------


def append_audit(dsn: str, record: dict[str, Any]) -> None:
    from psycopg import sql
    from psycopg.types.json import Jsonb
    columns = list(record)
    query = sql.SQL("INSERT INTO dsa_production.audit_log ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    values = [Jsonb(v) if k == "details" else v for k, v in record.items()]
    with _connect(dsn) as conn:
        conn.execute(query, values)
