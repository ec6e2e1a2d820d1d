"""One real Spark for the whole suite: an embedded session that also serves Spark Connect.

The session starts once (a JVM start costs many seconds) on a free local port with a bearer
token, so the tests reach it both ways users do: `remote: sc://localhost:PORT` with the token
as the source's password (the Spark Connect client), and `master: local[2]` (the embedded
session, which is this same one). Locally a missing Java or pyspark skips these tests; in CI
(`CI=true`) it fails them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsa.connectors.spark import java_found
from tests.conftest import free_port, missing


@dataclass
class SparkServer:
    session: object  # the embedded pyspark SparkSession
    remote: str  # sc://localhost:PORT
    token: str
    warehouse: Path

    def sql(self, *statements: str) -> None:
        for statement in statements:
            self.session.sql(statement).collect()

    def source(self, **extra) -> dict:
        """A Spark Connect source for this server."""
        return {"type": "spark", "remote": self.remote, "password": self.token, **extra}


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    if not java_found():
        missing("Spark tests cannot run: Java not found (a JDK 17 or newer, on PATH or JAVA_HOME)")
    try:
        from pyspark.sql import SparkSession
        import pyspark.sql.connect.session  # noqa: F401  (the Spark Connect client's extras)
    except ImportError as exc:
        missing(f"Spark tests cannot run: pyspark with Spark Connect is not installed: {exc}")
    port, token = free_port(), secrets.token_hex(16)
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = SparkSession.builder.master("local[2]").config(map={
        "spark.api.mode": "classic",
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.authenticate.token": token,
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",
    }).getOrCreate()
    _warm_up(session)
    yield SparkServer(session, f"sc://localhost:{port}", token, warehouse)
    session.stop()


def _warm_up(session) -> None:
    """A fresh JVM compiles Spark's own code on its first statements (a first profile took 20-50 s
    on a loaded machine, the same one a few seconds after): done once here, outside any test's
    time limit, with a profile statement of every kind of column over a few rows."""
    from datetime import datetime, timezone

    from sqlglot import exp

    from dsa import profile, sampling
    from dsa.connectors.spark import SparkConnector, SparkOptions

    session.sql("SELECT id AS i, CAST(id AS STRING) AS s, id / 3 AS d, DATE'2024-01-01' + CAST(id AS INT) AS t, "
                "id % 2 = 0 AS b FROM range(5)").createOrReplaceTempView("warm_up")
    specs = [profile.column_spec(n, f) for n, f in (("i", "integer"), ("s", "string"), ("d", "float"),
                                                     ("t", "date"), ("b", "boolean"))]
    source = sampling.whole(exp.table_("warm_up", quoted=True))
    connector = SparkConnector("warm_up", SparkOptions(type="spark", master="local[2]"))
    for sql in connector.profile_statements(specs, source, 5, datetime.now(timezone.utc)):
        session.sql(sql).collect()
    session.catalog.dropTempView("warm_up")


@pytest.fixture(scope="session")
def spark_db(spark):
    """A fresh database name per use (names are unique across the suite's one catalog)."""
    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        spark.sql(f"CREATE DATABASE {name}")
        return name

    return make
