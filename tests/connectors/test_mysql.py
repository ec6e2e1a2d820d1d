"""The mysql connector on the real MariaDB server: the contract, exotic types and odd names."""

from __future__ import annotations

import json
import secrets

import pytest

from dsa.config import Config, parse_source
from dsa.errors import SourceError
from dsa.scan import scan
from dsa.store import Store
from tests.conftest import MYSQL
from tests.connectors.contract import ConnectorContract
from tests.connectors.quality_contract import DiffContract, EngineDb, QualityContract

pytestmark = pytest.mark.mysql

DDL = [
    "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, name VARCHAR(50) NULL, "
    "score DECIMAL(10,2) DEFAULT 0)",
    "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, note TEXT, "
    "CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers(id))",
    "CREATE INDEX orders_customer_idx ON orders (customer_id)",
    'CREATE TABLE `odd name.with/dots` (`Col "quoted"` INT, `ünïcode` TEXT)',
    "CREATE VIEW order_summary AS SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id",
]


def run_ddl(admin, database: str, statements: list[str]) -> None:
    with admin.cursor() as cur:
        cur.execute(f"USE `{database}`")
        for statement in statements:
            cur.execute(statement)


def dsn(database: str = "", user: str = "root", password: str = "", port: int = MYSQL["port"]) -> str:
    auth = f"{user}:{password}" if password else user
    return f"mysql://{auth}@{MYSQL['host']}:{port}/{database}"


class TestMysql(ConnectorContract):
    types = {"customers.id": "int(11)", "customers.email": "varchar(100)", "customers.score": "decimal(10,2)"}

    @pytest.fixture
    def source(self, mysql_admin, mysql_database):
        run_ddl(mysql_admin, mysql_database, DDL)
        self.schema_name = mysql_database
        return {"type": "mysql", "dsn": dsn(mysql_database)}


EXOTIC = [
    # odd identifiers: backticks, quotes, spaces, Unicode, reserved words
    "CREATE TABLE `select` (`from` INT PRIMARY KEY, `back``tick` INT, `two words` VARCHAR(5), `名前` TEXT, "
    "`it's \"q\"` INT) COMMENT 'reserved words'",
    # exotic types
    "CREATE TABLE exotic ("
    " id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,"
    " price DECIMAL(12,2) NOT NULL DEFAULT 1.50 COMMENT 'gross price',"
    " label VARCHAR(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT 'it''s',"
    " mood ENUM('happy','sad') DEFAULT 'sad',"
    " tags SET('a','b','c'),"
    " doc JSON,"
    " place POINT NOT NULL,"
    " shape GEOMETRY,"
    " flag BOOLEAN DEFAULT TRUE,"
    " born YEAR,"
    " raw VARBINARY(16),"
    " body TEXT,"
    " total DECIMAL(14,2) AS (price * 2) VIRTUAL,"
    " code VARCHAR(50) AS (upper(label)) STORED,"
    " updated TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,"
    " CHECK (price >= 0),"
    " UNIQUE KEY label_mood (label, mood),"
    " KEY body_prefix (body(10)),"
    " FULLTEXT KEY body_ft (body),"
    " SPATIAL KEY place_sp (place)"
    ") ENGINE=InnoDB COMMENT 'all the types'",
    # composite and self-referencing keys, with actions
    "CREATE TABLE parent (a INT, b INT, PRIMARY KEY (a, b))",
    "CREATE TABLE child (id INT PRIMARY KEY, pa INT, pb INT, boss INT,"
    " CONSTRAINT child_parent FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE ON UPDATE SET NULL,"
    " CONSTRAINT child_boss FOREIGN KEY (boss) REFERENCES child (id))",
    # partitions
    "CREATE TABLE events (id INT NOT NULL, y INT NOT NULL, PRIMARY KEY (id, y))"
    " PARTITION BY RANGE (y) (PARTITION p2023 VALUES LESS THAN (2024), PARTITION pmax VALUES LESS THAN MAXVALUE)",
    "INSERT INTO events VALUES (1, 2023), (2, 2024), (3, 2025)",
]


