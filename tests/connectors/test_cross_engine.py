"""One schema, every engine: the demo shop's schema (dsa.demo.SCHEMA_V1) built in SQLite, DuckDB,
MariaDB and Postgres gives the same normalized catalog: tables and views, column names and
order, nullability, type families, primary keys, foreign keys and index columns. Type texts and
default texts differ by engine (docs/connectors.md lists how) and are not compared, nor are
the types of a view's columns. And one generated table gives the same profile in SQLite, DuckDB
and Parquet files.
"""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pytest
import sqlglot

from dsa.config import Config, parse_source
from dsa.connectors import open_source
from dsa.demo import SCHEMA_V1
from dsa.scan import scan
from dsa.store import Store
from quality_data import COLUMNS, TABLE, profile, rows
from tests.connectors.test_duckdb import DuckdbDb
from tests.connectors.test_files import FilesDb
from tests.connectors.test_sqlite import SqliteDb


def statements(dialect: str) -> list[str]:
    """SCHEMA_V1 in an engine's DDL: sqlglot's spelling, plus what sqlglot leaves as written."""
    out = []
    for sql in sqlglot.transpile(SCHEMA_V1, read="sqlite", write=dialect):
        if dialect == "postgres":
            sql = sql.replace("BOOLEAN DEFAULT 1", "BOOLEAN DEFAULT TRUE")  # no integer-to-boolean default
        out.append(sql)
    return out


def build_sqlite(tmp_path, request):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_V1)
    con.close()
    return {"type": "sqlite", "path": str(path)}, "main"


def build_duckdb(tmp_path, request):
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    for sql in statements("duckdb"):
        con.execute(sql)
    con.close()
    return {"type": "duckdb", "path": str(path)}, "main"


def build_mysql(tmp_path, request):
    from tests.conftest import MYSQL

    admin = request.getfixturevalue("mysql_admin")
    database = request.getfixturevalue("mysql_database")
    with admin.cursor() as cur:
        cur.execute(f"USE `{database}`")
        for sql in statements("mysql"):
            cur.execute(sql)
    return {"type": "mysql", "host": MYSQL["host"], "port": MYSQL["port"], "user": MYSQL["user"],
            "database": database}, database


def build_postgres(tmp_path, request):
    import psycopg

    dsn = request.getfixturevalue("pg_database")
    with psycopg.connect(dsn, autocommit=True) as con:
        for sql in statements("postgres"):
            con.execute(sql)
    return {"type": "postgres", "dsn": dsn}, "public"


ENGINES = {"sqlite": build_sqlite, "duckdb": build_duckdb, "mysql": build_mysql, "postgres": build_postgres}


def catalog(source: dict, schema: str, tmp_path) -> dict:
    """The engine-neutral part of a scanned catalog."""
    store = Store(tmp_path / "store")
    result = scan(store, Config(sources={"shop": parse_source("shop", source)}), "shop")
    assert result.status == "success", result.errors
    con = store.connect()
    out = {}
    for name, table_type, pk, custom in con.execute(
            "SELECT table_name, table_type, primary_key, custom_attributes FROM latest_table_metadata "
            "WHERE schema_name = ? ORDER BY table_name", [schema]).fetchall():
        custom = json.loads(custom)
        # a view's column types and nullability are each engine's own inference (SQLite types
        # computed columns as nothing, MariaDB carries NOT NULL through): only names compare
        what = "column_name, is_nullable, type_family, foreign_key IS NOT NULL" if table_type != "view" else "column_name"
        columns = con.execute(
            f"SELECT {what} FROM latest_column_metadata "
            "WHERE schema_name = ? AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()
        out[name] = {
            "type": table_type,
            "columns": [tuple(c) for c in columns],
            "primary_key": json.loads(pk) if pk else None,
            "foreign_keys": sorted((tuple(f["columns"]), f["ref_table"], tuple(f["ref_columns"]))
                                   for f in custom["foreign_keys"]),
            "indexes": sorted((i["name"], tuple(i["columns"])) for i in custom["indexes"]
                              if i["name"].startswith("idx_")),
        }
    con.close()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sqlite_ref")
    source, schema = build_sqlite(tmp, None)
    return catalog(source, schema, tmp)


def test_reference_catalog_is_what_the_schema_says(reference):
    assert sorted(reference) == ["customer_order_totals", "customers", "order_items", "orders", "products",
                                 "returns", "reviews"]
    assert reference["customers"]["columns"] == [
        ("customer_id", False, "integer", False), ("email", True, "string", False), ("external_id", True, "string", False),
        ("full_name", False, "string", False), ("country", True, "string", False), ("signup_date", True, "date", False),
        ("is_active", True, "boolean", False)]
    assert reference["order_items"]["primary_key"] == ["order_id", "line_no"]
    assert reference["order_items"]["foreign_keys"] == [(("order_id",), "orders", ("order_id",)),
                                                        (("product_id",), "products", ("product_id",))]
    assert reference["orders"]["indexes"] == [("idx_orders_customer", ("customer_id",))]
    assert reference["customer_order_totals"]["type"] == "view"
    assert [c[2] for c in reference["order_items"]["columns"]] == ["integer", "integer", "integer", "integer", "float"]
    assert [c[2] for c in reference["orders"]["columns"]] == ["integer", "integer", "timestamp", "timestamp", "string",
                                                              "decimal"]


@pytest.mark.parametrize("engine", ["duckdb", "mysql", "postgres"])
def test_every_engine_gives_the_same_catalog(engine, reference, tmp_path, request):
    source, schema = ENGINES[engine](tmp_path, request)
    got = catalog(source, schema, tmp_path)
    assert sorted(got) == sorted(reference)
    for table in reference:
        assert got[table] == reference[table], table


def test_same_table_same_profile_everywhere(tmp_path):
    """The generated table in SQLite, DuckDB and Parquet files: the same profile, value for value."""
    data = rows(120, seed=3)
    dbs = {"sqlite": SqliteDb(tmp_path / "same.db"), "duckdb": DuckdbDb(tmp_path / "same.duckdb"),
           "files": FilesDb(tmp_path / "lake")}
    keep = ("null_count", "distinct_count", "min_value", "max_value", "zero_count", "empty_count", "future_count",
            "true_count", "q1", "median", "q3", "quality_score")
    profiles = {}
    for name, db in dbs.items():
        db.create(TABLE, COLUMNS, data)
        result = profile(open_source("t", parse_source("t", db.spec)), db.schema, top_k=3)
        profiles[name] = ({c["column_name"]: {k: c.get(k) for k in keep} for c in result.columns},
                          sorted((t["column_name"], t["rank"], t["value"], t["count"]) for t in result.top))
    assert profiles["duckdb"] == profiles["sqlite"] and profiles["files"] == profiles["sqlite"]
