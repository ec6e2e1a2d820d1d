"""A secret never appears anywhere: every command, failing ones included, on real servers.

A distinctive password (holding `@`, `/`, a space and a quote, so it is also URL-encoded and
escaped on its way) goes in through the vault, a DSN and the config file. Then every command
runs in its own process, including failing ones (wrong host, wrong password, a malformed DSN,
a statement timeout, a bad config, a missing key), and its stdout and stderr, and every file
written under the store, the export folder and TMPDIR (Parquet read back as values, JSON,
logs, anything) are searched for the password's random core, which every spelling of it
(raw, URL-encoded, escaped) contains.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from psycopg import sql

from tests.inprocess import fresh_process, run_cli

CORE = secrets.token_hex(8)
PASSWORD = f"Pw@{CORE}/x y'z"
ENCODED = quote(PASSWORD, safe="")


class Leaks:
    """Runs commands against one store and keeps every output for the final search.

    Most commands run in-process with the secret registry emptied first (as a new process
    would start); `subprocess=True` runs a real `python -m dsa` (tracebacks, interpreter output)."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.outputs: list[tuple[list[str], str]] = []
        self.env = {
            "DSA_STORE": str(tmp_path / "store"), "DSA_CONFIG": str(tmp_path / "cfg" / "dsa.yaml"),
            "TMPDIR": str(tmp_path / "tmp"), "DSA_USER": "leak-tester", "DSA_SECRET_KEY": None,
            "DSA_SECRET_KEY_FILE": None,
        }
        (tmp_path / "tmp").mkdir()
        (tmp_path / "cfg").mkdir()
        self.config("")

    def config(self, text: str) -> None:
        (self.tmp / "cfg" / "dsa.yaml").write_text(text)

    def run(self, *args: str, stdin: str | None = None, env: dict | None = None, expect: int | None = None,
            subprocess: bool = False):
        env = {**self.env, **(env or {})}
        if subprocess:
            import subprocess as sp

            full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
            r = sp.run([sys.executable, "-m", "dsa", *args], capture_output=True, text=True, input=stdin, env=full,
                       timeout=120)
            code, out, err = r.returncode, r.stdout, r.stderr
        else:
            fresh_process()
            code, out, err = run_cli(list(args), stdin or "", env)
        self.outputs.append((list(args), out + err))
        assert "Traceback" not in err and "internal error" not in err, (args, err)
        if expect is not None:
            assert code == expect, (args, code, out, err)
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    def files(self) -> list[Path]:
        roots = [self.tmp / "store", self.tmp / "export", self.tmp / "tmp"]
        return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]

    def assert_clean(self) -> None:
        for args, text in self.outputs:
            assert CORE not in text, ("output of", args, text)
        checked = 0
        for path in self.files():
            data = path.read_bytes()
            assert CORE.encode() not in data, path
            if path.suffix == ".parquet":  # compressed: look at the values
                import polars as pl

                frame = pl.read_parquet(path)
                text = frame.select(pl.all().cast(pl.Utf8)).write_csv() if frame.width else ""
                assert CORE not in text, path
            checked += 1
        assert checked > 20  # the store really was written: runs, exports, audit, vault