@pytest.fixture
def exotic(mysql_admin, mysql_database, tmp_path):
    other = f"{mysql_database}_x"
    with mysql_admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{other}`")
    try:
        run_ddl(mysql_admin, mysql_database, EXOTIC)
        run_ddl(mysql_admin, other, [
            f"CREATE TABLE remote (id INT PRIMARY KEY, pa INT, pb INT,"
            f" FOREIGN KEY (pa, pb) REFERENCES `{mysql_database}`.parent (a, b))",
        ])
        store = Store(tmp_path / "store")
        source = {"type": "mysql", "host": MYSQL["host"], "port": MYSQL["port"], "user": "root",
                  "include": {"schemas": [mysql_database, other]}}
        result = scan(store, Config(sources={"m": parse_source("m", source)}), "m")
        assert result.status == "success", result.errors
        con = store.connect()
        yield mysql_database, other, con, result
        con.close()
    finally:
        with mysql_admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{other}`")


def _cols(con, schema, table):
    rows = con.execute(
        "SELECT column_name, data_type, type_family, is_nullable, column_default, is_identity, is_generated, "
        "generation_expression, comment, custom_attributes FROM latest_column_metadata "
        "WHERE schema_name = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
    return {r[0]: r[1:] for r in rows}


def _table(con, schema, table):
    row = con.execute("SELECT primary_key, comment, row_estimate, size_bytes, custom_attributes FROM latest_table_metadata "
                      "WHERE schema_name = ? AND table_name = ?", [schema, table]).fetchone()
    return row[0] and json.loads(row[0]), row[1], row[2], row[3], json.loads(row[4])


def test_every_database_without_system_ones(exotic):
    db, other, con, result = exotic
    schemas = {r[0] for r in con.execute("SELECT schema_name FROM latest_schema_metadata").fetchall()}
    assert schemas == {db, other}
    assert result.table_count == 6


def test_odd_identifiers(exotic):
    db, _, con, _ = exotic
    cols = _cols(con, db, "select")
    assert list(cols) == ["from", "back`tick", "two words", "名前", "it's \"q\""]
    pk, comment, *_ = _table(con, db, "select")
    assert pk == ["from"] and comment == "reserved words"


def test_exotic_types(exotic):
    db, _, con, _ = exotic
    cols = _cols(con, db, "exotic")
    types = {name: (c[0], c[1]) for name, c in cols.items()}
    assert types == {
        "id": ("bigint(20) unsigned", "integer"),
        "price": ("decimal(12,2)", "decimal"),
        "label": ("varchar(40)", "string"),
        "mood": ("enum('happy','sad')", "enum"),
        "tags": ("set('a','b','c')", "enum"),
        "doc": ("longtext", "json"),  # MariaDB's JSON is longtext CHECK (json_valid(doc))
        "place": ("point", "geometry"),
        "shape": ("geometry", "geometry"),
        "flag": ("tinyint(1)", "boolean"),
        "born": ("year(4)", "integer"),
        "raw": ("varbinary(16)", "binary"),
        "body": ("text", "string"),
        "total": ("decimal(14,2)", "decimal"),
        "code": ("varchar(50)", "string"),
        "updated": ("timestamp", "timestamp"),
    }
    assert cols["id"][4] is True and json.loads(cols["id"][8])["unsigned"] is True
    assert cols["price"][3] == "1.50" and cols["price"][7] == "gross price" and cols["price"][2] is False
    assert cols["label"][3] == "'it''s'"  # defaults are SQL text, as MariaDB writes them
    assert json.loads(cols["label"][8])["character_set"] == "latin1"
    assert json.loads(cols["label"][8])["collation"] == "latin1_swedish_ci"
    assert cols["mood"][3] == "'sad'"
    assert cols["tags"][3] is None and cols["tags"][2] is True
    assert (cols["total"][5], cols["total"][6]) == (True, "`price` * 2")
    assert (cols["code"][5], cols["code"][6]) == (True, "ucase(`label`)")
    assert json.loads(cols["code"][8])["stored"] is True and json.loads(cols["total"][8])["stored"] is False
    assert json.loads(cols["updated"][8])["on_update"] == "current_timestamp"
    assert cols["updated"][3] == "current_timestamp()"


def test_indexes_and_checks(exotic):
    db, _, con, _ = exotic
    _, comment, _, _, custom = _table(con, db, "exotic")
    assert comment == "all the types"
    idx = {i["name"]: (i["columns"], i["unique"], i["method"], i["prefix_lengths"]) for i in custom["indexes"]}
    assert idx == {
        "PRIMARY": (["id"], True, "btree", {}),
        "label_mood": (["label", "mood"], True, "btree", {}),
        "body_prefix": (["body"], False, "btree", {"body": 10}),
        "body_ft": (["body"], False, "fulltext", {}),
        "place_sp": (["place"], False, "spatial", {"place": 32}),
    }
    assert [(u["name"], u["columns"]) for u in custom["unique_constraints"]] == [("label_mood", ["label", "mood"])]
    checks = {c["name"]: (c["definition"], c["columns"]) for c in custom["check_constraints"]}
    assert checks == {"CONSTRAINT_1": ("`price` >= 0", []), "doc": ("json_valid(`doc`)", ["doc"])}


def test_composite_self_and_cross_database_keys(exotic):
    db, other, con, _ = exotic
    pk, *_ , custom = _table(con, db, "child")
    fks = {f["name"]: (f["columns"], f["ref_schema"], f["ref_table"], f["ref_columns"], f["on_update"], f["on_delete"])
           for f in custom["foreign_keys"]}
    assert fks == {
        "child_parent": (["pa", "pb"], db, "parent", ["a", "b"], "SET NULL", "CASCADE"),
        "child_boss": (["boss"], db, "child", ["id"], "RESTRICT", "RESTRICT"),
    }
    assert _table(con, db, "parent")[0] == ["a", "b"]
    _, *_, remote = _table(con, other, "remote")
    [fk] = remote["foreign_keys"]
    assert (fk["columns"], fk["ref_schema"], fk["ref_table"], fk["ref_columns"]) == (["pa", "pb"], db, "parent", ["a", "b"])
    target = con.execute("SELECT foreign_key FROM latest_column_metadata WHERE schema_name = ? AND column_name = 'pb'",
                         [other]).fetchone()[0]
    assert target == f"m.{db}.parent.b"


def test_partitions_rows_and_sizes(exotic):
    db, _, con, _ = exotic
    pk, _, rows, size, custom = _table(con, db, "events")
    assert pk == ["id", "y"]
    part = custom["partitioning"]
    assert (part["method"], part["expression"]) == ("RANGE", "`y`")
    assert [(p["name"], p["description"], p["row_estimate"]) for p in part["partitions"]] == [
        ("p2023", "2024", 1), ("pmax", "MAXVALUE", 2)]
    assert rows == 3 and size > 0
    assert custom["engine"] == "InnoDB"


def test_columns_of_a_table_cut_short_are_read_one_per_row(exotic, mysql_database, tmp_path, monkeypatch):
    # columns.sql sends a table's columns in one GROUP_CONCAT row; with group_concat_max_len too
    # small for them the server cuts rows short, and the connector reads one row per column instead
    from dsa.connectors import mysql

    db, _, con, _ = exotic
    seen = []
    columns = mysql._columns
    monkeypatch.setattr(mysql, "GROUP_CONCAT_MAX_LEN", 300)  # about two columns' worth
    monkeypatch.setattr(mysql, "_columns", lambda rows, mariadb: seen.append(len(rows)) or columns(rows, mariadb))
    store = Store(tmp_path / "cut")
    config = Config(sources={"m": parse_source("m", {"type": "mysql", "dsn": dsn(db)})})
    assert scan(store, config, "m").status == "success"
    query = ("SELECT table_name, column_name, data_type, type_family, is_nullable, column_default, is_identity, "
             "is_generated, generation_expression, comment, is_primary_key, is_unique, foreign_key, indexes, "
             "custom_attributes FROM latest_column_metadata WHERE schema_name = ? ORDER BY table_name, ordinal_position")
    cut = store.connect().execute(query, [db]).fetchall()
    assert cut == con.execute(query, [db]).fetchall() and len(cut) == 28
    assert seen == [5, 28]  # a row per table (5 tables), then a row per column


def test_queries_for_kinds_not_found_are_skipped(mysql_admin, mysql_database, tmp_path, monkeypatch):
    # views, partitions and foreign key actions are read only when an earlier query found some
    from dsa.connectors import mysql

    run_ddl(mysql_admin, mysql_database, ["CREATE TABLE plain (id INT PRIMARY KEY, v INT UNIQUE)"])
    ran = []
    texts = mysql.MysqlConnector._texts  # every catalog query but the columns' goes through it
    monkeypatch.setattr(mysql.MysqlConnector, "_texts", lambda self, conn, q, p: ran.append(q) or texts(self, conn, q, p))
    config = Config(sources={"m": parse_source("m", {"type": "mysql", "dsn": dsn(mysql_database)})})
    result = scan(Store(tmp_path / "store"), config, "m")
    assert (result.status, result.table_count, result.column_count) == ("success", 1, 2)
    assert sorted(ran) == ["checks", "constraints", "indexes", "schemas", "tables"]  # checks: on the other session
    run_ddl(mysql_admin, mysql_database, [
        "CREATE TABLE kid (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES plain (id) ON DELETE CASCADE)",
        "CREATE TABLE parts (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 2",
        "CREATE VIEW v AS SELECT id FROM plain"])
    ran.clear()
    store = Store(tmp_path / "store2")
    assert scan(store, config, "m").table_count == 4
    assert sorted(ran) == ["checks", "constraints", "indexes", "partitions", "references", "schemas", "tables", "views"]
    custom = json.loads(store.connect().execute(
        "SELECT custom_attributes FROM latest_table_metadata WHERE table_name = 'kid'").fetchone()[0])
    assert [(f["ref_table"], f["on_delete"]) for f in custom["foreign_keys"]] == [("plain", "CASCADE")]


def test_columns_rows_cut_short_are_seen():
    from dsa.connectors.mysql import _columns

    whole = '[["s","t","a",1,"int(11)","NO",null,"","","","int",null,null,null,10,0]]'
    frame = _columns([(whole, 1)], mariadb=True)
    assert frame.select("column_name", "ordinal_position", "is_nullable", "comment").rows() == [("a", 1, False, None)]
    assert _columns([(whole[:40] + "]", 1)], mariadb=True) is None  # cut inside a column: not JSON
    assert _columns([(whole, 2)], mariadb=True) is None  # cut after a column: one short


def test_connection_errors_name_the_source(mysql_admin, mysql_database, tmp_path):
    user = f"dsa_u_{secrets.token_hex(4)}"
    password = f"pw-{secrets.token_hex(6)}"
    with mysql_admin.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}'")
    try:
        store = Store(tmp_path / "store")
        cases = {
            "wrong_pw": {"type": "mysql", "dsn": dsn(mysql_database, user, "not-" + password)},
            "wrong_port": {"type": "mysql", "host": "127.0.0.1", "port": 1, "user": user, "password": password,
                           "connect_timeout_s": 2},
        }
        config = Config(sources={n: parse_source(n, s) for n, s in cases.items()})
        with pytest.raises(SourceError) as info:
            scan(store, config, "wrong_pw")
        text = str(info.value)
        assert text.startswith(f"cannot connect to source 'wrong_pw' (mysql at 127.0.0.1:3306/{mysql_database}): ")
        assert "Access denied" in text and password not in text and "\n" not in text
        with pytest.raises(SourceError) as info:
            scan(store, config, "wrong_port")
        text = str(info.value)
        assert text.startswith("cannot connect to source 'wrong_port' (mysql at 127.0.0.1:1): ")
        assert password not in text and "\n" not in text
        # the user sees no database: the scan succeeds with nothing in it
        ok = Config(sources={"ok": parse_source("ok", {"type": "mysql", "host": "127.0.0.1", "user": user,
                                                         "password": password})})
        result = scan(store, ok, "ok")
        assert (result.status, result.schema_count, result.table_count) == ("success", 0, 0)
    finally:
        with mysql_admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")


