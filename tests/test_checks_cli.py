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
