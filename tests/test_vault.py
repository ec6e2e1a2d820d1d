"""The credentials vault: encryption at rest, keys, rotation that survives a crash, injection."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from dsa.errors import ConfigError
from dsa.vault import KeyMissing, Vault, VaultError, key_id

SECRETS = {"alpha": ("password", "Pw-alpha-6b1f"), "beta": ("dsn", "postgresql://u:Pw-beta-77c2@127.0.0.1:1/db"),
           "gamma": ("password", "Pw-gamma-90d4"), "delta": ("password", "Pw-delta-3e5a")}


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    monkeypatch.delenv("DSA_SECRET_KEY", raising=False)
    monkeypatch.delenv("DSA_SECRET_KEY_FILE", raising=False)


@pytest.fixture
def vault(store):
    v = Vault(store.path)
    for name, (kind, secret) in SECRETS.items():
        v.put(name, kind, secret)
    return v


def _all(v: Vault) -> dict:
    return {name: v.get(name) for name in SECRETS}


def _key_ids(v: Vault) -> list[str]:
    return [key_id(k) for k in v.keys().keys]


def test_secrets_are_encrypted_at_rest(vault, store):
    assert _all(vault) == SECRETS
    raw = (store.path / "credentials.json").read_bytes()
    for _, secret in SECRETS.values():
        assert secret.encode() not in raw
    key_file = store.path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((store.path / "credentials.json").stat().st_mode) == 0o600
    con = store.connect()
    rows = con.execute("SELECT connection, secret_kind, key_id, length(ciphertext) > 50, created_by "
                       "FROM credentials ORDER BY 1").fetchall()
    kid = _key_ids(vault)[0]
    assert rows == [(n, SECRETS[n][0], kid, True, rows[0][4]) for n in sorted(SECRETS)]


def test_replacing_a_secret_keeps_created_at(vault):
    before = vault.records()["alpha"]
    vault.put("alpha", "password", "Pw-alpha-new-1")
    after = vault.records()["alpha"]
    assert after["created_at"] == before["created_at"] and after["updated_at"] >= before["updated_at"]
    assert vault.get("alpha") == ("password", "Pw-alpha-new-1")
    assert vault.remove("alpha") is True and vault.get("alpha") is None and vault.remove("alpha") is False


def test_without_the_key_nothing_decrypts_and_the_message_says_how(vault, store):
    (store.path / "secret.key").unlink()
    with pytest.raises(KeyMissing) as err:
        vault.get("alpha")
    message = str(err.value)
    assert "DSA_SECRET_KEY" in message and str(store.path / "secret.key") in message
    assert err.value.exit_code == 2


def test_a_wrong_key_names_the_key_ids(vault, monkeypatch):
    right = _key_ids(vault)[0]
    monkeypatch.setenv("DSA_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(VaultError) as err:
        vault.get("gamma")
    assert f"encrypted with key {right}" in str(err.value) and "DSA_SECRET_KEY" in str(err.value)


def test_key_from_environment_creates_no_file(store, monkeypatch):
    key = Fernet.generate_key()
    monkeypatch.setenv("DSA_SECRET_KEY", key.decode())
    v = Vault(store.path)
    v.put("x", "password", "Pw-env-1234")
    assert not (store.path / "secret.key").exists()
    assert v.records()["x"]["key_id"] == key_id(key)
    monkeypatch.setenv("DSA_SECRET_KEY", "not a key")
    with pytest.raises(ConfigError, match="DSA_SECRET_KEY: not a Fernet key"):
        v.get("x")


def test_key_file_elsewhere(store, tmp_path, monkeypatch):
    monkeypatch.setenv("DSA_SECRET_KEY_FILE", str(tmp_path / "keys" / "dsa.key"))
    v = Vault(store.path)
    v.put("x", "password", "Pw-file-1234")
    assert (tmp_path / "keys" / "dsa.key").exists() and not (store.path / "secret.key").exists()
    assert v.get("x") == ("password", "Pw-file-1234")


def test_a_token_moved_to_another_connection_does_not_decrypt(vault, store):
    path = store.path / "credentials.json"
    data = json.loads(path.read_text())
    rows = {r["connection"]: r for r in data["credentials"]}
    rows["gamma"]["ciphertext"] = rows["alpha"]["ciphertext"]
    path.write_text(json.dumps(data))
    with pytest.raises(VaultError, match="belongs to another connection"):
        vault.get("gamma")


def test_rotation_re_encrypts_everything_and_drops_the_old_key(vault, store):
    old_key = vault.keys().keys[0]
    before = {n: r["ciphertext"] for n, r in vault.records().items()}
    result = vault.rotate()
    assert result["rotated"] == 4 and result["secrets"] == 4 and not result["resumed"]
    new_ids = _key_ids(vault)
    assert len(new_ids) == 1 and new_ids[0] != key_id(old_key) and result["key_id"] == new_ids[0]
    assert {r["key_id"] for r in vault.records().values()} == {new_ids[0]}
    assert all(vault.records()[n]["ciphertext"] != before[n] for n in SECRETS)
    assert _all(vault) == SECRETS
    with pytest.raises(Exception):  # the old key alone no longer opens anything
        Fernet(old_key).decrypt(vault.records()["alpha"]["ciphertext"].encode())


@pytest.mark.parametrize("crash_after_writes", [0, 1, 2, 3, 4])
def test_rotation_interrupted_mid_way_loses_nothing(vault, monkeypatch, crash_after_writes):
    """Crash after the new key is in place and after 0..4 of the 4 secrets were rewritten
    (4 = every secret, before the old key was dropped)."""
    old_id = _key_ids(vault)[0]
    real_write, real_key_write, writes = Vault._write, Vault._write_key_file, []

    def write(self, records):
        if len(writes) == crash_after_writes:
            raise OSError("simulated crash")
        writes.append(1)
        real_write(self, records)

    def write_key_file(self, keys):
        if len(keys) == 1 and crash_after_writes == 4:
            raise OSError("simulated crash before the old key is dropped")
        real_key_write(self, keys)

    monkeypatch.setattr(Vault, "_write", write)
    monkeypatch.setattr(Vault, "_write_key_file", write_key_file)
    with pytest.raises(OSError):
        vault.rotate()
    monkeypatch.setattr(Vault, "_write", real_write)
    monkeypatch.setattr(Vault, "_write_key_file", real_key_write)
    ids = _key_ids(vault)
    assert len(ids) == 2 and ids[1] == old_id  # the new key first, the old one still there
    assert _all(vault) == SECRETS  # every secret still decrypts, old or new
    assert sum(r["key_id"] == ids[0] for r in vault.records().values()) == min(crash_after_writes, 4)
    result = vault.rotate()  # running it again finishes the same rotation
    assert result["resumed"] and result["key_id"] == ids[0] and result["rotated"] == 4 - min(crash_after_writes, 4)
    assert _key_ids(vault) == ids[:1] and _all(vault) == SECRETS


def test_rotation_killed_by_sigkill(vault, store):
    """A real kill -9 in the middle of the rotation, between two secrets."""
    script = f"""