def test_describe_hides_the_password():
    options = parse_source("s", {"type": "mysql", "dsn": "mysql://u:sekrit-pw@db.example:3307/shop"})
    from dsa.connectors import open_source

    connector = open_source("s", options)
    assert connector.describe() == "mysql at db.example:3307/shop"
    assert connector.target()["password"] == "sekrit-pw"


def test_quality_profiles_mariadb(mysql_admin, mysql_database, tmp_path):
    from dsa.quality import quality

    run_ddl(mysql_admin, mysql_database, DDL + [
        "INSERT INTO customers VALUES (1, 'a@x', 'A', 1.5), (2, 'b@x', NULL, 2.5)",
        "INSERT INTO orders VALUES (10, 1, NULL), (11, 1, 'n'), (12, 2, NULL)"])
    store = Store(tmp_path / "store")
    config = Config(sources={"m": parse_source("m", {"type": "mysql", "dsn": dsn(mysql_database)})})
    scan(store, config, "m")
    result = quality(store, config, "m", sample="100%")
    assert result.status == "success", result.failed
    con = store.connect()
    rows = dict(con.execute("SELECT t.table_name, q.row_count FROM table_quality_metrics q "
                            "JOIN latest_table_metadata t ON t.qualified_name = q.table_qualified_name").fetchall())
    assert rows == {"customers": 2, "orders": 3, "odd name.with/dots": 0}
    note = con.execute("SELECT null_count FROM column_quality_metrics WHERE column_name = 'note'").fetchone()
    assert note == (2,)


