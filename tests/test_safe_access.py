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


# -- MariaDB / MySQL -----------------------------------------------------------------------

def _ident(name: str, dialect: str = "mysql") -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


@pytest.fixture
def mysql_source(mysql_admin, mysql_database):
    with mysql_admin.cursor() as cur:
        cur.execute(f"CREATE TABLE {_ident(mysql_database)}.t (a integer)")
        cur.execute(f"INSERT INTO {_ident(mysql_database)}.t VALUES (1)")
    return {"type": "mysql", "host": "127.0.0.1", "port": 3306, "user": "root", "database": mysql_database,
            "timeout_s": 7}


def test_mysql_session_cannot_write(mysql_source, mysql_admin, mysql_database):
    import pymysql

    conn = connector(mysql_source).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@session.tx_read_only, @@session.max_statement_time")
            assert cur.fetchone() == (1, 7.0)
            for statement in ("INSERT INTO t VALUES (2)", "UPDATE t SET a = 3", "DELETE FROM t", "CREATE TABLE u (a int)",
                              "DROP TABLE t", "CREATE DATABASE dsa_should_not_exist"):
                with pytest.raises(pymysql.MySQLError) as err:
                    cur.execute(statement)
                assert err.value.args[0] == 1792, err.value  # Cannot execute statement in a READ ONLY transaction
    finally:
        conn.close()
    with mysql_admin.cursor() as cur:
        cur.execute(f"SELECT a FROM {_ident(mysql_database)}.t")
        assert cur.fetchall() == ((1,),)
        cur.execute("SHOW DATABASES LIKE 'dsa_should_not_exist'")
        assert cur.fetchall() == ()


def test_mysql_tls_settings_reach_the_driver(mysql_source, tmp_path):
    # the local MariaDB has TLS disabled: DISABLED connects in clear, REQUIRED must refuse, saying why
    conn = connector({**mysql_source, "ssl_mode": "DISABLED"}).connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            assert cur.fetchone() == ("Ssl_cipher", "")
    finally:
        conn.close()
    dsn = f"mysql://root@127.0.0.1:3306/{mysql_source['database']}?ssl_mode=REQUIRED"
    for spec in ({**mysql_source, "ssl_mode": "REQUIRED"}, {"type": "mysql", "dsn": dsn}):
        with pytest.raises(SourceError) as err:
            connector(spec).connect()
        assert str(err.value).endswith("SSL is required but the server doesn't support it"), err.value
    with pytest.raises(SourceError, match="ssl_ca file /nonexistent/ca.pem not found"):
        connector({**mysql_source, "ssl_mode": "VERIFY_CA", "ssl_ca": "/nonexistent/ca.pem"}).connect()
    # a CA file that is not a certificate: the TLS layer itself read the file it was given
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(SourceError, match="no certificate or crl found"):
        connector({**mysql_source, "ssl_mode": "VERIFY_CA", "ssl_ca": str(tmp_path / "ca.pem")}).connect()


def test_mysql_preferred_tls_learnt_once(mysql_source):
    # PREFERRED (no ssl_mode) tries TLS on the first session; the local MariaDB offers none, so the
    # connector's next session (a scan's second one) goes without trying, and is in clear as well
    source = connector(mysql_source)
    first = source.connect()
    second = source.connect()
    try:
        assert second.ssl is False  # PyMySQL's flag: TLS not even attempted
        for conn in (first, second):
            with conn.cursor() as cur:
                cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                assert cur.fetchone() == ("Ssl_cipher", "")
    finally:
        first.close()
        second.close()
    # REQUIRED learns nothing from that: every session still asks for TLS, and is refused
    strict = connector({**mysql_source, "ssl_mode": "REQUIRED"})
    for _ in range(2):
        with pytest.raises(SourceError, match="SSL is required"):
            strict.connect()


def test_mysql_silent_server_times_out(mysql_admin):
    with silent_server() as port:
        message = times_out({"type": "mysql", "host": "127.0.0.1", "port": port, "user": "x", "connect_timeout_s": 2},
                            limit_s=30)
    assert message == (f"cannot connect to source 'src' (mysql at 127.0.0.1:{port}): connection timeout expired "
                       f"(no answer within connect_timeout_s=2s)")


# -- DuckDB --------------------------------------------------------------------------------

def test_duckdb_session_cannot_write(tmp_path):
    import duckdb

    path = tmp_path / "d.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (a integer); INSERT INTO t VALUES (1)")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    conn = connector({"type": "duckdb", "path": str(path)}).connect()
    try:
        assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
        for statement in ("INSERT INTO t VALUES (2)", "CREATE TABLE u (a integer)", "DROP TABLE t",
                          f"COPY t TO '{tmp_path / 'out.csv'}'", f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
                          "SET threads = 1", "SELECT 1; DELETE FROM t"):
            with pytest.raises(PermissionError):
                conn.execute(statement)
        # below the statement guard, the database itself is open read-only
        with pytest.raises(duckdb.Error, match="read-only"):
            conn._con.execute("INSERT INTO t VALUES (3)")
    finally:
        conn.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()
