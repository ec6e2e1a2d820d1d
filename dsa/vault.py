"""The credentials vault: source secrets encrypted at rest with Fernet through MultiFernet.

A secret is a password or a whole DSN that holds one. It is kept in `<store>/credentials.json`
(the `credentials` catalog table: ciphertext only), rewritten atomically under a file lock, and
decrypted only in memory when a source is opened (`dsa.sources.all_sources`). The cache of a
Postgres catalog keeps the rows in `dsa_production.credentials` instead (`dsa.shared`), so every
instance over that catalog reads them; each instance needs the key (`DSA_SECRET_KEY`).

The key: `DSA_SECRET_KEY` (one or more Fernet keys separated by commas; the first encrypts, all
decrypt), else the key file `DSA_SECRET_KEY_FILE`, default `<store>/secret.key`, created with
mode 0600 the first time a secret is stored. The key file holds one key per line, the first
being the one that encrypts; it holds two keys only while a rotation is in progress.

Rotation (`rotate`) never loses a secret when interrupted at any point:
  1. the new key is written to the key file in front of the old one (both decrypt),
  2. each secret is re-encrypted and the file rewritten, one secret at a time,
  3. only then is the old key dropped from the key file.
Running `rotate` again after a crash resumes at step 2 with the key already added.

Each ciphertext encrypts the connection name with the secret, so a token copied onto another
connection's row does not decrypt there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from dsa import audit, shared
from dsa.config import describe_validation


def _fernet():
    """cryptography's Fernet module, imported when a secret is handled: a store (every command)
    imports this module, and most runs never read a secret."""
    from cryptography import fernet

    return fernet
from dsa.errors import ConfigError, DsaError, register_secret, secret_parts
from dsa.model import frame
from dsa.system import actor, fsync_dir, now, write_atomic

SECRET_KINDS = ("password", "dsn")
KEY_ENV = "DSA_SECRET_KEY"
KEY_FILE_ENV = "DSA_SECRET_KEY_FILE"

CREDENTIALS = {
    "connection": pl.Utf8,
    "secret_kind": pl.Utf8,  # password | dsn
    "ciphertext": pl.Utf8,  # Fernet token of {"connection", "kind", "secret"}
    "key_id": pl.Utf8,  # first 12 hex digits of sha256(key): which key encrypted it
    "created_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
    "created_by": pl.Utf8,
    "updated_by": pl.Utf8,
}


class VaultError(DsaError):
    """A secret cannot be stored or decrypted (missing or wrong key, damaged file)."""


class KeyMissing(VaultError):
    exit_code = 2


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


@dataclass
class Keys:
    keys: list[bytes]  # first encrypts
    source: str  # where they came from, for messages: "DSA_SECRET_KEY" or the key file's path
    from_env: bool

    @property
    def primary_id(self) -> str:
        return key_id(self.keys[0])

    def fernet(self):
        f = _fernet()
        return f.MultiFernet([f.Fernet(k) for k in self.keys])


def _parse_keys(text: str, where: str) -> list[bytes]:
    keys = [k.strip().encode() for k in text.replace(",", "\n").split() if k.strip()]
    for k in keys:
        try:
            _fernet().Fernet(k)
        except (ValueError, TypeError):
            raise ConfigError(f"{where}: not a Fernet key (expected 32 url-safe base64-encoded bytes)") from None
    if not keys:
        raise ConfigError(f"{where}: holds no key")
    return keys


class Vault:
    """The secrets of one store."""

    def __init__(self, store_path: str | os.PathLike):
        self.store_path = Path(store_path)
        self.path = self.store_path / "credentials.json"
        self.key_path = Path(os.environ.get(KEY_FILE_ENV) or self.store_path / "secret.key")
        # the cache of a Postgres catalog keeps its rows in dsa_production.credentials (dsa.shared)
        self.dsn = shared.catalog_dsn(self.store_path)
        self._loaded: set[str] = set()

    # -- files ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Writers exclude everyone; readers exclude writers, so a reader never sees a key file
        and a credentials file from different sides of a rotation step."""
        try:
            self.store_path.mkdir(parents=True, exist_ok=True)
            fh = open(self.store_path / ".credentials.lock", "a")
        except OSError:
            if exclusive:
                raise
            yield  # a read-only store: nobody can be writing it through us
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read(self) -> dict[str, dict[str, Any]]:
        if self.dsn:
            records = shared.read_credentials(self.dsn)
            self._loaded = set(records)
            return records
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise VaultError(f"credentials file {self.path} is unreadable ({exc.__class__.__name__})") from None
        return {r["connection"]: r for r in data.get("credentials", [])}

    def _write(self, records: dict[str, dict[str, Any]]) -> None:
        if self.dsn:  # what this operation changed or removed; other instances' rows stay
            shared.write_credentials(self.dsn, records, self._loaded - set(records))
            self._loaded = set(records)
            return
        data = {"format": 1, "credentials": [records[k] for k in sorted(records)]}
        write_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False).encode())
        os.chmod(self.path, 0o600)

    def _write_key_file(self, keys: list[bytes]) -> None:
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.key_path.with_name(f".{self.key_path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\n".join(keys) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.key_path)
        fsync_dir(self.key_path.parent)

    # -- keys ----------------------------------------------------------------------------

    def keys(self, create: bool = False) -> Keys:
        """The keys in use; with `create`, make the key file if there is no key yet."""
        env = os.environ.get(KEY_ENV)
        if env and env.strip():
            return Keys(_parse_keys(env, KEY_ENV), KEY_ENV, True)
        if self.key_path.exists():
            try:
                text = self.key_path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise KeyMissing(f"key file {self.key_path} is unreadable ({exc.__class__.__name__}): {self.how_to_provide()}") from None
            _warn_permissions(self.key_path)
            return Keys(_parse_keys(text, f"key file {self.key_path}"), str(self.key_path), False)
        if not create:
            raise KeyMissing(f"no secret key: {self.how_to_provide()}")
        self._write_key_file([_fernet().Fernet.generate_key()])
        keys = self.keys()
        _audit(self.store_path, "key.create", "credentials", "ok", {"key_id": keys.primary_id, "key_file": str(self.key_path)})
        return keys

    def how_to_provide(self) -> str:
        return (f"set {KEY_ENV} to the key that encrypted the secrets, or restore the key file "
                f"{self.key_path} (or point {KEY_FILE_ENV} at it)")

    # -- secrets -------------------------------------------------------------------------

    def records(self) -> dict[str, dict[str, Any]]:
        """Every stored credential's row (ciphertext, never the secret)."""
        if not self.path.exists() and not self.dsn:
            return {}  # nothing stored: do not create lock files in a store we only read
        with self._locked(exclusive=False):
            return self._read()

    def put(self, connection: str, kind: str, secret: str) -> dict[str, Any]:
        """Store or replace a connection's secret; returns its row."""
        if kind not in SECRET_KINDS:
            raise ValueError(f"secret kind must be one of {SECRET_KINDS}")
        if not secret:
            raise ConfigError(f"connection '{connection}': the {kind} is empty")
        register_secret(secret)
        with self._locked(exclusive=True):
            keys = self.keys(create=True)
            records = self._read()
            old = records.get(connection, {})
            stamp, user = now().isoformat(), actor()
            records[connection] = {
                "connection": connection,
                "secret_kind": kind,
                "ciphertext": keys.fernet().encrypt(_payload(connection, kind, secret)).decode(),
                "key_id": keys.primary_id,
                "created_at": old.get("created_at", stamp),
                "updated_at": stamp,
                "created_by": old.get("created_by", user),
                "updated_by": user,
            }
            self._write(records)
        _audit(self.store_path, "connection.secret", connection, "ok", {"kind": kind, "key_id": keys.primary_id})
        return records[connection]

    def get(self, connection: str) -> tuple[str, str] | None:
        """The connection's (kind, secret), or None if it has none; raises `VaultError`."""
        found = self.get_many([connection]).get(connection)
        if isinstance(found, VaultError):
            raise found
        return found

    def get_many(self, connections) -> dict[str, tuple[str, str] | VaultError]:
        """(kind, secret) of each named connection that has one, or the `VaultError` that stops
        it from decrypting; one read of the files for all of them."""
        if not self.path.exists() and not self.dsn:
            return {}
        with self._locked(exclusive=False):
            records = self._read()
            wanted = [records[c] for c in connections if c in records]
            if not wanted:
                return {}
            try:
                keys = self.keys()
            except VaultError as exc:
                return {r["connection"]: exc for r in wanted}
        out: dict[str, tuple[str, str] | VaultError] = {}
        for record in wanted:
            try:
                kind, secret = out[record["connection"]] = self._decrypt(record, keys)
            except VaultError as exc:
                out[record["connection"]] = exc
                continue
            for part in [secret, *secret_parts(secret)]:
                register_secret(part)
        return out

    def _decrypt(self, record: dict[str, Any], keys: Keys) -> tuple[str, str]:
        name = record["connection"]
        try:
            payload = json.loads(keys.fernet().decrypt(record["ciphertext"].encode()))
        except _fernet().InvalidToken:
            raise VaultError(
                f"cannot decrypt the secret of connection '{name}' (encrypted with key {record.get('key_id')}, "
                f"{keys.source} has {', '.join(key_id(k) for k in keys.keys)}): {self.how_to_provide()}"
            ) from None
        if payload.get("connection") != name:
            raise VaultError(f"the secret stored for connection '{name}' belongs to another connection; store it again")
        return payload["kind"], payload["secret"]

    def remove(self, connection: str) -> bool:
        if not self.path.exists():
            return False  # nothing stored: no lock file left in a store that holds no secret
        with self._locked(exclusive=True):
            records = self._read()
            if connection not in records:
                return False
            del records[connection]
            self._write(records)
        _audit(self.store_path, "connection.remove", connection, "ok", {"removed": "secret"})
        return True

    def rotate(self, progress=None) -> dict[str, Any]:
        """Re-encrypt every secret under a new key (see the module docstring for the steps)."""
        with self._locked(exclusive=True):
            records = self._read()
            keys = self.keys(create=False) if (records or self.key_path.exists() or os.environ.get(KEY_ENV)) else None
            if keys is None:
                return {"rotated": 0, "key_id": None, "resumed": False, "secrets": 0}
            resumed = len(keys.keys) > 1
            if keys.from_env:
                if not resumed and all(r["key_id"] == keys.primary_id for r in records.values()):
                    raise ConfigError(
                        f"{KEY_ENV} holds one key and every secret already uses it: to rotate, put a new key first, "
                        f"{KEY_ENV}=<new key>,<old key> (make one with `python -c \"from cryptography.fernet import "
                        f"Fernet; print(Fernet.generate_key().decode())\"`), run rotate-key, then drop the old key"
                    )
            elif not resumed:
                # step 1: the new key goes in front; the old one still decrypts
                keys = Keys([_fernet().Fernet.generate_key(), *keys.keys], keys.source, False)
                self._write_key_file(keys.keys)
            mf, new_id = keys.fernet(), keys.primary_id
            rotated = 0
            todo = [name for name in sorted(records) if records[name]["key_id"] != new_id]
            for i, name in enumerate(todo):
                # step 2, one secret at a time: each is either old or new, and both keys decrypt
                self._decrypt(records[name], keys)  # refuse to rewrite what we cannot read back
                records[name] = {**records[name], "ciphertext": mf.rotate(records[name]["ciphertext"].encode()).decode(),
                                 "key_id": new_id}
                self._write(records)
                rotated += 1
                if progress:
                    progress(i + 1, len(todo), name)
            for record in records.values():  # every secret must decrypt with the new key alone
                self._decrypt(record, Keys(keys.keys[:1], keys.source, keys.from_env))
            if not keys.from_env and len(keys.keys) > 1:
                self._write_key_file(keys.keys[:1])  # step 3: the old key goes
            return {"rotated": rotated, "key_id": new_id, "resumed": resumed, "secrets": len(records),
                    "from_env": keys.from_env, "old_keys": [key_id(k) for k in keys.keys[1:]]}


