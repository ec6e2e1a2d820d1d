"""One real Spark for the whole suite: an embedded session that also serves Spark Connect.

The session starts once (a JVM start costs many seconds) on a free local port with a bearer
token, so the tests reach it both ways users do: `remote: sc://localhost:PORT` with the token
as the source's password (the Spark Connect client), and `master: local[2]` (the embedded
session, which is this same one). Locally a missing Java or pyspark skips these tests; in CI
(`CI=true`) it fails them.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsa.connectors.spark import java_found
from tests.conftest import IN_CI


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


def _missing(why: str):
    if IN_CI:
        pytest.fail(f"Spark tests cannot run: {why}")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    if not java_found():
        _missing("Java not found (a JDK 17 or newer, on PATH or JAVA_HOME)")
    try:
        from pyspark.sql import SparkSession
        import pyspark.sql.connect.session  # noqa: F401  (the Spark Connect client's extras)
    except ImportError as exc:
        _missing(f"pyspark with Spark Connect is not installed: {exc}")
    port, token = _free_port(), secrets.token_hex(16)
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
    yield SparkServer(session, f"sc://localhost:{port}", token, warehouse)
    session.stop()


@pytest.fixture(scope="session")
def spark_db(spark):
    """A fresh database name per use (names are unique across the suite's one catalog)."""
    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        spark.sql(f"CREATE DATABASE {name}")
        return name

    return make
