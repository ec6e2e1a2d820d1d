"""`dsa check` and `dsa checks suggest` on a small SQLite source: formats, exit codes, config errors."""

from __future__ import annotations

import json
import sqlite3
from xml.etree import ElementTree as ET

import pytest
import yaml

from inprocess import run_cli
from dsa.checks.language import parse_check
from dsa.errors import ConfigError


@pytest.fixture
def shop(tmp_path, monkeypatch):
    db = tmp_path / "shop.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL, amount REAL, email TEXT)")
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)",
                     [(i, ["new", "paid"][i % 2], i * 1.5, f"u{i}@x.org") for i in range(1, 41)])
    conn.commit()
    conn.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DSA_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DSA_CONFIG", str(tmp_path / "dsa.yaml"))

    def configure(checks, **more):
        config = {"sources": {"shop": {"type": "sqlite", "path": str(db)}},
                  "checks": [{"source": "shop", "table": "orders", "checks": checks}], **more}
        (tmp_path / "dsa.yaml").write_text(yaml.safe_dump(config))

    configure(["row_count > 0"])
    assert run_cli(["scan", "shop"])[0] == 0
    return configure


def test_exit_codes_and_formats(shop):
    shop(["row_count = 40", {"name": "few", "check": "max(amount) < 100", "warn": "< 10"}])
    code, out, _ = run_cli(["check", "shop", "--format", "json"])
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["table"], r["column"], r["value"], r["outcome"]) for r in rows] == [
        ("row_count = 40", "shop.main.orders", None, 40, "pass"), ("few", "shop.main.orders", "amount", 60, "warn")]
    assert run_cli(["check", "shop", "--fail-on", "warn"])[0] == 5
    shop(["row_count = 41", "missing_count(nope) = 0"])
    code, out, _ = run_cli(["check", "shop", "--format", "junit"])
    assert code == 5
    suite = ET.fromstring(out).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "1")
    code, out, _ = run_cli(["check", "shop"])
    assert code == 5 and "FAIL   shop.main.orders: row_count = 41: 40 (fail unless = 41)" in out


def test_config_errors_name_the_check_and_key(shop):
    shop([{"name": "amounts", "check": "max(amount) < 100", "warn": "maximum(amount) < 5"}])
    code, _, err = run_cli(["check", "shop"])
    assert code == 2 and "checks[0].checks[0] (amounts).warn" in err and "maximum" in err
    shop(["row_count > 0", {"check": "min(amount) >= 0", "wran": "< 1"}])
    code, _, err = run_cli(["check", "shop"])
    assert code == 2 and "checks[0].checks[1].wran: unknown key" in err
    shop(["values(status) in [new, paid"])
    code, _, err = run_cli(["check", "shop"])
    assert code == 2 and "checks[0].checks[0]" in err and "in [new, paid" in err
    shop(["row_count > 0"], schedules=[{"cron": "every day", "sources": ["shop"]}])
    code, _, err = run_cli(["check", "shop"])
    assert code == 2 and "schedules.0.cron" in err


def test_checks_files(shop, tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "orders.yaml").write_text(yaml.safe_dump(
        {"checks": [{"source": "shop", "table": "orders", "checks": ["duplicate_count(id) = 0"]}]}))
    shop(["row_count > 0"], checks_files=["checks/*.yaml"])
    code, out, _ = run_cli(["check", "shop", "--format", "json"])
    assert code == 0 and [r["name"] for r in json.loads(out)] == ["row_count > 0", "duplicate_count(id) = 0"]
    (tmp_path / "checks" / "bad.yaml").write_text(yaml.safe_dump(
        {"checks": [{"source": "shop", "table": "orders", "checks": ["duplicate_count(id) = zero"]}]}))
    code, _, err = run_cli(["check", "shop"])
    assert code == 2 and "bad.yaml: checks[0].checks[0]" in err


def test_suggest_writes_checks_that_pass(shop, tmp_path):
    assert run_cli(["quality", "shop"])[0] == 0
    code, out, _ = run_cli(["checks", "suggest", "shop"])
    assert code == 0
    suggested = yaml.safe_load(out)["checks"]
    checks = suggested[0]["checks"]
    assert {"row_count > 0", "missing_count(status) = 0", "duplicate_count(id) = 0", "values(status) in ['new', 'paid']",
            "min(amount) >= 1", "max(amount) <= 60"} <= set(checks)
    assert not any("email" in c and "values" in c for c in checks)  # masked columns: no accepted values
    config = yaml.safe_load((tmp_path / "dsa.yaml").read_text())
    config["checks"] = suggested
    (tmp_path / "dsa.yaml").write_text(yaml.safe_dump(config))
    code, out, _ = run_cli(["check", "shop", "--format", "json"])
    assert code == 0, out


@pytest.mark.parametrize("text, message", [
    ("row_count >", "ends early"),
    ("min(amount) > abc", "expected a number at 'abc'"),
    ("invalid_count(email) = 0", "needs what is valid"),
    ("invalid_count(email) = 0 matching '(['", "not a valid regular expression"),
    ("freshness(t) < 5", "expected a duration"),
    ("reference(a) -> b", "expected table.column"),
    ("schema: no renamed columns", "schema: no removed|added|changed columns"),
    ("row_count between 5 and 1", "upper bound is below"),
])
def test_parse_errors(text, message):
    with pytest.raises(ConfigError) as err:
        parse_check(text, "checks[3].checks[1]")
    assert str(err.value).startswith("checks[3].checks[1]: ") and message in str(err.value)


