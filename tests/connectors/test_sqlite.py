import sqlite3
from datetime import date

import pytest

from dsa.quality import Sample
from quality_data import COLUMNS, profile
from tests.connectors.contract import ConnectorContract
from tests.connectors.quality_contract import DiffContract, EngineDb, QualityContract

DDL = '''
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, name VARCHAR(50),
                        score NUMERIC(10,2) DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), note TEXT);
CREATE INDEX orders_customer_idx ON orders(customer_id);
CREATE TABLE "odd name.with/dots" ("Col ""quoted""" INTEGER, "ünïcode" TEXT);
CREATE VIEW order_summary AS SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id;
'''


class TestSqlite(ConnectorContract):
    schema_name = "main"
    types = {"customers.id": "INTEGER", "customers.email": "VARCHAR(100)", "customers.score": "NUMERIC(10,2)"}

    @pytest.fixture
    def source(self, tmp_path):
        path = tmp_path / "ref.db"
        con = sqlite3.connect(path)
        con.executescript(DDL)
        con.close()
        return {"type": "sqlite", "path": str(path)}


def test_check_constraints_and_composite_keys(tmp_path, store):
    import json

    from dsa.config import Config, parse_source
    from dsa.scan import scan

    path = tmp_path / "c.db"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE a (x INTEGER, y INTEGER, v INTEGER CHECK (v > 0), PRIMARY KEY (x, y));
        CREATE TABLE b (id INTEGER PRIMARY KEY, ax INTEGER, ay INTEGER, parent INTEGER REFERENCES b,
                        FOREIGN KEY (ax, ay) REFERENCES a(x, y));
        """
    )
    con.close()
    scan(store, Config(sources={"s": parse_source("s", {"type": "sqlite", "path": str(path)})}), "s")
    con = store.connect()
    custom = dict(con.execute("SELECT table_name, custom_attributes FROM latest_table_metadata").fetchall())
    a, b = json.loads(custom["a"]), json.loads(custom["b"])
    assert [c["definition"] for c in a["check_constraints"]] == ["v > 0"]
    fks = sorted(b["foreign_keys"], key=lambda f: f["ref_table"])
    assert [(f["columns"], f["ref_table"], f["ref_columns"]) for f in fks] == [
        (["ax", "ay"], "a", ["x", "y"]),
        (["parent"], "b", ["id"]),
    ]
    pk = dict(con.execute("SELECT table_name, primary_key FROM latest_table_metadata").fetchall())
    assert json.loads(pk["a"]) == ["x", "y"]


class SqliteDb(EngineDb):
    engine = dialect = "sqlite"
    schema = "main"

    def __init__(self, path):
        self.path = path
        self.spec = {"type": "sqlite", "path": str(path)}

    def connect(self):
        return sqlite3.connect(self.path)

    def value(self, v):
        return v.isoformat() if isinstance(v, date) else v  # SQLite keeps dates as text


class TestSqliteQuality(QualityContract, DiffContract):
    specials = ("inf",)  # a NaN is stored as NULL
    exotic = [("b", "BLOB", "binary")]
    exotic_rows = [(1, b"ab"), (2, None), (3, b"\xaa\xbb\xcc")]
    exotic_lengths = {"b": (2, 3)}

    @pytest.fixture
    def db(self, tmp_path):
        return SqliteDb(tmp_path / "q.db")

    def test_tables_without_rowid_are_sampled_at_random(self, db):
        """A WITHOUT ROWID table cannot be hashed by rowid: the sample falls back to random()."""
        db.execute("CREATE TABLE w (id INTEGER PRIMARY KEY, word TEXT) WITHOUT ROWID",
                   *[f"INSERT INTO w VALUES ({i}, 'w{i % 7}')" for i in range(2000)])
        cols = [COLUMNS[0], COLUMNS[1]]
        result = profile(self.source(db), "main", "w", columns=cols, sample=Sample(percent=50))
        t = result.table
        assert (t["sample_method"], t["sample_seed"], t["row_count"], t["approximate"]) == ("random", None, 2000, True)
        assert 0 < t["sample_rows"] < 2000
        assert {c["column_name"]: c["total_count"] for c in result.columns} == {"id": t["sample_rows"], "word": t["sample_rows"]}