def test_cli_wrong_port_is_one_line(dsa_cli, tmp_path):
    (tmp_path / "dsa.yaml").write_text(
        "sources:\n  shopdb: {type: mysql, dsn: 'mysql://reader:s3cret-pw@127.0.0.1:1/shop', connect_timeout_s: 2}\n")
    r = dsa_cli("scan", "shopdb")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    # the plaintext password in dsa.yaml earns its own warning line (dsa.config.warn_plaintext)
    warning, line = r.stderr.strip().splitlines()
    assert warning.startswith("warning: ") and "sources.shopdb.dsn holds a plaintext password" in warning
    assert "cannot connect to source 'shopdb' (mysql at 127.0.0.1:1/shop)" in line and "s3cret-pw" not in r.stderr


def test_view_column_types_as_a_default_session_sees_them(mysql_admin, mysql_database, tmp_path):
    # dsa raises group_concat_max_len for its columns query; a view's GROUP_CONCAT column must
    # still have the type a fresh session's information_schema reports
    run_ddl(mysql_admin, mysql_database, [
        "CREATE TABLE film (id INT, actor VARCHAR(20), notes LONGTEXT)",
        "CREATE VIEW film_list AS SELECT id, GROUP_CONCAT(actor) AS actors, JSON_ARRAYAGG(actor) AS js, "
        "max(notes) AS notes FROM film GROUP BY id"])
    import pymysql

    fresh = pymysql.connect(host=MYSQL["host"], port=MYSQL["port"], user="root", database=mysql_database)
    with fresh.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE()")
        expected = {(t, c): ty for t, c, ty in cur.fetchall()}
    fresh.close()
    store = Store(tmp_path / "store")
    config = Config(sources={"m": parse_source("m", {"type": "mysql", "dsn": dsn(mysql_database)})})
    assert scan(store, config, "m").status == "success"
    got = {(t, c): ty for t, c, ty, _ in store.connect().execute(
        "SELECT table_name, column_name, data_type, custom_attributes FROM latest_column_metadata").fetchall()}
    assert got == expected
    assert expected[("film_list", "actors")] != "longtext" and expected[("film_list", "notes")] == "longtext"


