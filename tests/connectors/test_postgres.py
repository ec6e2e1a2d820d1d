"""Postgres: the conformance suite on the real server, plus what only Postgres has."""

from __future__ import annotations

import json
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dsa.config import Config, parse_source
from dsa.names import split_name
from dsa.quality import Sample
from dsa.scan import scan
from dsa.store import Store
from tests.conftest import PG_DSN
from quality_data import COLUMNS, TABLE, assert_matches, expected, profile
from quality_data import rows as table_rows
from tests.connectors.contract import ConnectorContract
from tests.connectors.quality_contract import DiffContract, EngineDb, QualityContract

pytestmark = pytest.mark.postgres

REFERENCE_DDL = '''
CREATE TABLE customers (id integer PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(50),
                        score numeric(10,2) DEFAULT 0);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), note text);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE "odd name.with/dots" ("Col ""quoted""" integer, "ünïcode" text);
CREATE VIEW order_summary AS SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id;
'''


def run_sql(dsn: str, ddl: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl)


class TestPostgres(ConnectorContract):
    schema_name = "public"
    types = {"customers.id": "integer", "customers.email": "character varying(100)",
             "customers.name": "character varying(50)", "customers.score": "numeric(10,2)"}

    @pytest.fixture
    def source(self, pg_database):
        run_sql(pg_database, REFERENCE_DDL)
        return {"type": "postgres", "dsn": pg_database}


# -- everything Postgres has, on one database built once for this module -------------------

