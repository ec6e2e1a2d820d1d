"""Profiling through Spark: the quality and diff contracts, sampling, timeouts, unreadable tables."""

from __future__ import annotations

import pytest

from dsa.config import Config, parse_source
from dsa.connectors import open_source
from dsa.quality import Sample, quality
from dsa.scan import scan
from dsa.store import Store
from quality_data import COLUMNS, profile, rows
from tests.connectors.quality_contract import DiffContract, EngineDb, QualityContract

SPARK_TYPES = {"INTEGER": "INT", "VARCHAR": "STRING", "DOUBLE": "DOUBLE", "DATE": "DATE", "BOOLEAN": "BOOLEAN",
               "BIGINT": "BIGINT"}


class _SessionConnection:
    """The few DB-API calls the contract's independent checks make, over the embedded session."""

    def __init__(self, session, schema: str):
        self.session, self.schema = session, schema

    def cursor(self):
        return self

    def execute(self, sql: str, params=None) -> None:
        self.session.sql(f"USE {self.schema}").collect()
        self.rows = [tuple(r) for r in self.session.sql(sql, args=list(params) if params else None).collect()]

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return self.rows

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


class SparkDb(EngineDb):
    """A fresh database of the suite's Spark; tables are written by the embedded session."""

    engine = "spark"
    dialect = "spark"

    def __init__(self, spark, schema: str):
        self.spark = spark
        self.schema = schema
        self.spec = spark.source(include={"schemas": [schema]})

    table = "odd_table_name"  # Spark table names are letters, digits and underscores

    def connect(self):
        return _SessionConnection(self.spark.session, self.quote(self.schema))

    def sql_type(self, types, family):
        return types.get("spark") or SPARK_TYPES[types["duckdb"]]

    def execute(self, *statements: str) -> None:
        self.spark.sql(f"USE {self.quote(self.schema)}", *statements)

    def create(self, table, columns=COLUMNS, data=()) -> None:
        ddl = ", ".join(f"{self.quote(n)} {self.sql_type(types, family)}" for n, types, family in columns)
        frame = self.spark.session.createDataFrame(list(data), ddl)
        frame.write.format("parquet").saveAsTable(f"{self.quote(self.schema)}.{self.quote(table)}")


class TestSparkQuality(QualityContract, DiffContract):
    exotic = [("b", "BINARY", "binary"), ("l", "ARRAY<INT>", "array"), ("m", "MAP<STRING, INT>", "map")]
    exotic_rows = [(1, b"ab", [1, 2], {"a": 1}), (2, None, None, None), (3, b"\xaa\xbb\xcc", [3], {"b": 2})]
    exotic_lengths = {"b": (2, 3)}
    orphans = False  # Spark's catalog holds no foreign keys

    @pytest.fixture
    def db(self, spark, spark_db):
        return SparkDb(spark, spark_db("q"))

    def change(self, db) -> None:
        # a parquet table can add a column but not drop one: the table is made again
        db.execute("DROP TABLE t", "CREATE TABLE t (id INT, a STRING, c INT) USING parquet")


def test_sample_is_a_seeded_tablesample(spark, spark_db):
    db = SparkDb(spark, spark_db("sample"))
    db.create(db.table, COLUMNS, rows(2000, seed=3))
    result = profile(open_source("t", parse_source("t", db.spec)), db.schema, db.table, sample=Sample(percent=30))
    t = result.table
    assert (t["sample_method"], t["sample_seed"], t["approximate"], t["row_count"]) == ("bernoulli", 42, True, 2000)
    assert 400 < t["sample_rows"] < 800


def test_unreadable_table_is_recorded_and_the_run_partial(spark, spark_db, tmp_path):
    db = spark_db("broken")
    spark.sql(f"CREATE TABLE {db}.fine (x INT) USING parquet", f"INSERT INTO {db}.fine VALUES (1), (2)",
              f"CREATE TABLE {db}.gone (x INT) USING parquet", f"INSERT INTO {db}.gone VALUES (3)")
    store = Store(tmp_path / "store")
    config = Config(sources={"s": parse_source("s", spark.source(include={"schemas": [db]}))})
    assert scan(store, config, "s").status == "success"
    for part in (spark.warehouse / f"{db}.db" / "gone").glob("*.parquet"):  # files broken behind the catalog's back
        part.write_bytes(b"this is not a parquet file")
    result = quality(store, config, "s", sample="100%")
    assert result.status == "partial"
    errors = store.sql("SELECT qualified_name, error FROM run_errors WHERE run_id = ?", [result.run_id]).rows(named=True)
    assert [e["qualified_name"] for e in errors] == [f"s.{db}.gone"] and "\n" not in errors[0]["error"]
    # the table that failed has its row, every measure unknown
    counts = store.sql("SELECT table_name, row_count FROM latest_table_quality_metrics ORDER BY table_name").rows()
    assert counts == [("fine", 2), ("gone", None)]
