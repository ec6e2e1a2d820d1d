"""Every check kind on real engines (SQLite, DuckDB, files, Postgres, MariaDB): passing, warning,
failing and erroring, each value compared with one computed by the engine's own SQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from dsa.checks.run import check
from dsa.config import parse_config
from dsa.scan import scan
from dsa.store import Store

NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
STATUSES = ["new", "paid", "shipped", "lost", None]
ORDERS = [(i // 3 if i % 7 == 0 else i, (i % 11) if i % 13 else 99, STATUSES[i % 5] if i % 9 else "new",
           float(i % 17 - 2), NOW - timedelta(hours=i)) for i in range(60)]
CUSTOMERS = [(i, f"c{i}@x.org" if i % 4 else f"bad{i}") for i in range(11)]
SLOW = "SELECT count(*) FROM orders a, orders b, orders c, orders d, orders e, orders f"  # 46 billion rows
SLOW_FILES = "SELECT count(*) FROM range(1000000) a, range(1000000) b"

CHECKS = [
    "row_count > 0",
    "row_count between 100 and 1e6",
    {"name": "status present", "check": "missing_percent(status) < 50", "warn": "< 1"},
    "missing_count(status) = 0",
    "duplicate_count(order_id) = 0",
    "distinct_count(status) = 4",
    "duplicate_percent(status) < 50",
    "duplicate_values(order_id) < 100",
    {"name": "rows with repeated ids", "check": "duplicate_rows(order_id) < 100", "warn": "= 0"},
    "values(status) in [new, paid, shipped]",
    "min(amount) >= 0",
    "invalid_count(amount) = 0 between 0 and 10",
    "max(amount) < 100",
    "avg(amount) > 0",
    "sum(amount) > 0",
    "freshness(updated_at) < 1d",
    {"name": "fresh within an hour", "check": "freshness(updated_at) < 1h", "warn": "< 0s"},
    "reference(customer_id) -> customers.id",
    {"sql": "select count(*) from orders where amount < 0"},
    "missing_count(no_such_column) = 0",
    {"name": "broken sql", "sql": "select count(*) from no_such_table"},
    {"name": "slow sql", "sql": SLOW},
]

# Each check's value, in the engine's own SQL (None: no value; checks that error have none)
EXPECTED_SQL = {
    "row_count > 0": "SELECT count(*) FROM orders",
    "status present": "SELECT 100.0 * sum(CASE WHEN status IS NULL THEN 1 ELSE 0 END) / count(*) FROM orders",
    "missing_count(status) = 0": "SELECT sum(CASE WHEN status IS NULL THEN 1 ELSE 0 END) FROM orders",
    "duplicate_count(order_id) = 0": "SELECT count(order_id) - count(DISTINCT order_id) FROM orders",
    "distinct_count(status) = 4": "SELECT count(DISTINCT status) FROM orders",
    "duplicate_percent(status) < 50": "SELECT 100.0 * (count(status) - count(DISTINCT status)) / count(status) FROM orders",
    "duplicate_values(order_id) < 100":
        "SELECT count(*) FROM (SELECT order_id FROM orders GROUP BY order_id HAVING count(*) > 1) g",
    "rows with repeated ids":
        "SELECT sum(n) FROM (SELECT count(*) AS n FROM orders GROUP BY order_id HAVING count(*) > 1) g",
    "values(status) in [new, paid, shipped]":
        "SELECT count(*) FROM orders WHERE status IS NOT NULL AND status NOT IN ('new', 'paid', 'shipped')",
    "min(amount) >= 0": "SELECT min(amount) FROM orders",
    "invalid_count(amount) = 0 between 0 and 10":
        "SELECT count(*) FROM orders WHERE amount IS NOT NULL AND NOT (amount BETWEEN 0 AND 10)",
    "max(amount) < 100": "SELECT max(amount) FROM orders",
    "avg(amount) > 0": "SELECT avg(amount) FROM orders",
    "sum(amount) > 0": "SELECT sum(amount) FROM orders",
    "reference(customer_id) -> customers.id":
        "SELECT count(*) FROM orders o WHERE customer_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id)",
    "sql: select count(*) from orders where amount < 0": "SELECT count(*) FROM orders WHERE amount < 0",
    "invalid email": "SELECT count(*) FROM customers WHERE email NOT LIKE '%@%'",
}
OUTCOMES = {
    "row_count > 0": "pass", "row_count between 100 and 1e6": "fail", "status present": "warn",
    "missing_count(status) = 0": "fail", "duplicate_count(order_id) = 0": "fail",
    "distinct_count(status) = 4": "SELECT count(DISTINCT status) FROM orders",
    "duplicate_percent(status) < 50": "SELECT 100.0 * (count(status) - count(DISTINCT status)) / count(status) FROM orders",
    "duplicate_values(order_id) < 100": "pass", "distinct_count(status) = 4": "pass",
    "duplicate_percent(status) < 50": "fail", "rows with repeated ids": "warn",
    "values(status) in [new, paid, shipped]": "fail", "min(amount) >= 0": "fail", "max(amount) < 100": "pass",
    "invalid_count(amount) = 0 between 0 and 10": "fail",
    "avg(amount) > 0": "pass", "sum(amount) > 0": "pass", "freshness(updated_at) < 1d": "pass",
    "fresh within an hour": "warn", "reference(customer_id) -> customers.id": "fail",
    "sql: select count(*) from orders where amount < 0": "fail", "missing_count(no_such_column) = 0": "error",
    "broken sql": "error", "slow sql": "error", "invalid email": "warn", "schema: no removed columns": "pass",
}


def _sqlite(tmp_path):
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, status TEXT, amount REAL, updated_at TEXT)")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", [(*r[:4], r[4].isoformat(sep=" ")) for r in ORDERS])
    conn.executemany("INSERT INTO customers VALUES (?, ?)", CUSTOMERS)
    conn.commit()
    return {"type": "sqlite", "path": str(path)}, lambda sql: conn.execute(sql).fetchone()[0]


def _duck(tmp_path, files: bool = False):
    path = tmp_path / "shop.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, status VARCHAR, amount DOUBLE, "
                 "updated_at TIMESTAMP)")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR)")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    conn.executemany("INSERT INTO customers VALUES (?, ?)", CUSTOMERS)
    if not files:
        conn.close()
        conn = duckdb.connect(str(path), read_only=True)
        return {"type": "duckdb", "path": str(path)}, lambda sql: conn.execute(sql).fetchone()[0]
    lake = tmp_path / "lake"
    lake.mkdir()
    for table in ("orders", "customers"):
        conn.execute(f"COPY {table} TO '{lake / table}.parquet' (FORMAT parquet)")
    conn.close()
    mem = duckdb.connect()
    for table in ("orders", "customers"):
        mem.execute(f"CREATE VIEW {table} AS SELECT * FROM '{lake / table}.parquet'")
    return {"type": "files", "paths": [f"{lake}/"]}, lambda sql: mem.execute(sql).fetchone()[0]


def _postgres(dsn):
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("CREATE TABLE orders (order_id int, customer_id int, status text, amount double precision, "
                 "updated_at timestamp)")
    conn.execute("CREATE TABLE customers (id int PRIMARY KEY, email text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", ORDERS)
        cur.executemany("INSERT INTO customers VALUES (%s, %s)", CUSTOMERS)
    return {"type": "postgres", "dsn": dsn}, lambda sql: conn.execute(sql).fetchone()[0]


def _mariadb(database):
    import pymysql

    from conftest import MYSQL

    conn = pymysql.connect(**MYSQL, database=database, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE orders (order_id int, customer_id int, status varchar(20), amount double, "
                    "updated_at datetime)")
        cur.execute("CREATE TABLE customers (id int PRIMARY KEY, email varchar(50))")
        cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", ORDERS)
        cur.executemany("INSERT INTO customers VALUES (%s, %s)", CUSTOMERS)

    def value(sql):
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]

    return {"type": "mysql", "host": MYSQL["host"], "port": MYSQL["port"], "user": MYSQL["user"], "database": database}, value


@pytest.fixture(params=["sqlite", "duckdb", "files", "postgres", "mariadb"])
def engine(request, tmp_path):
    kind = request.param
    if kind == "postgres":
        return kind, *_postgres(request.getfixturevalue("pg_database"))
    if kind == "mariadb":
        return kind, *_mariadb(request.getfixturevalue("mysql_database"))
    return kind, *(_sqlite(tmp_path) if kind == "sqlite" else _duck(tmp_path, files=kind == "files"))


def test_every_check_kind(engine, tmp_path):
    kind, source, value = engine
    config = parse_config({
        "sources": {"shop": {**source, "timeout_s": 1}},
        "quality": {"mask": {"auto": False}},
        "checks": [
            {"source": "shop", "table": "orders", "checks": CHECKS if kind != "files" else [
                {"name": "slow sql", "sql": SLOW_FILES} if c == {"name": "slow sql", "sql": SLOW} else c for c in CHECKS]},
            {"source": "shop", "table": "customers", "checks": [
                {"name": "invalid email", "check": "invalid_count(email) < 5 matching '^[^@]+@[^@]+$'", "warn": "= 0"},
                "schema: no removed columns"]},
            {"source": "shop", "table": "no_such_*", "checks": ["row_count > 0"]},
        ]})
    store = Store(tmp_path / "store")
    scan(store, config, "shop")
    run = check(store, config, "shop")
    missing = [o for o in run.outcomes if o.table == "no_such_*"]
    assert [o.outcome for o in missing] == ["error"]
    for name, outcome in OUTCOMES.items():
        if kind == "files" and name.startswith("sql: select"):
            continue  # a files source's tables are named by their folder in SQL (docs/checks.md)
        o = next(o for o in run.outcomes if o.check.name == name and o.table != "no_such_*")
        assert o.outcome == outcome, (name, o.value, o.error)
        if name in EXPECTED_SQL:
            expected = float(value(EXPECTED_SQL[name]))
            assert o.value == pytest.approx(expected), name
    by_name = {o.check.name: o for o in run.outcomes if o.table != "no_such_*"}
    assert "timed out" in by_name["slow sql"].error
    assert "no column 'no_such_column'" in by_name["missing_count(no_such_column) = 0"].error
    fresh = by_name["freshness(updated_at) < 1d"]
    assert fresh.value == pytest.approx((datetime.now(timezone.utc).replace(tzinfo=None) - NOW).total_seconds(), abs=60)
    samples = {s["value"] for s in by_name["values(status) in [new, paid, shipped]"].samples}
    assert samples == {"lost"}
    assert {float(s["value"]) for s in by_name["min(amount) >= 0"].samples} <= {-1.0, -2.0}
    assert by_name["min(amount) >= 0"].samples
    orphans = {int(s["value"]) for s in by_name["reference(customer_id) -> customers.id"].samples}
    assert orphans == {99}
    repeated = "(SELECT order_id FROM orders WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1) g"
    bounds = [int(value(f"SELECT {f}(order_id) FROM {repeated}")) for f in ("min", "max")]
    assert [int(s["value"]) for s in by_name["duplicate_count(order_id) = 0"].samples] == bounds
    stored = store.sql("SELECT outcome, count(*) AS n FROM check_results WHERE run_id = ? GROUP BY outcome",
                       [run.run_id])
    assert dict(stored.iter_rows()) == {k: run.count(k) for k in ("pass", "warn", "fail", "error") if run.count(k)}
    runs = store.sql("SELECT check_count, failed, errored FROM check_runs WHERE run_id = ?", [run.run_id]).row(0)
    assert runs == (len(run.outcomes), run.count("fail"), run.count("error"))