RICH_DDL = (Path(__file__).parent / "postgres_rich.sql").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rich(pg_admin, tmp_path_factory):
    """The rich schema (queries beside this file), scanned once: (result, duckdb connection, dsn)."""
    name = f"dsa_t_{secrets.token_hex(4)}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = PG_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        run_sql(dsn, RICH_DDL)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE ref.countries")
            conn.execute("VACUUM ANALYZE sales.stores")
        store = Store(tmp_path_factory.mktemp("rich") / "store")
        result = scan(store, Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": dsn})}), "pg")
        con = store.connect()
        yield result, con, dsn
        con.close()
    finally:
        pg_admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def rows(con, query, *params):
    cur = con.execute(query, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def table(con, schema, name):
    (row,) = rows(con, "SELECT * FROM latest_table_metadata WHERE schema_name = ? AND table_name = ?", schema, name)
    row["custom"] = json.loads(row["custom_attributes"])
    return row


def columns(con, schema, name):
    out = rows(con, "SELECT * FROM latest_column_metadata WHERE schema_name = ? AND table_name = ? "
               "ORDER BY ordinal_position", schema, name)
    for c in out:
        c["custom"] = json.loads(c["custom_attributes"])
    return out


def test_rich_scan_succeeds(rich):
    result, _, _ = rich
    assert result.status == "success" and result.errors == []
    assert (result.schema_count, result.table_count) == (5, 18)


def test_schemas_owner_comment_and_no_system_schemas(rich):
    _, con, _ = rich
    got = {r["schema_name"]: (r["owner"], r["comment"]) for r in rows(con, "SELECT * FROM latest_schema_metadata")}
    assert got == {
        "public": ("pg_database_owner", "standard public schema"),
        "ref": ("postgres", None),
        "sales": ("postgres", "Sales data"),
        "select": ("postgres", None),
        'we"ird schema.v1/ü': ("postgres", "odd"),
    }


def test_table_types_partitions_and_foreign_tables(rich):
    _, con, _ = rich
    got = {r["table_name"]: (r["table_type"], r["parent_table"])
           for r in rows(con, "SELECT * FROM latest_table_metadata WHERE schema_name = 'sales'")}
    assert got == {
        "stores": ("table", None), "exotic": ("table", None), "regions": ("table", None),
        "big_stores": ("view", None), "store_counts": ("materialized_view", None),
        "events": ("partitioned_table", None),
        "events_2024": ("partition", "pg.sales.events"), "events_2025": ("partition", "pg.sales.events"),
        "events_default": ("partition", "pg.sales.events"),
        "ext_rates": ("foreign_table", None), "visits": ("table", None),
    }
    assert table(con, "sales", "events")["custom"]["partition_key"] == "RANGE (at)"
    bounds = {t: table(con, "sales", t)["custom"]["partition_bound"] for t in ("events_2024", "events_default")}
    assert bounds == {"events_2024": "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')", "events_default": "DEFAULT"}
    ext = table(con, "sales", "ext_rates")["custom"]
    assert ext["foreign_server"] == "files" and ext["foreign_options"] == ["filename=/dev/null", "format=csv"]
    assert table(con, "sales", "store_counts")["custom"]["populated"] is True


def test_view_definitions(rich):
    _, con, _ = rich
    view = table(con, "sales", "big_stores")
    assert " ".join(view["view_definition"].split()) == (
        "SELECT stores.id, stores.code FROM sales.stores WHERE (stores.price > (100)::numeric);")
    mv = table(con, "sales", "store_counts")
    assert " ".join(mv["view_definition"].split()) == (
        "SELECT stores.country, count(*) AS n FROM sales.stores GROUP BY stores.country;")
    assert table(con, "sales", "stores")["view_definition"] is None


def test_owner_comment_row_estimates_and_sizes(rich):
    _, con, dsn = rich
    stores = table(con, "sales", "stores")
    assert (stores["owner"], stores["comment"]) == ("postgres", "One row per store")
    assert table(con, "ref", "countries")["row_estimate"] == 3  # ANALYZEd: exact for a small table
    assert stores["row_estimate"] == 4
    assert table(con, "sales", "exotic")["row_estimate"] is None  # never analyzed (reltuples -1)
    assert table(con, "sales", "big_stores")["row_estimate"] is None
    assert table(con, "sales", "big_stores")["size_bytes"] is None
    # the documented size: main forks of the table, its TOAST table and its indexes, as on disk
    with psycopg.connect(dsn) as conn:
        expected = conn.execute(
            "SELECT pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0)"
            " + (SELECT sum(pg_relation_size(indexrelid)) FROM pg_index WHERE indrelid = c.oid)"
            " FROM pg_class c WHERE c.oid = 'sales.stores'::regclass").fetchone()[0]
    assert stores["size_bytes"] == expected > 0


def test_columns_types_defaults_identity_generated_comments(rich):
    _, con, _ = rich
    got = [(c["column_name"], c["data_type"], c["type_family"], c["is_nullable"], c["column_default"],
            c["is_identity"], c["is_generated"], c["generation_expression"])
           for c in columns(con, "sales", "stores")]
    assert got == [
        ("id", "bigint", "integer", False, None, True, False, None),
        ("country", "character(2)", "string", False, None, False, False, None),
        ("region_no", "smallint", "integer", False, None, False, False, None),
        ("parent_id", "bigint", "integer", True, None, False, False, None),
        ("code", "character varying(20)", "string", False, None, False, False, None),
        ("price", "numeric(12,2)", "decimal", True, "0.00", False, False, None),
        ("price_with_tax", "numeric", "decimal", True, None, False, True, "(price * 1.2)"),
        ("tags", "text[]", "array", True, None, False, False, None),
        ("grid", "integer[]", "array", True, None, False, False, None),
        ("mood", "sales.mood", "enum", True, "'ok'::sales.mood", False, False, None),
        ("qty", "sales.posint", "integer", True, None, False, False, None),
        ("contact", "sales.email", "string", True, None, False, False, None),
        ("serial_no", "integer", "integer", False, "nextval('sales.stores_serial_no_seq'::regclass)",
         False, False, None),
    ]
    by_name = {c["column_name"]: c for c in columns(con, "sales", "stores")}
    assert by_name["code"]["comment"] == "Store code, unique per country"
    assert by_name["id"]["custom"]["identity"] == "always"
    assert by_name["price_with_tax"]["custom"]["generated"] == "stored"
    assert by_name["mood"]["custom"]["enum_labels"] == ["sad", "ok", "happy"]
    assert by_name["qty"]["custom"]["domain_base_type"] == "integer"
    assert by_name["contact"]["custom"]["domain_base_type"] == "character varying(200)"
    assert by_name["contact"]["custom"]["domain_not_null"] is True
    assert [c["ordinal_position"] for c in by_name.values()] == list(range(1, 14))


def test_exotic_types(rich):
    _, con, _ = rich
    got = [(c["column_name"], c["data_type"], c["type_family"]) for c in columns(con, "sales", "exotic")]
    assert got == [
        ("r", "int4range", "other"), ("tr", "tstzrange", "other"), ("j", "json", "json"), ("jb", "jsonb", "json"),
        ("ts", "tsvector", "string"), ("m", "money", "decimal"), ("b", "bit(3)", "binary"),
        ("vb", "bit varying(8)", "binary"), ("iv", "interval", "interval"), ("u", "uuid", "uuid"),
        ("ip", "inet", "string"), ("c", "cidr", "string"), ("p", "sales.pair", "struct"),
        ("ts6", "timestamp(3) with time zone", "timestamp"), ("t", "time without time zone", "time"),
        ("ch", "character(5)", "string"), ("f", "double precision", "float"), ("rl", "real", "float"),
        ("bo", "boolean", "boolean"), ("by", "bytea", "binary"), ("x", "xml", "xml"), ("pt", "point", "geometry"),
        ("ia", "bigint[]", "array"), ("moods", "sales.mood[]", "array"), ("iv2", "interval day to second(2)", "interval"),
        ("vc", "character varying", "string"), ("n", "numeric(5,0)", "decimal"), ("odd", '"we""ird schema.v1/ü"."my type"', "enum"),
    ]


def test_keys_composite_self_and_cross_schema(rich):
    _, con, _ = rich
    stores, regions = table(con, "sales", "stores"), table(con, "sales", "regions")
    assert json.loads(regions["primary_key"]) == ["country", "region_no"]
    assert regions["custom"]["primary_key_name"] == "regions_pkey"
    fks = {f["name"]: (f["columns"], f["ref_schema"], f["ref_table"], f["ref_columns"], f["on_update"], f["on_delete"])
           for f in stores["custom"]["foreign_keys"] + regions["custom"]["foreign_keys"]}
    assert fks == {
        "stores_parent_id_fkey": (["parent_id"], "sales", "stores", ["id"], "NO ACTION", "SET NULL"),
        "stores_region_fk": (["country", "region_no"], "sales", "regions", ["country", "region_no"], "NO ACTION", "NO ACTION"),
        "regions_country_fk": (["country"], "ref", "countries", ["code"], "RESTRICT", "CASCADE"),
    }
    cols = {c["column_name"]: c for c in columns(con, "sales", "stores")}
    assert cols["parent_id"]["foreign_key"] == "pg.sales.stores.id"
    assert cols["region_no"]["foreign_key"] == "pg.sales.regions.region_no"
    assert columns(con, "sales", "regions")[0]["foreign_key"] == "pg.ref.countries.code"
    assert [(u["name"], u["columns"]) for u in stores["custom"]["unique_constraints"]] == [("stores_code_uq", ["country", "code"])]
    assert [(c["name"], c["columns"], c["definition"]) for c in stores["custom"]["check_constraints"]] == [
        ("stores_price_check", ["price"], "CHECK ((price >= (0)::numeric))")]
    # a foreign key to a partitioned table is one key, not one per partition
    visits = table(con, "sales", "visits")["custom"]["foreign_keys"]
    assert [(f["columns"], f["ref_table"]) for f in visits] == [(["event_id", "event_at"], "events")]
    assert [c["is_primary_key"] for c in cols.values()][:2] == [True, False]
    assert cols["id"]["is_unique"] is True and cols["code"]["is_unique"] is False


def test_indexes_expression_partial_method_include(rich):
    _, con, _ = rich
    idx = {i["name"]: i for i in table(con, "sales", "stores")["custom"]["indexes"]}
    assert sorted(idx) == ["stores_code_uq", "stores_cover_idx", "stores_lower_code_idx", "stores_pkey",
                           "stores_serial_no_key", "stores_tags_gin"]
    low = idx["stores_lower_code_idx"]
    assert (low["columns"], low["unique"], low["predicate"], low["method"]) == (
        ["lower(code::text)", "country"], True, "parent_id IS NULL", "btree")
    assert low["definition"] == ("CREATE UNIQUE INDEX stores_lower_code_idx ON sales.stores USING btree "
                                 "(lower((code)::text), country) WHERE (parent_id IS NULL)")
    assert (idx["stores_tags_gin"]["method"], idx["stores_tags_gin"]["columns"]) == ("gin", ["tags"])
    assert (idx["stores_cover_idx"]["columns"], idx["stores_cover_idx"]["include"]) == (["country"], ["code"])
    assert idx["stores_pkey"]["primary"] is True and idx["stores_pkey"]["constraint"] is True
    cols = {c["column_name"]: json.loads(c["indexes"]) for c in columns(con, "sales", "stores")}
    assert cols["tags"] == ["stores_tags_gin"]
    assert cols["serial_no"] == ["stores_serial_no_key"]


def test_odd_identifiers(rich):
    _, con, _ = rich
    odd_schema = 'we"ird schema.v1/ü'
    long_name = "t" * 63
    got = {r["table_name"]: r["qualified_name"]
           for r in rows(con, "SELECT * FROM latest_table_metadata WHERE schema_name = ?", odd_schema)}
    assert set(got) == {"select", "a b.c/d", 'quo"te', "ünïcødé 表", long_name}
    for name, qn in got.items():
        assert split_name(qn) == ["pg", odd_schema, name]
    cols = [c["column_name"] for c in columns(con, odd_schema, "select")]
    assert cols == ["from", "Mixed Case", 'a"b', "x.y/z", "ünï", "c" * 63]
    assert [c["data_type"] for c in columns(con, odd_schema, "select")] == [
        "integer", "text", "text", "text", "text", '"we""ird schema.v1/ü"."my type"']
    fk = table(con, odd_schema, 'quo"te')["custom"]["foreign_keys"][0]
    assert (fk["columns"], fk["ref_schema"], fk["ref_table"], fk["ref_columns"]) == (
        ["x.y/z"], odd_schema, "select", ["from"])
    assert table(con, "select", "from")["table_type"] == "table"
    assert [c["column_name"] for c in columns(con, "select", "from")] == ["where"]
    for t in ("normalized_tables", "normalized_columns"):
        assert rows(con, f"SELECT qualified_name FROM {t} GROUP BY 1 HAVING count(*) > 1") == []


# -- permissions, read-only sessions, options ------------------------------------------------

@pytest.fixture
def limited_role(pg_admin, pg_database):
    """A role (unique name) that may read public.open but not public.locked, nor schema hidden."""
    role = f"dsa_r_{secrets.token_hex(4)}"
    pg_admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    run_sql(pg_database, """
        CREATE TABLE public.open (id integer PRIMARY KEY);
        CREATE TABLE public.locked (id integer PRIMARY KEY, secret text);
        CREATE SCHEMA hidden;
        CREATE TABLE hidden.inner_t (a integer);
    """)
    run_sql(pg_database, sql.SQL("GRANT SELECT ON public.open TO {}").format(sql.Identifier(role)))
    yield role
    run_sql(pg_database, sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    pg_admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_unreadable_schema_and_table_are_listed_and_make_the_run_partial(limited_role, pg_database, dsa_cli, tmp_path):
    database = pg_database.rsplit("/", 1)[1]
    (tmp_path / "dsa.yaml").write_text(
        f"sources:\n  lim: {{type: postgres, host: 127.0.0.1, port: 5432, user: {limited_role}, database: {database}}}\n")
    r = dsa_cli("scan", "lim")
    assert r.returncode == 3, r.stderr
    assert "lim: partial, 2 schemas, 3 tables, 4 columns" in r.stdout
    assert [line.strip() for line in r.stderr.strip().splitlines()] == [
        "cannot read schema lim.hidden: permission denied for schema hidden (no USAGE privilege)",
        "cannot read table lim.public.locked: permission denied for table public.locked (no SELECT privilege)",
    ]
    r = dsa_cli("query", "SELECT qualified_name FROM normalized_tables ORDER BY 1", "--format", "csv")
    assert r.stdout.split() == ["qualified_name", "lim.hidden.inner_t", "lim.public.locked", "lim.public.open"]
    r = dsa_cli("query", "SELECT qualified_name, object_type FROM run_errors ORDER BY 1", "--format", "csv")
    assert r.stdout.split() == ["qualified_name,object_type", "lim.hidden,schema", "lim.public.locked,table"]


def _connector(spec):
    from dsa.connectors import open_source

    return open_source("src", parse_source("src", {"type": "postgres", **spec}))


def test_sessions_are_read_only_with_timeouts(pg_database):
    run_sql(pg_database, "CREATE TABLE t (a integer)")
    conn = _connector({"dsn": pg_database, "timeout_s": 1.5}).connect()
    try:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1500ms"
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SHOW jit").fetchone()[0] == "off"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE t2 (a integer)")
    finally:
        conn.close()
    with psycopg.connect(pg_database) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    # a DSN's own options are kept, but cannot turn read-only off
    dsn = pg_database + "?options=-c%20default_transaction_read_only%3Doff%20-c%20search_path%3Dfoo"
    conn = _connector({"dsn": dsn}).connect()
    try:
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SHOW search_path").fetchone()[0] == "foo"
    finally:
        conn.close()


def test_options_keys_and_describe_hide_the_password(pg_database):
    from dsa.errors import scrub

    database = pg_database.rsplit("/", 1)[1]
    c = _connector({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "s3cret-pw", "database": database,
                    "sslmode": "disable"})
    assert c.describe() == f"postgres at 127.0.0.1:5432/{database}"
    conn = c.connect()
    try:
        assert conn.info.dbname == database and conn.info.user == "postgres"
        assert conn.pgconn.ssl_in_use is False
    finally:
        conn.close()
    assert scrub("pw is s3cret-pw") == "pw is ***"
    d = _connector({"dsn": "postgresql://u:dsn-secret-pw@db.example:6543/prod?sslmode=require"})
    assert d.describe() == "postgres at db.example:6543/prod"
    assert scrub("x dsn-secret-pw y") == "x *** y"
    # explicit keys win over the DSN's
    assert _connector({"dsn": "postgresql://u@a:1/b", "host": "c", "database": "d"}).describe() == "postgres at c:1/d"


def test_extraction_reports_tables_done(pg_database):
    run_sql(pg_database, "".join(f"CREATE TABLE t{i} (a integer);" for i in range(30)))
    seen = []
    _connector({"dsn": pg_database}).extract("run", lambda done, total, what="": seen.append((done, total, what)))
    tables = [s for s in seen if s[2] == "tables"]
    assert tables[-1][:2] == (30, 30)
    assert [s[0] for s in tables] == sorted(s[0] for s in tables)


# -- errors a user can cause: one line naming the source, no traceback ------------------------

def _scan_error(dsa_cli, tmp_path, spec: str, name: str = "src"):
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  {name}: {spec}\n")
    r = dsa_cli("scan", name)
    assert "Traceback" not in r.stderr
    # a plaintext password in dsa.yaml adds its own warning line (dsa.config.warn_plaintext)
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1, r.stderr
    return r.returncode, lines[0]


def test_unreachable_port(dsa_cli, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, line = _scan_error(dsa_cli, tmp_path, f"{{type: postgres, host: 127.0.0.1, port: {port}, user: postgres, "
                                                f"database: test, connect_timeout_s: 2}}")
    assert code == 1
    assert line == f"error: cannot connect to source 'src' (postgres at 127.0.0.1:{port}/test): Connection refused"


def test_silent_server_times_out(dsa_cli, tmp_path):
    """A host that accepts the connection but never answers: connect_timeout ends the wait."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever replies
        port = silent.getsockname()[1]
        code, line = _scan_error(dsa_cli, tmp_path, f"{{type: postgres, host: 127.0.0.1, port: {port}, user: postgres, "
                                                    f"database: test, connect_timeout_s: 1}}")
    assert code == 1
    assert line == f"error: cannot connect to source 'src' (postgres at 127.0.0.1:{port}/test): connection timeout expired"


def test_unresolvable_host(dsa_cli, tmp_path):
    code, line = _scan_error(dsa_cli, tmp_path, "{type: postgres, host: no-such-host.invalid, user: postgres}")
    assert code == 1
    assert line.startswith("error: cannot connect to source 'src' (postgres at no-such-host.invalid:5432/postgres): "
                           "failed to resolve host 'no-such-host.invalid'")


def test_missing_database(dsa_cli, tmp_path):
    code, line = _scan_error(dsa_cli, tmp_path, "{type: postgres, dsn: 'postgresql://postgres:pw-xyz@127.0.0.1:5432/dsa_no_such_db'}")
    assert code == 1
    assert line == ("error: cannot connect to source 'src' (postgres at 127.0.0.1:5432/dsa_no_such_db): "
                    'database "dsa_no_such_db" does not exist')


def test_unknown_role(dsa_cli, tmp_path):
    code, line = _scan_error(dsa_cli, tmp_path, "{type: postgres, host: 127.0.0.1, user: dsa_no_such_role_x, password: pw-abc}")
    assert line == ("error: cannot connect to source 'src' (postgres at 127.0.0.1:5432/dsa_no_such_role_x): "
                    'role "dsa_no_such_role_x" does not exist') and code == 1


def test_unknown_source(dsa_cli, tmp_path):
    (tmp_path / "dsa.yaml").write_text("sources:\n  known: {type: postgres, host: 127.0.0.1}\n")
    r = dsa_cli("scan", "nosuch")
    assert r.returncode == 2
    assert r.stderr.strip() == "error: unknown source 'nosuch' (known: known)"


def test_wrong_password(dsa_cli, tmp_path):
    """The test server trusts 127.0.0.1 (any password is accepted), so a wrong password cannot be
    provoked there: a minimal server speaking the Postgres protocol asks for the password and
    answers as Postgres does when it is wrong (SQLSTATE 28P01)."""
    with fake_postgres_rejecting_password() as port:
        code, line = _scan_error(dsa_cli, tmp_path, f"{{type: postgres, host: 127.0.0.1, port: {port}, user: alice, "
                                                    f"password: 'Wr0ng-pass', database: prod}}")
    assert code == 1
    assert line == (f"error: cannot connect to source 'src' (postgres at 127.0.0.1:{port}/prod): "
                    'password authentication failed for user "alice"')
    assert "Wr0ng-pass" not in line


@contextmanager
def fake_postgres_rejecting_password():
    import socket
    import struct
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]

    def read_message(conn, typed):
        head = conn.recv(5 if typed else 4, socket.MSG_WAITALL)
        if len(head) < (5 if typed else 4):
            return None
        length = struct.unpack("!i", head[-4:])[0]
        body = conn.recv(length - 4, socket.MSG_WAITALL) if length > 4 else b""
        return head[:1] if typed else struct.unpack("!i", body[:4])[0]

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                code = read_message(conn, typed=False)
                while code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not offered
                    conn.sendall(b"N")
                    code = read_message(conn, typed=False)
                conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
                read_message(conn, typed=True)  # the PasswordMessage
                fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"alice\"\0\0"
                conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(timeout=5)


def test_a_failing_catalog_query_fails_the_run_with_one_line(pg_database, tmp_path, monkeypatch):
    from dsa import queries
    from dsa.errors import SourceError

    real = queries.text
    monkeypatch.setattr(queries, "text", lambda name: "SELECT no_such_column FROM pg_class"
                        if name == "postgres/constraints" else real(name))
    store = Store(tmp_path / "store")
    with pytest.raises(SourceError) as err:
        scan(store, Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": pg_database})}), "pg")
    database = pg_database.rsplit("/", 1)[1]
    assert str(err.value) == (f"source 'pg' (postgres at 127.0.0.1:5432/{database}): catalog query constraints "
                              'failed: column "no_such_column" does not exist')
    (run,) = store.manifests()
    assert run["status"] == "failed" and run["error"] == str(err.value)


def test_include_schema_patterns(rich, tmp_path):
    _, _, dsn = rich
    store = Store(tmp_path / "store")
    spec = {"type": "postgres", "dsn": dsn, "include": {"schemas": ["re*", "select"]}, "exclude": {"tables": ["ref.*"]}}
    result = scan(store, Config(sources={"pg": parse_source("pg", spec)}), "pg")
    con = store.connect()
    assert sorted(r[0] for r in con.execute("SELECT qualified_name FROM latest_table_metadata").fetchall()) == [
        "pg.select.from"]
    assert sorted(r[0] for r in con.execute("SELECT schema_name FROM latest_schema_metadata").fetchall()) == ["ref", "select"]
    assert (result.table_count, result.column_count) == (1, 1)


def test_inherits_children_name_their_parent(pg_database, tmp_path):
    """Sakila's port keeps payments in INHERITS children; a child of two parents names the first."""
    run_sql(pg_database, """
        CREATE TABLE payment (id int, amount numeric(5,2));
        CREATE TABLE payment_p2022_01 () INHERITS (payment);
        CREATE TABLE audit (who text);
        CREATE TABLE payment_audited () INHERITS (payment, audit);
    """)
    store = Store(tmp_path / "store")
    result = scan(store, Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": pg_database})}), "pg")
    assert result.status == "success", result.errors
    con = store.connect()
    with psycopg.connect(pg_database) as pg:  # the engine's own answer: pg_inherits, first parent
        expected = dict(pg.execute("SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                   "JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhseqno = 1").fetchall())
    got = {r["table_name"]: (r["table_type"], r["parent_table"]) for r in rows(con, "SELECT * FROM latest_table_metadata")}
    assert got == {"payment": ("table", None), "audit": ("table", None),
                   "payment_p2022_01": ("table", f"pg.public.{expected['payment_p2022_01']}"),
                   "payment_audited": ("table", f"pg.public.{expected['payment_audited']}")}
    assert table(con, "public", "payment_audited")["custom"]["inherits"] == [["public", "payment"], ["public", "audit"]]
    assert "inherits" not in table(con, "public", "payment")["custom"]
    con.close()


# -- the quality and diff contracts --------------------------------------------------------

class PostgresDb(EngineDb):
    engine = dialect = "postgres"
    mark = "%s"
    schema = "public"

    def __init__(self, dsn):
        self.dsn = dsn
        self.spec = {"type": "postgres", "dsn": dsn}

    def connect(self):
        return psycopg.connect(self.dsn)


class TestPostgresQuality(QualityContract, DiffContract):
    exotic = [("j", "json", "json"), ("jb", "jsonb", "json"), ("a", "int[]", "array"), ("b", "bytea", "binary"),
              ("x", "xml", "xml"), ("p", "point", "geometry"), ("r", "int4range", "other")]
    exotic_lengths = {"b": (1, 2), "x": (4, 8)}

    @pytest.fixture
    def db(self, pg_database):
        return PostgresDb(pg_database)

    def make_exotic(self, db, cols):
        db.execute("CREATE TABLE x (id int, j json, jb jsonb, a int[], b bytea, x xml, p point, r int4range)",
                   """INSERT INTO x VALUES
                      (1, '{"a":1}', '{"a":1}', '{1,2}', '\\xabcd', '<a/>', '(1,2)', '[1,3)'),
                      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                      (3, '[1]', '[1]', '{}', '\\x00', '<b>t</b>', '(0,0)', 'empty')""")

    def make_orphans(self, db, customers, orders):
        """A NOT VALID foreign key: the rows were there before it."""
        db.execute("CREATE TABLE customers (id int PRIMARY KEY)", "CREATE TABLE orders (id int PRIMARY KEY, customer_id int)")
        conn = db.connect()
        with conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO customers VALUES (%s)", [(c,) for c in customers])
            cur.executemany("INSERT INTO orders VALUES (%s, %s)", list(enumerate(orders, 1)))
            cur.execute("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers NOT VALID")

    def test_sample_matches_python_on_the_same_rows(self, db):
        """Each column's statement draws the seeded sample again: every one must see the same rows."""
        data = table_rows(3000, seed=11)
        db.create(TABLE, COLUMNS, data)
        result = profile(self.source(db), "public", sample=Sample(percent=30))
        assert result.table["sample_method"] == "bernoulli"
        with psycopg.connect(db.dsn) as conn:
            drawn = conn.execute(sql.SQL("SELECT * FROM {} TABLESAMPLE BERNOULLI (30) REPEATABLE (42)").format(
                sql.Identifier(TABLE))).fetchall()
        assert result.table["sample_rows"] == len(drawn)
        assert_matches(result, expected(drawn, top_k=5))

    def test_columns_read_one_snapshot(self, db):
        """The column statements run on two sessions; rows committed meanwhile are seen by none of them."""
        data = table_rows(20000, seed=3)
        db.create(TABLE, COLUMNS, data)
        stop = threading.Event()

        def insert() -> None:
            with psycopg.connect(db.dsn, autocommit=True) as conn:
                while not stop.is_set():
                    conn.execute(sql.SQL("INSERT INTO {} (id, word) VALUES (0, 'new')").format(sql.Identifier(TABLE)))

        writer = threading.Thread(target=insert)
        writer.start()
        try:
            result = profile(self.source(db), "public", top_k=5)
        finally:
            stop.set()
            writer.join()
        totals = {c["column_name"]: c["total_count"] for c in result.columns}
        nulls = {c["column_name"]: c["null_count"] for c in result.columns}
        rows_seen = result.table["row_count"]
        assert rows_seen >= 20000 and set(totals.values()) == {rows_seen}
        # the columns the writer leaves NULL count every inserted row as a null: the same rows everywhere
        assert nulls["amount"] - nulls["word"] == rows_seen - 20000 + sum(1 for r in data if r[2] is None) \
            - sum(1 for r in data if r[1] is None)


def test_profile_values_as_the_engine_gives_them(pg_database, tmp_path):
    """Decimals keep their scale and every digit; text min/max follow the column's collation:
    each checked against the engine's own SQL."""
    from dsa.quality import quality

    run_sql(pg_database, """
        CREATE TABLE prices (price numeric(5,2), big numeric(40,10), name text COLLATE "C", label text);
        INSERT INTO prices VALUES (0, 12345678901234567890.1234567890, 'b', 'b'),
                                  (9.5, 12345678901234567890.1234567890, 'B', 'B'), (NULL, -1.5, 'a', 'a');
    """)
    store = Store(tmp_path / "store")
    config = Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": pg_database})})
    assert scan(store, config, "pg").status == "success"
    assert quality(store, config, "pg", sample="100%").status == "success"
    with psycopg.connect(pg_database) as pg:
        engine = {c: pg.execute(sql.SQL("SELECT count(DISTINCT {c}), min({c})::text, max({c})::text FROM prices").format(
            c=sql.Identifier(c))).fetchone() for c in ("price", "big", "name", "label")}
        top_big = pg.execute("SELECT big::text, count(*)::int FROM prices GROUP BY big ORDER BY count(*) DESC, big LIMIT 1"
                             ).fetchone()
    con = store.connect()
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT column_name, distinct_count, min_value, max_value FROM latest_column_quality_metrics").fetchall()}
    assert got == engine
    assert got["price"][1] == "0.00" and got["big"][2] == "12345678901234567890.1234567890"
    assert con.execute("SELECT value, count FROM latest_column_top_values WHERE column_name = 'big' AND rank = 1"
                       ).fetchone() == top_big


def test_every_type_postgres_groups_is_profiled(pg_database, tmp_path):
    """The sample databases' types (pagila's uuid, tsvector, text[], mpaa_rating enum, money,
    ranges, bytea, jsonb): distinct count, min, max and top value are the engine's own answers;
    only json, which Postgres cannot compare, is skipped, with the engine's reason."""
    from dsa.quality import quality

    run_sql(pg_database, """
        CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
        CREATE TABLE film (id int, u uuid, ft tsvector, tags text[], rating mpaa_rating, cost money,
                           span int4range, raw bytea, doc jsonb, plain json);
        INSERT INTO film VALUES
          (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a fat cat', '{Trailers,Commentaries}', 'PG', 1.5, '[1,3)',
           '\\xabcd', '{"a": 1}', '{"a": 1}'),
          (2, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'cat', '{}', 'R', 0.99, 'empty', '\\x00', '[1, 2]', '[]'),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (4, '00000000-0000-0000-0000-000000000001', 'a fat cat', '{Trailers,Commentaries}', 'G', 0, '[2,)',
           '\\xabcd', '{"a": 1}', '{"a": 1}');
    """)
    store = Store(tmp_path / "store")
    config = Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": pg_database})})
    assert scan(store, config, "pg").status == "success"
    result = quality(store, config, "pg", sample="100%")
    # what the engine refused: json equality, money as a double, TRIM of a tsvector
    assert {c: sorted(m) for c, m in result.skipped.items()} == {
        "pg.public.film.plain": ["distinct", "min_max", "top_values"], "pg.public.film.cost": ["decimal_measures"],
        "pg.public.film.ft": ["string_measures"]}
    assert "equality operator" in result.skipped["pg.public.film.plain"]["distinct"]
    assert "with 5 metrics skipped on 3 columns" in result.summary()
    con = store.connect()
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT column_name, distinct_count, min_value, max_value, null_count FROM latest_column_quality_metrics").fetchall()}
    tops = dict(con.execute("SELECT column_name, value FROM latest_column_top_values WHERE rank = 1").fetchall())
    with psycopg.connect(pg_database) as pg:
        for c in ("u", "ft", "tags", "rating", "cost", "span", "raw", "doc"):
            q = sql.Identifier(c)
            engine = pg.execute(sql.SQL(
                "SELECT count(DISTINCT {c}), (SELECT f.{c}::text FROM film f WHERE f.{c} IS NOT NULL ORDER BY f.{c} LIMIT 1), "
                "(SELECT f.{c}::text FROM film f WHERE f.{c} IS NOT NULL ORDER BY f.{c} DESC LIMIT 1), "
                "count(*) - count({c}) FROM film").format(c=q)).fetchone()
            assert got[c] == engine, c
            top = pg.execute(sql.SQL("SELECT f.{c}::text FROM film f WHERE f.{c} IS NOT NULL GROUP BY f.{c} "
                                     "ORDER BY count(*) DESC, f.{c} LIMIT 1").format(c=q)).fetchone()[0]
            assert tops[c] == top, c
    assert got["tags"][1:3] == ("{}", "{Trailers,Commentaries}") and got["cost"][1] == "$0.00"
    assert got["plain"][0] is None and got["plain"][3] == 1


def test_quartiles_keep_every_digit(pg_database, tmp_path):
    """numeric(40,10) quartiles as the engine writes them: four values one ten-billionth apart
    (one double) and their percentile_disc, each checked against the engine's own SQL."""
    from dsa.quality import quality

    run_sql(pg_database, """
        CREATE TABLE ledger (amount numeric(40,10));
        INSERT INTO ledger VALUES (12345678901234567890.1234567890), (12345678901234567890.1234567891),
            (12345678901234567890.1234567892), (12345678901234567890.1234567893), (-1.5), (NULL);
    """)
    store = Store(tmp_path / "store")
    config = Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": pg_database})})
    assert scan(store, config, "pg").status == "success"
    assert quality(store, config, "pg", sample="100%").status == "success"
    with psycopg.connect(pg_database) as pg:
        engine = pg.execute("SELECT percentile_disc(0.25) WITHIN GROUP (ORDER BY amount)::text, "
                            "percentile_disc(0.5) WITHIN GROUP (ORDER BY amount)::text, "
                            "percentile_disc(0.75) WITHIN GROUP (ORDER BY amount)::text FROM ledger").fetchone()
    got = store.connect().execute("SELECT q1_value, median_value, q3_value FROM latest_column_quality_metrics").fetchone()
    assert got == engine == ("12345678901234567890.1234567890", "12345678901234567890.1234567891",
                             "12345678901234567890.1234567892")
