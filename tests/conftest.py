"""Shared fixtures: a fresh store, and the real Postgres and MariaDB servers.

Server tests run against 127.0.0.1. Locally a missing server skips them; in CI (`CI=true`) a
missing server fails them, so a green CI always means they ran.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Subprocesses (`python -m dsa ...`) must import this checkout's dsa.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

PG_DSN = os.environ.get("DSA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL = dict(host="127.0.0.1", port=3306, user="root", password="")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(message: str):
    """What a test needs is not on this machine: skipped locally, failed in CI (`CI=true`)."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _server_missing(what: str, exc: Exception):
    missing(f"{what} is not reachable: {exc}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def store(tmp_path):
    from dsa.store import Store

    s = Store(tmp_path / "store")
    s.init()
    return s


@pytest.fixture
def dsa_cli(tmp_path):
    """Run `python -m dsa` in a subprocess with a store and config under tmp_path."""
    import subprocess

    def run(*args, env=None, input=None, cwd=None, timeout=120):
        full_env = {**os.environ, "DSA_STORE": str(tmp_path / "store"), **(env or {})}
        full_env.setdefault("DSA_CONFIG", str(tmp_path / "dsa.yaml"))
        return subprocess.run(
            [sys.executable, "-m", "dsa", *args], capture_output=True, text=True, env=full_env,
            input=input, cwd=cwd or tmp_path, timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def pg_admin():
    """An autocommit psycopg connection to the test server as a superuser."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except Exception as exc:  # noqa: BLE001
        _server_missing("Postgres at 127.0.0.1:5432", exc)
    yield conn
    conn.close()


@pytest.fixture
def pg_database(pg_admin):
    """A fresh, uniquely named Postgres database; yields its DSN and drops it afterwards."""
    from psycopg import sql

    name = f"dsa_t_{secrets.token_hex(4)}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = PG_DSN.rsplit("/", 1)[0] + "/" + name
    yield dsn
    pg_admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def mysql_admin():
    pymysql = pytest.importorskip("pymysql")
    try:
        conn = pymysql.connect(**MYSQL, autocommit=True, connect_timeout=5)
    except Exception as exc:  # noqa: BLE001
        _server_missing("MariaDB at 127.0.0.1:3306", exc)
    yield conn
    conn.close()


@pytest.fixture
def mysql_database(mysql_admin):
    """A fresh, uniquely named MariaDB database (a schema); yields its name."""
    name = f"dsa_t_{secrets.token_hex(4)}"
    with mysql_admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield name
    with mysql_admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A folder with `dsa.yaml` naming a small SQLite source `shop`, and `store/` holding one scan
    of it (the bad-input tests copy the store and compare it before and after)."""
    from dsa.demo import build_shop
    from tests.inprocess import run_cli

    root = tmp_path_factory.mktemp("base")
    db = build_shop(root / "shop.db", 1)
    (root / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    code, _, err = run_cli(["--store", str(root / "store"), "--config", str(root / "dsa.yaml"), "scan", "shop"])
    assert code == 0, err
    return root