import os, signal
from dsa.vault import Vault
real, n = Vault._write, []
def write(self, records):
    real(self, records)
    n.append(1)
    if len(n) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
Vault._write = write
Vault({str(store.path)!r}).rotate()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(_key_ids(vault)) == 2 and _all(vault) == SECRETS
    assert vault.rotate()["rotated"] == 2
    assert len(_key_ids(vault)) == 1 and _all(vault) == SECRETS


def test_rotation_with_keys_from_the_environment(store, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("DSA_SECRET_KEY", old)
    v = Vault(store.path)
    v.put("a", "password", "Pw-env-rot-1")
    with pytest.raises(ConfigError, match="put a new key first"):
        v.rotate()
    monkeypatch.setenv("DSA_SECRET_KEY", f"{new},{old}")
    result = v.rotate()
    assert result["rotated"] == 1 and result["old_keys"] == [key_id(old.encode())] and result["from_env"]
    monkeypatch.setenv("DSA_SECRET_KEY", new)
    assert v.get("a") == ("password", "Pw-env-rot-1")


def test_rotation_of_an_empty_vault(store):
    assert Vault(store.path).rotate()["key_id"] is None


def test_concurrent_writers_lose_nothing(store):
    """Four processes store 15 secrets each at once (the first ones racing to create the key)."""
    script = (
        "import sys\nfrom dsa.vault import Vault\nv = Vault(sys.argv[1])\n"
        "for i in range(15):\n    v.put(f'{sys.argv[2]}-{i}', 'password', f'Pw-{sys.argv[2]}-{i}-x')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(store.path), f"p{n}"]) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    v = Vault(store.path)
    assert len(v.keys().keys) == 1
    assert {n: v.get(n)[1] for n in v.records()} == {f"p{n}-{i}": f"Pw-p{n}-{i}-x" for n in range(4) for i in range(15)}