# -- the quality and diff contracts --------------------------------------------------------

class MysqlDb(EngineDb):
    engine = dialect = "mysql"
    mark = "%s"

    def __init__(self, database):
        self.schema = database
        self.spec = {"type": "mysql", "dsn": dsn(database)}

    def connect(self):
        import pymysql

        return pymysql.connect(**MYSQL, database=self.schema, charset="utf8mb4")


class TestMysqlQuality(QualityContract, DiffContract):
    specials = ()  # no NaN or infinity in a DOUBLE
    exotic = [("doc", "JSON", "json"), ("raw", "VARBINARY(16)", "binary"), ("shape", "GEOMETRY", "geometry")]
    exotic_lengths = {"raw": (2, 3), "doc": (8, 9)}

    @pytest.fixture
    def db(self, mysql_database):
        return MysqlDb(mysql_database)

    def make_exotic(self, db, cols):
        db.execute("CREATE TABLE x (id INT, doc JSON, raw VARBINARY(16), shape GEOMETRY)",
                   """INSERT INTO x VALUES (1, '{"a": 1}', X'6162', ST_GeomFromText('POINT(1 2)')),
                      (2, NULL, NULL, NULL), (3, '[1, 2, 3]', X'AABBCC', ST_GeomFromText('POINT(0 0)'))""")

    def make_orphans(self, db, customers, orders):
        """Rows inserted with the foreign key checks off."""
        db.execute("SET FOREIGN_KEY_CHECKS = 0", "CREATE TABLE customers (id INT PRIMARY KEY)",
                   "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, FOREIGN KEY (customer_id) REFERENCES customers (id))",
                   *[f"INSERT INTO customers VALUES ({c})" for c in customers],
                   *[f"INSERT INTO orders VALUES ({i}, {'NULL' if c is None else c})" for i, c in enumerate(orders, 1)])