def test_webhooks_receive_each_new_failure_once(shop):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    alerts = {"app_url": "http://dsa.example:8501", "webhooks": [{"url": f"http://127.0.0.1:{server.server_port}/hook"}]}
    try:
        shop(["row_count = 41", "max(amount) < 100"], alerts=alerts)
        assert run_cli(["check", "shop"])[0] == 5
        assert len(received) == 1
        payload = received[0]
        assert [e["title"] for e in payload["events"]] == ["FAIL shop.main.orders: row_count = 41: 40 (fail unless = 41)"]
        assert payload["text"].startswith("dsa: 1 new on 'shop'")
        assert payload["events"][0]["link"] == "http://dsa.example:8501/checks?conn=shop&run=" + payload["run_id"] + "&table=orders"
        assert run_cli(["check", "shop"])[0] == 5  # still failing: no repeat
        assert len(received) == 1
        shop(["row_count = 41", "max(amount) < 10"], alerts=alerts)
        assert run_cli(["check", "shop"])[0] == 5  # a new failure: one more post, with only it
        assert len(received) == 2 and [e["title"].split(":")[1] for e in received[1]["events"]] == [" max(amount) < 10"]
    finally:
        server.shutdown()


def test_watch_runs_due_schedules(shop, tmp_path):
    from datetime import datetime, timedelta, timezone

    from dsa.config import load_config
    from dsa.store import Store
    from dsa.watch import watch

    shop(["row_count = 40"], schedules=[{"name": "hourly", "cron": "0 * * * *", "sources": ["shop"],
                                         "run": ["scan", "check"]}])
    config = load_config(tmp_path / "dsa.yaml")
    moments = iter([datetime(2026, 1, 1, 9, 59, tzinfo=timezone.utc), datetime(2026, 1, 1, 9, 59, 30, tzinfo=timezone.utc)] +
                   [datetime(2026, 1, 1, 10, 0, 1, tzinfo=timezone.utc) + timedelta(seconds=i) for i in range(20)])
    said, slept = [], []
    watch(Store(tmp_path / "store"), config, said.append, clock=lambda: next(moments), sleep=slept.append, rounds=1)
    assert slept == [30] and [s.split(":")[0] for s in said] == ["hourly", "hourly"]
    assert said[0].startswith("hourly: scan shop: ") and said[1].endswith("1 passed, 0 warned, 0 failed, 0 errored")


def test_quality_runs_judge_checks_and_feed_the_monitors(shop, tmp_path):
    import sqlite3

    from dsa.store import Store

    checks = ["row_count > 30", "missing_count(status) = 0", "duplicate_count(id) = 0", "max(amount) < 50",
              "values(status) in [new]", {"sql": "select count(*) from orders where amount > 55"},
              "invalid_count(amount) = 0 between 0 and 100", "invalid_count(amount) < 50 between 0 and 30"]
    shop(checks, monitors={"min_history": 3, "sensitivity": 5})
    code, out, _ = run_cli(["check", "shop", "--format", "json"])
    alone = {r["name"]: (r["value"], r["outcome"]) for r in json.loads(out)}
    assert run_cli(["quality", "shop"])[0] == 0
    store = Store(tmp_path / "store")
    stored = store.sql("SELECT r.name, r.value, r.outcome, s.run_type FROM check_results r JOIN sync_runs s USING (run_id) "
                       "WHERE s.run_type = 'quality'")
    assert {n: (v, o) for n, v, o, _ in stored.iter_rows()} == alone  # the same verdicts, reusing the profile
    assert alone["max(amount) < 50"] == (60.0, "fail") and alone["values(status) in [new]"] == (20, "fail")
    assert alone["invalid_count(amount) < 50 between 0 and 30"] == (20, "pass")  # 31.5 .. 60
    db = sqlite3.connect(tmp_path / "shop.db")
    for extra in (1, 2):  # three runs of about 40 rows: no flag before the minimum history
        db.execute("INSERT INTO orders VALUES (?, 'new', 1.0, 'x@y.z')", (100 + extra,))
        db.commit()
        assert run_cli(["quality", "shop"])[0] == 0
    assert store.sql("SELECT count(*) AS n FROM anomalies")["n"][0] == 0
    db.execute("DELETE FROM orders WHERE id > 5")
    db.commit()
    assert run_cli(["quality", "shop"])[0] == 0
    flags = store.sql("SELECT metric, value, expected, explanation FROM anomalies WHERE metric = 'row_count'")
    assert flags.rows() == [("row_count", 5.0, 41.0, flags["explanation"][0])]
    assert flags["explanation"][0].startswith("orders.row_count 5 is ") and "below its 3-run median 41" in flags["explanation"][0]


def test_a_quality_run_samples_failed_duplicates_from_its_top_values(shop, tmp_path):
    from dsa.store import Store

    # status holds 'new' 20 times and 'paid' 20 times: 38 duplicates, both values repeated
    shop(["duplicate_count(status) = 0", "duplicate_count(id) = 0"])
    code, out, _ = run_cli(["check", "shop", "--format", "json"])
    alone = {r["name"]: r for r in json.loads(out)}
    assert run_cli(["quality", "shop"])[0] == 0
    stored = Store(tmp_path / "store").sql(
        "SELECT r.name, r.value, r.outcome, r.samples FROM check_results r JOIN sync_runs s USING (run_id) "
        "WHERE s.run_type = 'quality'")
    profiled = {n: (v, o, json.loads(x) if x else None) for n, v, o, x in stored.iter_rows()}
    assert profiled["duplicate_count(status) = 0"][:2] == (alone["duplicate_count(status) = 0"]["value"], "fail") == (38, "fail")
    assert {s["value"] for s in profiled["duplicate_count(status) = 0"][2]} == {"new", "paid"}
    assert profiled["duplicate_count(id) = 0"] == (0, "pass", None)
