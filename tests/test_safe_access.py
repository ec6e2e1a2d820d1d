"""Safe source access: every connector's session is read-only, TLS settings reach the driver,
and a server that accepts a connection but never answers times out within connect_timeout_s.

The servers used for timeouts are sockets this test opens on 127.0.0.1: nothing leaves the host.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sqlite3
import threading
import time

import pytest

from dsa.config import parse_source
from dsa.connectors import open_source
from dsa.errors import SourceError


def connector(spec: dict, name: str = "src"):
    return open_source(name, parse_source(name, spec))


@contextlib.contextmanager
def silent_server(answer: bytes | None = None):
    """A local port that accepts connections and never speaks (or sends `answer` once, then
    stays silent): what a hung server or a black-holed address looks like to a client."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)  # close() does not wake a blocked accept(): poll a stop flag instead
    held, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            held.append(conn)
            if answer is not None:
                try:
                    conn.recv(64)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in held:
            conn.close()


def times_out(spec: dict, limit_s: float) -> str:
    """Connect in a thread; it must fail by itself (not hang) and name the timeout."""
    result: dict = {}

    def attempt():
        started = time.monotonic()
        try:
            connector(spec).connect()
            result["error"] = None
        except SourceError as exc:
            result["error"] = str(exc)
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    # generous: without the timeout reaching the driver the attempt would hang forever
    thread.join(timeout=limit_s)
    assert not thread.is_alive(), "connect did not time out"
    assert result["error"] is not None
    return result["error"]


# -- SQLite --------------------------------------------------------------------------------

def test_sqlite_session_cannot_write(tmp_path):
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    conn = connector({"type": "sqlite", "path": str(path)}).connect()
    for statement in ("INSERT INTO t VALUES (2)", "CREATE TABLE u (a INTEGER)", "DROP TABLE t", "PRAGMA user_version = 5"):
        with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|attempt to write"):
            conn.execute(statement)
    conn.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# -- Postgres ------------------------------------------------------------------------------

@pytest.fixture
def pg_source(pg_database):
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE t (a integer); INSERT INTO t VALUES (1)")
    return {"type": "postgres", "dsn": pg_database, "timeout_s": 7}


def test_postgres_session_cannot_write(pg_source, pg_database):
    import psycopg

    conn = connector(pg_source).connect()
    try:
        cur = conn.cursor()
        assert cur.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert cur.execute("SHOW statement_timeout").fetchone()[0] == "7s"
        for statement in ("INSERT INTO t VALUES (2)", "CREATE TABLE u (a integer)", "DROP TABLE t", "UPDATE t SET a = 3",
                          "CREATE SCHEMA s"):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                cur.execute(statement)
    finally:
        conn.close()
    with psycopg.connect(pg_database) as con:
        assert con.execute("SELECT array_agg(a) FROM t").fetchone()[0] == [1]
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 1


def test_postgres_tls_settings_reach_the_driver(pg_source):
    # the local server has ssl=off: `disable` connects, `require` must fail, saying why
    conn = connector({**pg_source, "sslmode": "disable"}).connect()
    try:
        assert conn.info.get_parameters()["sslmode"] == "disable" and conn.pgconn.ssl_in_use is False
    finally:
        conn.close()
    for spec in ({**pg_source, "sslmode": "require"}, {**pg_source, "dsn": pg_source["dsn"] + "?sslmode=require"}):
        with pytest.raises(SourceError) as err:
            connector(spec).connect()
        assert str(err.value).endswith("server does not support SSL, but SSL was required"), err.value
    # a server that offers TLS: libpq looks for the root certificate it was given before the handshake
    with silent_server(answer=b"S") as port:
        spec = {"type": "postgres", "host": "127.0.0.1", "port": port, "user": "x", "database": "y",
                "sslmode": "verify-full", "sslrootcert": "/nonexistent/root.crt", "connect_timeout_s": 2}
        with pytest.raises(SourceError) as err:
            connector(spec).connect()
    assert 'root certificate file "/nonexistent/root.crt" does not exist' in str(err.value)


def test_postgres_silent_server_times_out(pg_admin):
    with silent_server() as port:
        message = times_out({"type": "postgres", "host": "127.0.0.1", "port": port, "user": "x",
                             "connect_timeout_s": 2}, limit_s=30)
    assert message == f"cannot connect to source 'src' (postgres at 127.0.0.1:{port}/x): connection timeout expired"