def profiled_fully(tmp_path, database: str) -> Store:
    """The database scanned and profiled whole, with nothing skipped: the catalog."""
    from dsa.quality import quality

    store = Store(tmp_path / "store")
    config = Config(sources={"m": parse_source("m", {"type": "mysql", "dsn": dsn(database)})})
    assert scan(store, config, "m").status == "success"
    result = quality(store, config, "m", sample="100%")
    assert result.status == "success" and not result.skipped, result.skipped
    return store


def test_profile_values_as_the_engine_gives_them(mysql_admin, mysql_database, tmp_path):
    """A case-insensitive collation counts 'ACADEMY' and 'academy' once, tinyint(1) reads 0/1,
    decimals keep their scale and every digit: each checked against the engine's own SQL."""
    run_ddl(mysql_admin, mysql_database, [
        "CREATE TABLE film (title VARCHAR(40) COLLATE utf8mb4_general_ci, active TINYINT(1), "
        "price DECIMAL(5,2), big DECIMAL(40,10), pic BLOB, code BINARY(2))",
        "INSERT INTO film VALUES ('ACADEMY', 1, 0, 12345678901234567890.1234567890, 'ab', 'x'), "
        "('academy', 0, 9.5, 12345678901234567890.1234567890, 'ab', 'y'), ('Zorro', 1, 0.99, NULL, NULL, 'x'), "
        "('apple ', 1, NULL, -1.5, 'c', NULL)"])
    store = profiled_fully(tmp_path, mysql_database)
    with mysql_admin.cursor() as cur:
        cur.execute(f"USE `{mysql_database}`")
        engine = {}
        for c in ("title", "active", "price", "big", "pic", "code"):
            cur.execute(f"SELECT count(DISTINCT {c}), CAST(min({c}) AS CHAR), CAST(max({c}) AS CHAR) FROM film")
            engine[c] = cur.fetchone()
        cur.execute("SELECT CAST(big AS CHAR), count(*) FROM film WHERE big IS NOT NULL GROUP BY big "
                    "ORDER BY count(*) DESC, big LIMIT 1")
        top_big = cur.fetchone()
    con = store.connect()
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT column_name, distinct_count, min_value, max_value FROM latest_column_quality_metrics").fetchall()}
    assert got == engine
    assert got["title"][0] == 3 and got["active"][1:] == ("0", "1") and got["price"][1] == "0.00"
    assert got["big"][2] == "12345678901234567890.1234567890"
    assert con.execute("SELECT value, count FROM latest_column_top_values WHERE column_name = 'big' AND rank = 1"
                       ).fetchone() == top_big


def test_wide_tables_profile_in_batches(mysql_admin, mysql_database, tmp_path):
    """MariaDB names at most 64 WITH elements in a statement: 20 number columns (four each) are
    profiled in batches, every column with the engine's answer."""
    columns = ", ".join(f"c{i} INT" for i in range(20))
    run_ddl(mysql_admin, mysql_database, [
        f"CREATE TABLE wide (id INT PRIMARY KEY, {columns})",
        "INSERT INTO wide (id) SELECT seq FROM seq_1_to_30",
        "UPDATE wide SET c0 = id % 7, c19 = id % 3, c10 = id"])
    store = profiled_fully(tmp_path, mysql_database)
    got = dict(store.connect().execute(
        "SELECT column_name, distinct_count FROM latest_column_quality_metrics").fetchall())
    with mysql_admin.cursor() as cur:
        cur.execute(f"SELECT count(DISTINCT c0), count(DISTINCT c10), count(DISTINCT c19) FROM `{mysql_database}`.wide")
        assert (got["c0"], got["c10"], got["c19"]) == cur.fetchone()
    assert len(got) == 21 and got["c1"] == 0


def test_quartiles_keep_every_digit(mysql_admin, mysql_database, tmp_path):
    """decimal(40,10) quartiles as the engine writes them: the value at the percentile_disc rank in
    the engine's own order (MariaDB's PERCENTILE_DISC returns decimals cut to integers)."""
    import math

    run_ddl(mysql_admin, mysql_database, [
        "CREATE TABLE ledger (amount DECIMAL(40,10))",
        "INSERT INTO ledger VALUES (12345678901234567890.1234567890), (12345678901234567890.1234567891), "
        "(12345678901234567890.1234567892), (12345678901234567890.1234567893), (-1.5), (NULL)"])
    store = profiled_fully(tmp_path, mysql_database)
    engine = []
    with mysql_admin.cursor() as cur:
        cur.execute(f"SELECT count(amount) FROM `{mysql_database}`.ledger")
        n = cur.fetchone()[0]
        for p in (0.25, 0.5, 0.75):
            cur.execute(f"SELECT CAST(amount AS CHAR) FROM `{mysql_database}`.ledger WHERE amount IS NOT NULL "
                        f"ORDER BY amount LIMIT 1 OFFSET {math.ceil(p * n) - 1}")
            engine.append(cur.fetchone()[0])
    got = store.connect().execute("SELECT q1_value, median_value, q3_value FROM latest_column_quality_metrics").fetchone()
    assert got == tuple(engine) == ("12345678901234567890.1234567890", "12345678901234567890.1234567891",
                                    "12345678901234567890.1234567892")


