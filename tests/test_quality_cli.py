"""`dsa quality` end to end: scan a SQLite file, profile it, read the catalog back with `dsa query`."""

from __future__ import annotations

import json
import sqlite3

import pytest


def _shop(path):
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, email TEXT, external_id TEXT, secret_col TEXT, price_text TEXT);
        CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(customer_id),
                             ordered_at TIMESTAMP);
        CREATE TABLE empty_one (x INTEGER);
        """
    )
    customers = [(i, None if i % 4 == 0 else f"p{i}@example.com", f"CRM-{min(i, 18)}", f"s{i % 2}",
                  "n/a" if i == 3 else f"{i}.50") for i in range(1, 21)]
    con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", customers)
    orders = [(i, (i % 25) + 1 if i % 7 else None, f"2024-01-{(i % 28) + 1:02d} 10:00:00") for i in range(1, 61)]
    con.executemany("INSERT INTO orders VALUES (?, ?, ?)", orders)
    con.commit()
    con.close()
    return customers, orders


@pytest.fixture
def shop(tmp_path, dsa_cli):
    customers, orders = _shop(tmp_path / "shop.db")
    (tmp_path / "dsa.yaml").write_text(
        "sources:\n  shop: {type: sqlite, path: shop.db}\n"
        "quality: {top_k: 3, mask: {auto: true, columns: ['customers.secret_col']}}\n"
    )
    scan = dsa_cli("scan", "shop")
    assert scan.returncode == 0, scan.stderr
    return customers, orders, scan.stdout.split()[0]


def _query(dsa_cli, sql):
    out = dsa_cli("query", sql, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_quality_profiles_the_newest_scan(shop, dsa_cli):
    customers, orders, scan_run = shop
    out = dsa_cli("quality", "shop")
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.split()[0]
    assert "3 tables profiled" in out.stdout and "worst columns:" in out.stdout

    runs = _query(dsa_cli, "SELECT run_id, scan_run_id, top_k, sample, status FROM quality_metrics_runs")
    assert runs == [{"run_id": run_id, "scan_run_id": scan_run, "top_k": 3, "sample": "auto", "status": "success"}]

    cols = {r["column_name"]: r for r in _query(
        dsa_cli, "SELECT * FROM latest_column_quality_metrics WHERE table_name IN ('customers', 'orders')")}
    ids = [o[1] for o in orders]
    present = [v for v in ids if v is not None]
    orphans = sum(1 for v in present if v > len(customers))
    fk = next(r for r in _query(dsa_cli, "SELECT * FROM latest_column_quality_metrics WHERE table_name = 'orders' "
                                          "AND column_name = 'customer_id'"))
    assert (fk["null_count"], fk["distinct_count"], fk["orphan_count"]) == (ids.count(None), len(set(present)), orphans)
    assert fk["referential_score"] == pytest.approx(100 * (len(present) - orphans) / len(present))
    assert "no matching row" in fk["score_explanation"]

    email = cols["email"]
    assert email["masked"] and email["min_value"] is None
    assert cols["secret_col"]["masked"]  # listed in quality.mask.columns
    # external_id: an identifier-like name, nearly unique, with duplicates -> uniqueness expected
    ext = cols["external_id"]
    assert ext["unique_expected"] and ext["distinct_count"] == 18
    assert ext["uniqueness_score"] == pytest.approx(100 * 18 / 20)
    # price_text: numbers stored as text, one of them not a number
    price = cols["price_text"]
    assert price["numeric_text_count"] == 19 and price["validity_score"] == pytest.approx(100 * 19 / 20 - 10)

    top = _query(dsa_cli, "SELECT column_name, rank, value, count FROM latest_column_top_values "
                          "WHERE table_qualified_name = 'shop.main.customers' AND column_name = 'external_id' ORDER BY rank")
    assert top == [{"column_name": "external_id", "rank": 1, "value": "CRM-18", "count": 3},
                   {"column_name": "external_id", "rank": 2, "value": "CRM-1", "count": 1},
                   {"column_name": "external_id", "rank": 3, "value": "CRM-10", "count": 1}]
    masked = _query(dsa_cli, "SELECT count(*) AS n, count(value) AS shown FROM column_top_values WHERE masked")
    assert masked[0]["n"] > 0 and masked[0]["shown"] == 0
    empty = _query(dsa_cli, "SELECT row_count, quality_score FROM latest_table_quality_metrics WHERE table_name = 'empty_one'")
    assert empty == [{"row_count": 0, "quality_score": None}]


def test_tables_glob_sample_and_top_k(shop, dsa_cli):
    out = dsa_cli("quality", "shop", "--tables", "ord*", "--sample", "50%", "--top-k", "1")
    assert out.returncode == 0, out.stderr
    tables = _query(dsa_cli, "SELECT table_name, row_count, sample_method, sample_percent, approximate "
                             "FROM latest_table_quality_metrics")
    assert tables == [{"table_name": "orders", "row_count": 60, "sample_method": "rowid_hash", "sample_percent": 50.0,
                       "approximate": True}]
    ranks = _query(dsa_cli, "SELECT max(rank) AS r FROM latest_column_top_values")
    assert ranks == [{"r": 1}]


@pytest.mark.parametrize("args, message", [
    (["quality", "shop", "--sample", "ten"], "--sample: give a percentage"),
    (["quality", "shop", "--sample", "150%"], "--sample: give a percentage"),
    (["quality", "shop", "--tables", "nothing*"], "matches no table"),
    (["quality", "nope"], "unknown source 'nope'"),
])
def test_user_errors_are_one_line(shop, dsa_cli, args, message):
    out = dsa_cli(*args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_quality_before_any_scan(tmp_path, dsa_cli):
    _shop(tmp_path / "shop.db")
    (tmp_path / "dsa.yaml").write_text("sources:\n  shop: {type: sqlite, path: shop.db}\n")
    out = dsa_cli("quality", "shop")
    assert out.returncode == 2 and "run `dsa scan shop` first" in out.stderr


def test_a_failing_table_makes_the_run_partial(shop, dsa_cli, tmp_path):
    con = sqlite3.connect(tmp_path / "shop.db")
    con.execute("DROP TABLE empty_one")  # scanned, then gone
    con.commit()
    con.close()
    out = dsa_cli("quality", "shop")
    assert out.returncode == 3, out.stderr
    assert "empty_one" in out.stderr and "2 tables profiled" in out.stdout
    rows = _query(dsa_cli, "SELECT table_name, status FROM table_quality_metrics ORDER BY table_name")
    assert rows == [{"table_name": "customers", "status": "profiled"}, {"table_name": "empty_one", "status": "failed"},
                    {"table_name": "orders", "status": "profiled"}]
    runs = _query(dsa_cli, "SELECT status FROM quality_metrics_runs")
    assert runs == [{"status": "partial"}]


def test_demo_profiles_both_versions(dsa_cli):
    out = dsa_cli("demo")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("quality of shop") == 2
    pairs = _query(dsa_cli, "SELECT q.scan_run_id, s.run_type FROM quality_metrics_runs q JOIN sync_runs s "
                            "ON s.run_id = q.scan_run_id WHERE q.status = 'success'")
    assert len(pairs) == 2 and all(p["run_type"] == "scan" for p in pairs)


def test_ctrl_c_keeps_the_tables_that_finished(tmp_path):
    """SIGINT while the big table is being profiled: exit 130, run partial, the small tables kept."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from dsa.store import Store

    con = sqlite3.connect(tmp_path / "big.db")
    con.execute("CREATE TABLE a1 (x INTEGER)")
    con.execute("CREATE TABLE a2 (x INTEGER)")
    con.execute("INSERT INTO a1 VALUES (1), (2)")
    con.execute("INSERT INTO a2 VALUES (3)")
    con.execute("CREATE TABLE z (a INTEGER, b TEXT, c REAL, d TEXT)")
    con.execute("""INSERT INTO z WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1500000)
                   SELECT i, 'v' || (i * 7919 % 1000003), i * 0.5, printf('%08d', i) FROM r""")
    con.commit()
    con.close()
    (tmp_path / "dsa.yaml").write_text("sources:\n  big: {type: sqlite, path: big.db}\nquality: {workers: 1}\n")
    env = {**os.environ, "DSA_STORE": str(tmp_path / "store"), "DSA_CONFIG": str(tmp_path / "dsa.yaml")}
    assert subprocess.run([sys.executable, "-m", "dsa", "scan", "big"], env=env, cwd=tmp_path, capture_output=True).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "dsa", "quality", "big"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = Store(tmp_path / "store")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if [m for m in store.manifests() if m["run_type"] == "quality"]:
            break
        time.sleep(0.05)
    time.sleep(4)  # the two small tables take well under a second; the big one far longer
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (err, _)
    run = [m for m in store.manifests() if m["run_type"] == "quality"][0]
    assert run["status"] == "partial" and "interrupted" in run["error"]
    kept = store.sql("SELECT table_name FROM table_quality_metrics ORDER BY 1")["table_name"].to_list()
    assert kept == ["a1", "a2"]
