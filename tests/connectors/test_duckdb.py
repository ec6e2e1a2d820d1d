"""The duckdb connector on real DuckDB files: the contract, nested types, attached databases."""

from __future__ import annotations

import json

import duckdb
import pytest

from dsa.config import Config, parse_source
from dsa.errors import SourceError
from dsa.scan import scan
from dsa.quality import Sample
from dsa.store import Store
from quality_data import COLUMNS, TABLE, profile, rows
from tests.connectors.contract import ConnectorContract
from tests.connectors.quality_contract import DiffContract, EngineDb, QualityContract

DDL = '''
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, name VARCHAR(50),
                        score DECIMAL(10,2) DEFAULT 0);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), note TEXT);
CREATE INDEX orders_customer_idx ON orders(customer_id);
CREATE TABLE "odd name.with/dots" ("Col ""quoted""" INTEGER, "ünïcode" TEXT);
CREATE VIEW order_summary AS SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id;
'''


def build(path, sql: str) -> str:
    con = duckdb.connect(str(path))
    con.execute(sql)
    con.close()
    return str(path)


class TestDuckdb(ConnectorContract):
    types = {"customers.id": "INTEGER", "customers.email": "VARCHAR", "customers.score": "DECIMAL(10,2)"}

    @pytest.fixture
    def source(self, tmp_path):
        return {"type": "duckdb", "path": build(tmp_path / "ref.duckdb", DDL)}


NESTED = '''
CREATE SCHEMA "Sales Dept";
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE "Sales Dept".nested (
    id BIGINT PRIMARY KEY CHECK (id > 0),
    s STRUCT(a INTEGER, "b c" VARCHAR), l INTEGER[], a3 DOUBLE[3], m MAP(VARCHAR, INTEGER),
    u UNION(num INTEGER, str VARCHAR), e mood, j JSON, h HUGEINT, ts TIMESTAMPTZ, iv INTERVAL, uu UUID,
    ls STRUCT(x INTEGER)[]);
CREATE UNIQUE INDEX nested_expr ON "Sales Dept".nested (id, lower(j::VARCHAR));
COMMENT ON TABLE "Sales Dept".nested IS 'nested types';
COMMENT ON COLUMN "Sales Dept".nested.s IS 'a struct';
CREATE TABLE "Sales Dept".self_ref (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES "Sales Dept".self_ref(id));
INSERT INTO "Sales Dept".nested (id) SELECT range + 1 FROM range(3);
'''


@pytest.fixture
def nested(tmp_path):
    main = build(tmp_path / "main.duckdb", NESTED)
    other = build(tmp_path / "other.duckdb", "CREATE TABLE t (x INTEGER PRIMARY KEY); CREATE SCHEMA s; CREATE TABLE s.u (y VARCHAR)")
    store = Store(tmp_path / "store")
    spec = {"type": "duckdb", "path": main, "attach": {"old db": other}}
    result = scan(store, Config(sources={"d": parse_source("d", spec)}), "d")
    assert result.status == "success", result.errors
    con = store.connect()
    yield con
    con.close()


def test_nested_types_and_families(nested):
    rows = nested.execute("SELECT column_name, data_type, type_family FROM latest_column_metadata "
                          "WHERE table_name = 'nested' ORDER BY ordinal_position").fetchall()
    assert rows == [
        ("id", "BIGINT", "integer"),
        ("s", 'STRUCT(a INTEGER, "b c" VARCHAR)', "struct"),
        ("l", "INTEGER[]", "array"),
        ("a3", "DOUBLE[3]", "array"),
        ("m", "MAP(VARCHAR, INTEGER)", "map"),
        ("u", "UNION(num INTEGER, str VARCHAR)", "struct"),
        ("e", "ENUM('happy', 'sad')", "enum"),
        ("j", "JSON", "json"),
        ("h", "HUGEINT", "integer"),
        ("ts", "TIMESTAMP WITH TIME ZONE", "timestamp"),
        ("iv", "INTERVAL", "interval"),
        ("uu", "UUID", "uuid"),
        ("ls", "STRUCT(x INTEGER)[]", "array"),
    ]