def with_secret(name: str, options, kind: str, secret: str):
    """The source's options with its vault secret filled in (in memory only). A password the
    config itself gives (plaintext or `${ENV}`) wins over the vault's."""
    key = "password" if kind == "password" else "dsn"
    model = type(options)
    if key not in model.model_fields:
        raise VaultError(f"source '{name}' ({options.type}) takes no {key}, but the vault holds one for it; "
                         f"remove it with `dsa connections remove {name}`")
    current = getattr(options, key, None)
    if current is not None and not isinstance(current, str):  # a SecretStr
        current = current.get_secret_value()
    if current and (kind == "password" or secret_parts(current)):
        return options
    data = options.model_dump()
    data[key] = secret
    try:
        return model.model_validate(data)
    except Exception as exc:
        detail = describe_validation(exc, prefix=f"sources.{name}") if hasattr(exc, "errors") else str(exc)
        raise VaultError(f"the {kind} stored for source '{name}' is not valid: {detail}") from None


def _payload(connection: str, kind: str, secret: str) -> bytes:
    return json.dumps({"connection": connection, "kind": kind, "secret": secret}).encode()


_warned: set[str] = set()


def _warn_permissions(path: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o077 and str(path) not in _warned:
        _warned.add(str(path))
        sys.stderr.write(f"warning: key file {path} is readable by others (mode {mode:o}); run chmod 600 {path}\n")


def _audit(store_path: Path, action: str, target: str, outcome: str, details: dict[str, Any]) -> None:
    audit.record(store_path, action, target, outcome, None, details)


def credentials_frame(store_path: str | os.PathLike) -> pl.DataFrame:
    """The `credentials` catalog table: one row per stored secret, ciphertext only."""
    try:
        records = Vault(store_path).records()
    except VaultError:
        records = {}
    rows = [
        {**r, "created_at": _ts(r.get("created_at")), "updated_at": _ts(r.get("updated_at"))}
        for r in records.values()
    ]
    return frame(rows, CREDENTIALS)


def _ts(value: str | None):
    from datetime import datetime

    return datetime.fromisoformat(value) if value else None