@pytest.fixture
def pg_role(pg_admin, pg_database):
    """A login role with the distinctive password, owning a small table in the test database."""
    import psycopg

    role = f"dsa_leak_{secrets.token_hex(3)}"
    pg_admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(PASSWORD)))
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute(sql.SQL("CREATE TABLE t (id integer PRIMARY KEY, note text); GRANT SELECT ON t TO {}").format(
            sql.Identifier(role)))
    yield role, pg_database.rsplit("/", 1)[1]
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("DROP TABLE t")  # and with it the grant, so the role can go
    pg_admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_postgres_password_never_leaks(tmp_path, pg_role, pg_database):
    import psycopg

    from tests.connectors.test_postgres import fake_postgres_rejecting_password

    role, db = pg_role
    leaks = Leaks(tmp_path)
    run = leaks.run
    server = ["--host", "127.0.0.1", "--port", "5432", "--user", role, "--database", db]
    run("connections", "add", "pg", "--type", "postgres", *server, "--password-stdin", stdin=PASSWORD + "\n", expect=0,
        subprocess=True)
    run("connections", "add", "pgdsn", "--type", "postgres", "--dsn-stdin", expect=0,
        stdin=f"postgresql://{role}:{ENCODED}@127.0.0.1:5432/{db}?sslmode=disable\n")
    r = run("connections", "add", "pgarg", "--type", "postgres", "--dsn",
            f"postgresql://{role}:{ENCODED}@127.0.0.1:5432/{db}", expect=0)
    assert "holds a password, visible to other users" in r.stderr
    run("connections", "add", "pgpw", "--type", "postgres", *server, "--password", PASSWORD, expect=0)
    for name in ("pg", "pgdsn", "pgarg", "pgpw"):
        run("connections", "test", name, expect=0)
        run("scan", name, expect=0)
    run("quality", "pg", expect=0)
    run("quality", "pgdsn", "--top-k", "3", expect=0)
    run("connections", "list", expect=0)
    run("connections", "list", "--format", "json", expect=0)

    # failing: a closed port, a server refusing the password, a malformed DSN, a statement timeout
    run("connections", "add", "closed", "--type", "postgres", "--host", "127.0.0.1", "--port", str(_closed_port()),
        "--user", role, "--password-stdin", "--set", "connect_timeout_s=2", stdin=PASSWORD + "\n", expect=0)
    run("connections", "test", "closed", expect=1)
    run("scan", "closed", expect=1)
    with fake_postgres_rejecting_password() as port:
        run("connections", "add", "wrongpw", "--type", "postgres", "--host", "127.0.0.1", "--port", str(port),
            "--user", "alice", "--password-stdin", stdin=PASSWORD + "\n", expect=0)
        r = run("connections", "test", "wrongpw", expect=1)
        assert "password authentication failed" in r.stderr
        run("scan", "wrongpw", expect=1, subprocess=True)
    r = run("connections", "add", "baddsn", "--type", "postgres", "--dsn-stdin",
            stdin=f"postgresql://{role}:{ENCODED}@127.0.0.1:notaport/{db}\n")
    if r.returncode == 0:
        run("connections", "test", "baddsn", expect=1)
        run("scan", "baddsn", expect=1)
    run("connections", "add", "slow", "--type", "postgres", *server, "--password-stdin", "--set", "timeout_s=0.001",
        stdin=PASSWORD + "\n", expect=0)
    run("scan", "slow")
    run("quality", "closed", expect=2)  # never scanned
    run("quality", "slow")

    # the config file: plaintext (warns), ${ENV}, and broken variants
    for text in (
        f"sources:\n  cfg: {{type: postgres, host: 127.0.0.1, user: {role}, database: {db}, password: \"{PASSWORD}\"}}\n",
        f"sources:\n  cfg: {{type: postgres, dsn: 'postgresql://{role}:${{LEAK_PW}}@127.0.0.1:5432/{db}'}}\n",
        f"sources:\n  cfg: {{type: postgres, dsn: 'postgresql://{role}:{ENCODED}@127.0.0.1:5432/{db}', port: nope}}\n",
        f"sources:\n  cfg: {{type: postgres, host: 127.0.0.1, password: \"{PASSWORD}\", pasword: x}}\n",
        f"sources:\n  cfg: {{type: postgres, host: 127.0.0.1, password: [\"{PASSWORD}\"]}}\n",
        f"sources:\n  cfg: {{type: postgres, host: 127.0.0.1, password: \"{PASSWORD}\", port: \"{PASSWORD}\"}}\n",
        f"sources:\n  cfg: {{type: postgres, host: 127.0.0.1, password: \"{PASSWORD}\"\n",
    ):
        leaks.config(text)
        env = {"LEAK_PW": ENCODED}
        run("connections", "list", env=env)
        run("connections", "test", "cfg", env=env)
        run("scan", "cfg", env=env, subprocess=text.startswith("sources:\n  cfg: {type: postgres, dsn"))
    leaks.config("")

    # catalog reads and exports of everything the runs wrote
    run("runs", expect=0)
    for table in ("sync_runs", "credentials", "audit_log", "run_errors", "normalized_tables", "column_top_values"):
        run("query", f"SELECT * FROM {table}", "--format", "json", expect=0)
    run("query", "SELECT * FROM nosuch_table", expect=2)
    for fmt in ("json", "csv", "parquet"):
        run("export", "--format", fmt, "--out", str(tmp_path / "export" / fmt), expect=0)

    # key rotation, then a missing and a wrong key
    run("connections", "rotate-key", expect=0)
    run("scan", "pg", expect=0)
    run("connections", "test", "pg", env={"DSA_SECRET_KEY_FILE": str(tmp_path / "nokey")}, expect=1)
    run("scan", "pg", env={"DSA_SECRET_KEY_FILE": str(tmp_path / "nokey")}, expect=2)
    run("connections", "list", env={"DSA_SECRET_KEY": "mqQ7pE1x1m8v0S9R3cQ0e4Hc1Yt1r2A9mO4bH1w8s2k="}, expect=0)
    run("scan", "pg", env={"DSA_SECRET_KEY": "not-a-key"}, expect=2)
    run("scan", "pg", env={"DSA_DEBUG": "1", "DSA_SECRET_KEY": "not-a-key"}, subprocess=True)
    for name in ("pg", "pgdsn", "pgarg", "pgpw", "closed", "wrongpw", "slow"):
        run("connections", "remove", name, expect=0)
    # the Postgres mirror (last: its schema would join the scans above): every row of every mirrored table, as text
    mirror_dsn = pg_database
    run("mirror", "--dsn", mirror_dsn, expect=0)
    with psycopg.connect(mirror_dsn) as con:
        tables = [r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'dsa_production'")]
        assert "sync_runs" in tables and "normalized_tables" in tables
        for table in tables:
            rows = con.execute(sql.SQL("SELECT t::text FROM dsa_production.{} t").format(sql.Identifier(table))).fetchall()
            assert not any(CORE in r[0] for r in rows), table
    leaks.assert_clean()


@pytest.fixture
def mysql_user(mysql_admin, mysql_database):
    """A MariaDB user with the distinctive password, allowed to read one database with a small table."""
    user = f"dsa_leak_{secrets.token_hex(3)}"
    db = mysql_database
    with mysql_admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.t (id integer PRIMARY KEY, note text)")
        cur.execute(f"INSERT INTO `{db}`.t VALUES (1, 'a'), (2, NULL)")
        for host in ("%", "localhost"):
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, PASSWORD))
            cur.execute(f"GRANT SELECT, SHOW VIEW ON `{db}`.* TO %s@%s", (user, host))
    yield user, db
    with mysql_admin.cursor() as cur:
        for host in ("%", "localhost"):
            cur.execute("DROP USER IF EXISTS %s@%s", (user, host))