def test_constraints_indexes_comments(nested):
    row = nested.execute("SELECT schema_name, comment, row_estimate, primary_key, custom_attributes FROM latest_table_metadata "
                         "WHERE table_name = 'nested'").fetchone()
    assert row[:4] == ("Sales Dept", "nested types", 3, '["id"]')
    custom = json.loads(row[4])
    assert [(c["name"], c["definition"], c["columns"]) for c in custom["check_constraints"]] == [
        ("nested_id_check", "(id > 0)", ["id"])]
    assert [(i["name"], i["columns"], i["unique"]) for i in custom["indexes"]] == [
        ("nested_expr", ["id", "LOWER(CAST(j AS TEXT))"], True)]
    comment = nested.execute("SELECT comment FROM latest_column_metadata WHERE column_name = 's'").fetchone()[0]
    assert comment == "a struct"
    fk = nested.execute("SELECT foreign_key FROM latest_column_metadata WHERE table_name = 'self_ref' "
                        "AND column_name = 'parent'").fetchone()[0]
    assert fk == 'd."Sales Dept".self_ref.id'


def test_attached_databases_are_named_alias_dot_schema(nested):
    schemas = nested.execute("SELECT schema_name, database_name, qualified_name FROM latest_schema_metadata "
                             "ORDER BY schema_name").fetchall()
    assert schemas == [
        ('"old db".main', "old db", 'd."""old db"".main"'),
        ('"old db".s', "old db", 'd."""old db"".s"'),
        ("Sales Dept", "main_db", 'd."Sales Dept"'),
        ("main", "main_db", "d.main"),
    ]
    tables = nested.execute("SELECT schema_name, table_name, primary_key, json_extract_string(attributes, '$.database') "
                            "FROM latest_table_metadata WHERE schema_name LIKE '%old db%' ORDER BY 1").fetchall()
    assert tables == [('"old db".main', "t", '["x"]', "old db"), ('"old db".s', "u", None, "old db")]


def test_errors_name_the_source(tmp_path):
    store = Store(tmp_path / "store")
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a duckdb file at all" * 200)
    config = Config(sources={
        "missing": parse_source("missing", {"type": "duckdb", "path": str(tmp_path / "nope.duckdb")}),
        "bad": parse_source("bad", {"type": "duckdb", "path": str(bad)}),
    })
    with pytest.raises(SourceError, match=r"^cannot open source 'missing' \(duckdb file .*nope.duckdb\): file not found$"):
        scan(store, config, "missing")
    with pytest.raises(SourceError) as info:
        scan(store, config, "bad")
    assert str(info.value).startswith("cannot open source 'bad' (duckdb file ") and "\n" not in str(info.value)


def test_quality_profiles_attached_schemas(tmp_path):
    from dsa.quality import quality

    main = build(tmp_path / "q.duckdb", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1), (2), (NULL)")
    other = build(tmp_path / "o.duckdb", "CREATE TABLE b (y VARCHAR); INSERT INTO b VALUES ('p'), ('q')")
    store = Store(tmp_path / "store")
    config = Config(sources={"d": parse_source("d", {"type": "duckdb", "path": main, "attach": {"old db": other}})})
    scan(store, config, "d")
    result = quality(store, config, "d", sample="100%")
    assert result.status == "success", result.failed
    con = store.connect()
    rows = con.execute("SELECT table_qualified_name, row_count FROM table_quality_metrics ORDER BY 1").fetchall()
    assert rows == [('d."""old db"".main".b', 2), ("d.main.a", 3)]
    nulls = con.execute("SELECT null_count FROM column_quality_metrics WHERE column_name = 'x'").fetchone()
    assert nulls == (1,)


class DuckdbDb(EngineDb):
    engine = dialect = "duckdb"
    schema = "main"
    POLARS = {"integer": "Int64", "string": "Utf8", "float": "Float64", "date": "Date", "boolean": "Boolean"}

    def __init__(self, path):
        self.path = path
        self.spec = {"type": "duckdb", "path": str(path)}

    def connect(self):
        return duckdb.connect(str(self.path))

    def create(self, table, columns=COLUMNS, data=()):
        """Rows go in as one Arrow table (executemany is slow in DuckDB)."""
        if not data or any(f not in self.POLARS for _, _, f in columns):
            return super().create(table, columns, data)
        import polars as pl

        frame = pl.DataFrame([list(r) for r in data], orient="row",
                             schema={n: getattr(pl, self.POLARS[f]) for n, _, f in columns})
        super().create(table, columns)
        con = self.connect()
        try:
            con.register("frame", frame.to_arrow())
            con.execute(f"INSERT INTO {self.quote(table)} SELECT * FROM frame")
        finally:
            con.close()


