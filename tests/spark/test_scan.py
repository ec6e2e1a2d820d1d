"""The spark connector's scan on a real Spark: the contract, partitions, properties, paths, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dsa.config import Config, parse_source
from dsa.connectors import get_connector
from dsa.errors import SourceError
from dsa.scan import scan
from dsa.store import Store
from tests.connectors.contract import ConnectorContract

DDL = [
    "CREATE TABLE {db}.customers (id INT NOT NULL, email VARCHAR(100) NOT NULL, name VARCHAR(50), "
    "score DECIMAL(10,2) DEFAULT 0) USING parquet",
    "CREATE TABLE {db}.orders (id INT, customer_id INT NOT NULL, note STRING) USING parquet",
    "CREATE TABLE {db}.odd_name (`Col \"quoted\"` INT, `ünïcode` STRING) USING parquet",
    "CREATE VIEW {db}.order_summary AS SELECT customer_id, count(*) AS n FROM {db}.orders GROUP BY customer_id",
]


class TestSpark(ConnectorContract):
    """Spark keeps no keys or indexes, and no NOT NULL for parquet tables: the catalog says so."""

    types = {"customers.id": "int", "customers.email": "varchar(100)", "customers.score": "decimal(10,2)"}
    odd_table = "odd_name"  # Spark's catalog takes only letters, digits and _ in table names
    nullable_known = False

    @pytest.fixture(scope="class")
    def contract_db(self, spark, spark_db):
        db = spark_db("contract")
        spark.sql(*(s.format(db=db) for s in DDL))
        return db

    @pytest.fixture
    def source(self, spark, contract_db):
        self.schema_name = contract_db
        return spark.source(include={"schemas": [contract_db]})


def _scan(tmp_path, spec, name="s"):
    store = Store(tmp_path / "store")
    result = scan(store, Config(sources={name: parse_source(name, spec)}), name)
    return result, store.connect()


def test_partitions_properties_and_comments(spark, spark_db, tmp_path):
    db = spark_db("rich")
    spark.sql(
        f"CREATE TABLE {db}.events (id BIGINT COMMENT 'event id', kind STRING, dt STRING) USING parquet "
        f"PARTITIONED BY (dt) COMMENT 'all events' TBLPROPERTIES ('team' = 'data', 'tier' = 'gold')",
        f"INSERT INTO {db}.events VALUES (1, 'a', '2024-01-01'), (2, 'b', '2024-01-02')",
        f"CREATE TABLE {db}.nested (s STRUCT<a: INT, `b c`: STRING>, l ARRAY<INT>, m MAP<STRING, INT>, "
        f"ts TIMESTAMP, d DATE) USING json",
    )
    result, con = _scan(tmp_path, spark.source(include={"schemas": [db]}))
    assert result.status == "success", result.errors
    comment, attrs = con.execute("SELECT comment, custom_attributes FROM latest_table_metadata "
                                 "WHERE table_name = 'events'").fetchone()
    assert comment == "all events"
    custom = json.loads(attrs)
    assert custom["provider"] == "parquet" and custom["partition_columns"] == ["dt"]
    assert custom["properties"]["team"] == "data" and custom["properties"]["tier"] == "gold"
    assert custom["location"].endswith(f"{db}.db/events")
    cols = con.execute("SELECT column_name, data_type, type_family, comment, is_nullable, custom_attributes "
                       "FROM latest_column_metadata WHERE table_name = 'events' ORDER BY ordinal_position").fetchall()
    assert [c[:5] for c in cols] == [("id", "bigint", "integer", "event id", None), ("kind", "string", "string", None, None),
                                     ("dt", "string", "string", None, None)]
    assert json.loads(cols[2][5]).get("partition") is True and not json.loads(cols[0][5] or "{}").get("partition")
    nested = con.execute("SELECT column_name, data_type, type_family FROM latest_column_metadata "
                         "WHERE table_name = 'nested' ORDER BY ordinal_position").fetchall()
    assert nested == [("s", "struct<a:int,b c:string>", "struct"), ("l", "array<int>", "array"),
                      ("m", "map<string,int>", "map"), ("ts", "timestamp", "timestamp"), ("d", "date", "date")]
    provider = json.loads(con.execute("SELECT custom_attributes FROM latest_table_metadata "
                                      "WHERE table_name = 'nested'").fetchone()[0])["provider"]
    assert provider == "json"


def test_view_keeps_spark_nullability(spark, spark_db, tmp_path):
    db = spark_db("views")
    spark.sql(f"CREATE TABLE {db}.t (x INT) USING parquet",
              f"CREATE VIEW {db}.v AS SELECT x, count(*) AS n FROM {db}.t GROUP BY x")
    _, con = _scan(tmp_path, spark.source(include={"schemas": [db]}))
    rows = con.execute("SELECT column_name, is_nullable FROM latest_column_metadata WHERE table_name = 'v' "
                       "ORDER BY ordinal_position").fetchall()
    assert rows == [("x", True), ("n", False)]


def test_paths_become_views_with_hive_partitions(spark, tmp_path):
    data = tmp_path / "data"
    spark.session.createDataFrame([(1, "a", 2023), (2, "b", 2024), (3, None, 2024)], "id INT, v STRING, year INT") \
        .write.partitionBy("year").parquet(str(data / "sales"))
    (data / "people.csv").write_text("pid,name\n1,ann\n2,bob\n")
    spec = spark.source(include={"schemas": ["paths"]},
                        paths=[str(data / "sales"), {"path": str(data / "*.csv"), "name": "people"}])
    result, con = _scan(tmp_path, spec)
    assert result.status == "success", result.errors
    tables = con.execute("SELECT table_name, table_type, custom_attributes FROM latest_table_metadata "
                         "WHERE schema_name = 'paths' ORDER BY 1").fetchall()
    assert [(t[0], t[1], json.loads(t[2])["provider"]) for t in tables] == [
        ("people", "external", "csv"), ("sales", "external", "parquet")]
    cols = con.execute("SELECT table_name, column_name, data_type FROM latest_column_metadata "
                       "WHERE schema_name = 'paths' ORDER BY 1, ordinal_position").fetchall()
    assert cols == [("people", "pid", "int"), ("people", "name", "string"),
                    ("sales", "id", "int"), ("sales", "v", "string"), ("sales", "year", "int")]


def test_missing_path_is_recorded_and_the_run_partial(spark, spark_db, tmp_path):
    db = spark_db("gone")
    spark.sql(f"CREATE TABLE {db}.ok (x INT) USING parquet")
    spec = spark.source(include={"schemas": [db, "paths"]}, paths=[str(tmp_path / "nowhere" / "*.parquet")])
    result, con = _scan(tmp_path, spec)
    assert result.status == "partial"
    assert len(result.errors) == 1 and "s.paths.nowhere" in result.errors[0]["qualified_name"]
    assert con.execute("SELECT table_name FROM normalized_tables WHERE run_id = ?", [result.run_id]).fetchall() == [("ok",)]


def test_embedded_master_reads_the_same_catalog(spark, spark_db, tmp_path):
    db = spark_db("embedded")
    spark.sql(f"CREATE TABLE {db}.t (x INT COMMENT 'an x') USING parquet")
    result, con = _scan(tmp_path, {"type": "spark", "master": "local[2]", "include": {"schemas": [db]}})
    assert result.status == "success", result.errors
    assert con.execute("SELECT column_name, comment FROM latest_column_metadata").fetchall() == [("x", "an x")]


def test_config_errors_are_one_line():
    bad = [({"type": "spark"}, "exactly one of remote"),
           ({"type": "spark", "remote": "sc://h:1", "master": "local"}, "exactly one of remote"),
           ({"type": "spark", "remote": "http://h:1"}, "Spark Connect URL"),
           ({"type": "spark", "remote": "sc://h:1/;token=abcdef"}, "password")]
    for spec, text in bad:
        with pytest.raises(Exception) as info:
            parse_source("s", spec)
        assert text in str(info.value) and "abcdef" not in str(info.value)


def test_unreachable_and_wrong_token_fail_fast(spark, tmp_path):
    connector = get_connector("spark")
    unreachable = connector("s", parse_source("s", {"type": "spark", "remote": "sc://127.0.0.1:1",
                                                     "connect_timeout_s": 5}))
    with pytest.raises(SourceError, match=r"^cannot connect to source 's' \(spark connect at 127.0.0.1:1\): "):
        unreachable.connect()
    wrong = connector("s", parse_source("s", spark.source(password="not-the-token-123")))
    with pytest.raises(SourceError) as info:
        wrong.connect()
    assert str(info.value).startswith("cannot connect to source 's'") and "not-the-token-123" not in str(info.value)


def test_java_missing_is_one_line(tmp_path):
    (tmp_path / "dsa.yaml").write_text("sources:\n  lake:\n    type: spark\n    master: local[1]\n")
    env = {**os.environ, "PATH": "/nonexistent", "DSA_STORE": str(tmp_path / "store"),
           "DSA_CONFIG": str(tmp_path / "dsa.yaml")}
    env.pop("JAVA_HOME", None)
    proc = subprocess.run([sys.executable, "-m", "dsa", "scan", "lake"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["error: cannot connect to source 'lake' (spark local[1]): "
                     "Java not found (install a JDK 17 or newer, or set JAVA_HOME)"], proc.stderr