def test_mariadb_password_never_leaks(tmp_path, mysql_user):
    user, db = mysql_user
    leaks = Leaks(tmp_path)
    run = leaks.run
    server = ["--host", "127.0.0.1", "--port", "3306", "--user", user, "--database", db]
    run("connections", "add", "my", "--type", "mysql", *server, "--password-stdin", stdin=PASSWORD + "\n", expect=0)
    run("connections", "add", "mydsn", "--type", "mysql", "--dsn-stdin", stdin=f"mysql://{user}:{ENCODED}@127.0.0.1:3306/{db}\n",
        expect=0)
    for name in ("my", "mydsn"):
        run("connections", "test", name, expect=0)
        run("scan", name, expect=0)
    run("quality", "my", expect=0)
    # a real wrong password (the server checks it), a closed port, TLS the server cannot give
    run("connections", "add", "wrong", "--type", "mysql", *server, "--password-stdin", stdin=f"{PASSWORD}-wrong\n", expect=0)
    r = run("connections", "test", "wrong", expect=1)
    assert f"Access denied for user '{user}'" in r.stderr
    run("scan", "wrong", expect=1, subprocess=True)
    run("connections", "add", "closed", "--type", "mysql", "--host", "127.0.0.1", "--port", str(_closed_port()),
        "--user", user, "--password-stdin", stdin=PASSWORD + "\n", expect=0)
    run("scan", "closed", expect=1)
    run("connections", "add", "tls", "--type", "mysql", *server, "--set", "ssl_mode=REQUIRED", "--password-stdin",
        stdin=PASSWORD + "\n", expect=0)
    run("connections", "test", "tls", expect=1)
    leaks.config(f"sources:\n  cfg: {{type: mysql, dsn: 'mysql://{user}:{ENCODED}@127.0.0.1:3306/{db}', port: x}}\n")
    run("scan", "cfg", expect=2)
    leaks.config(f"sources:\n  cfg: {{type: mysql, dsn: 'mysql://{user}:{ENCODED}@127.0.0.1:3306/{db}'}}\n")
    run("scan", "cfg", expect=0, subprocess=True)
    leaks.config("")
    for table in ("sync_runs", "run_errors", "audit_log", "column_quality_metrics"):
        run("query", f"SELECT * FROM {table}", "--format", "json", expect=0)
    run("export", "--format", "json", "--out", str(tmp_path / "export" / "json"), expect=0)
    run("connections", "rotate-key", expect=0)
    run("connections", "list", expect=0)
    leaks.assert_clean()