class TestDuckdbQuality(QualityContract, DiffContract):
    exotic = [("j", "JSON", "json"), ("l", "INTEGER[]", "array"), ("b", "BLOB", "binary"), ("s", "STRUCT(a INT)", "struct"),
              ("m", "MAP(VARCHAR, INT)", "map")]
    exotic_lengths = {"b": (2, 3), "j": (7, 8)}
    orphans = False  # DuckDB enforces foreign keys

    @pytest.fixture
    def db(self, tmp_path):
        return DuckdbDb(tmp_path / "q.duckdb")

    def make_exotic(self, db, cols):
        db.execute("CREATE TABLE x (id INTEGER, j JSON, l INTEGER[], b BLOB, s STRUCT(a INT), m MAP(VARCHAR, INT))",
                   """INSERT INTO x VALUES
                      (1, '{"a": 1}', [1, 2], 'ab'::BLOB, {'a': 1}, MAP {'k': 1}),
                      (2, NULL, NULL, NULL, NULL, NULL),
                      (3, '[1,2,3]', [], '\\xAA\\xBB\\xCC'::BLOB, {'a': NULL}, MAP {})""")

    def test_a_column_the_engine_rejects_does_not_fail_the_table(self, db):
        """A family the profiler believes groupable but the engine cannot compare is demoted, not fatal."""
        db.execute("CREATE TABLE y (id INTEGER, u UNION(num INT, str VARCHAR))",
                   "INSERT INTO y VALUES (1, 1::INT), (2, 'a'), (3, NULL)")
        # claim the union is a string column: its length() and regexp fail in the engine
        result = profile(self.source(db), "main", "y", columns=[("id", {}, "integer"), ("u", {}, "string")])
        by = {c["column_name"]: c for c in result.columns}
        assert by["id"]["distinct_count"] == 3
        assert by["u"]["null_count"] == 1 and by["u"]["skipped_metrics"]

    def test_a_row_count_sample_is_a_seeded_reservoir(self, db):
        db.create(TABLE, COLUMNS, rows(2000, seed=11))
        first = profile(self.source(db), "main", sample=Sample(rows=500))
        again = profile(self.source(db), "main", sample=Sample(rows=500))
        t = first.table
        assert (t["sample_method"], t["sample_rows"], t["sample_seed"], t["row_count"]) == ("reservoir", 500, 42, 2000)
        assert [c["null_count"] for c in first.columns] == [c["null_count"] for c in again.columns]


def test_quartiles_keep_every_digit(tmp_path):
    """DECIMAL(38,10) quartiles as the engine writes them, against the engine's own quantile_disc."""
    from dsa.quality import quality

    path = build(tmp_path / "l.duckdb", """CREATE TABLE ledger (amount DECIMAL(38,10));
        INSERT INTO ledger VALUES (1234567890123456789012345678.1234567890), (1234567890123456789012345678.1234567891),
            (1234567890123456789012345678.1234567892), (1234567890123456789012345678.1234567893), (-1.5), (NULL)""")
    store = Store(tmp_path / "store")
    config = Config(sources={"d": parse_source("d", {"type": "duckdb", "path": path})})
    scan(store, config, "d")
    assert quality(store, config, "d", sample="100%").status == "success"
    con = duckdb.connect(path, read_only=True)
    engine = con.execute("SELECT quantile_disc(amount, 0.25)::VARCHAR, quantile_disc(amount, 0.5)::VARCHAR, "
                         "quantile_disc(amount, 0.75)::VARCHAR FROM ledger").fetchone()
    con.close()
    got = store.connect().execute("SELECT q1_value, median_value, q3_value FROM latest_column_quality_metrics").fetchone()
    assert got == engine == ("1234567890123456789012345678.1234567890", "1234567890123456789012345678.1234567891",
                             "1234567890123456789012345678.1234567892")