def test_months_histogram_and_key_range_sample(mysql_admin, mysql_database, tmp_path):
    """Counts per month and per histogram bin from the running count, each against the engine's
    own GROUP BY; a 10% sample reads seeded ranges of the primary key, the same rows every time."""
    from dsa.quality import quality

    run_ddl(mysql_admin, mysql_database, [
        "CREATE TABLE sales (id INT PRIMARY KEY, sold DATE, amount INT)",
        "INSERT INTO sales SELECT seq, DATE '2024-01-01' + INTERVAL (seq * 7 % 400) DAY, "
        "CASE WHEN seq % 10 = 0 THEN NULL ELSE seq * 37 % 1000 END FROM seq_1_to_5000"])
    store = profiled_fully(tmp_path, mysql_database)
    con = store.connect()
    months = con.execute("SELECT period, count FROM latest_column_histograms WHERE column_name = 'sold' ORDER BY period").fetchall()
    bins = con.execute("SELECT count FROM latest_column_histograms WHERE column_name = 'amount' ORDER BY bin").fetchall()
    with mysql_admin.cursor() as cur:
        cur.execute(f"SELECT LEFT(sold, 7), count(*) FROM `{mysql_database}`.sales GROUP BY 1 ORDER BY 1")
        assert months == [tuple(r) for r in cur.fetchall()]
        cur.execute(f"SELECT min(amount), max(amount) FROM `{mysql_database}`.sales")
        lo, hi = cur.fetchone()
        cur.execute(f"SELECT LEAST(FLOOR((amount - {lo}) * 20 / ({hi} - {lo})), 19) b, count(*) "
                    f"FROM `{mysql_database}`.sales WHERE amount IS NOT NULL GROUP BY b ORDER BY b")
        assert [b[0] for b in bins] == [r[1] for r in cur.fetchall()]

    config = Config(sources={"m": parse_source("m", {"type": "mysql", "dsn": dsn(mysql_database)})})
    runs = [quality(store, config, "m", sample="10%") for _ in range(2)]
    assert all(r.status == "success" for r in runs)
    got = store.connect().execute(
        "SELECT m.run_id, t.sample_method, t.sample_seed, t.sample_rows, t.row_count, t.row_count_estimated, "
        "m.distinct_count, m.null_count "
        "FROM column_quality_metrics m JOIN table_quality_metrics t USING (run_id, table_qualified_name) "
        "WHERE m.column_name = 'amount' AND m.run_id IN (?, ?) ORDER BY m.run_id", [r.run_id for r in runs]).fetchall()
    assert [g[1:] for g in got][0] == [g[1:] for g in got][1]  # repeatable
    method, seed, rows, row_count, estimated, distinct, nulls = got[0][1:]
    assert (method, seed) == ("key_ranges", 42) and 300 <= rows <= 700
    # no count(*) of the whole table for a percentage: the estimate the scan read, labelled
    scanned = store.connect().execute("SELECT row_estimate FROM normalized_tables WHERE table_name = 'sales'").fetchall()
    assert scanned[-1][0] and (row_count, estimated) == (scanned[-1][0], True)
    from dsa.connectors.mysql import MysqlConnector

    connector = MysqlConnector("m", config.source("m"))
    conn = connector.connect()
    try:
        rel = connector.profile_relation(mysql_database, "sales")
        src, _ = connector.key_sample(conn, mysql_database, "sales", rel, 10.0,
                                      [{"column_name": "id", "type_family": "integer"}])
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*), count(DISTINCT amount), count(*) - count(amount) FROM {src.sql(dialect='mysql')}")
            assert cur.fetchone() == (rows, distinct, nulls)
    finally:
        conn.close()
