"""`dsa connections ...`, config secrets and the audit log, on SQLite (servers: test_secret_leaks.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.inprocess import run_cli


@pytest.fixture
def env(tmp_path, monkeypatch):
    """In-process `dsa` with a store and config under tmp_path, acting as user 'alice'."""
    from dsa.demo import build_shop

    monkeypatch.delenv("DSA_SECRET_KEY", raising=False)
    monkeypatch.setenv("DSA_USER", "alice")
    monkeypatch.chdir(tmp_path)
    db = build_shop(tmp_path / "shop.db", 1)
    base = ["--store", str(tmp_path / "store"), "--config", str(tmp_path / "dsa.yaml")]
    (tmp_path / "dsa.yaml").write_text("")

    def run(*args, stdin=""):
        return run_cli([*base, *args], stdin)

    run.db, run.store, run.config = db, tmp_path / "store", tmp_path / "dsa.yaml"
    return run


def _audit(store):
    from dsa.store import Store

    return Store(store).sql("SELECT actor, action, target, outcome, details, error FROM audit_log "
                            "ORDER BY recorded_at").rows()


def test_add_list_test_remove(env):
    code, out, err = env("connections", "add", "shop", "--type", "sqlite", "--path", str(env.db))
    assert code == 0 and out.strip() == "saved sqlite connection 'shop'", err
    code, out, _ = env("connections", "list", "--format", "json")
    assert json.loads(out) == [{"name": "shop", "type": "sqlite", "target": f"sqlite file {env.db}", "defined_in": "store",
                                "secret": "none", "error": None}]
    code, out, err = env("connections", "test", "shop")
    assert code == 0 and out.startswith(f"ok      shop  (sqlite file {env.db})"), err
    code, out, _ = env("scan", "shop")
    assert code == 0 and "shop: success, 1 schemas, 7 tables, 39 columns" in out
    code, out, _ = env("connections", "remove", "shop")
    assert code == 0 and out.strip() == "removed connection 'shop' (settings)"
    code, out, _ = env("connections", "list", "--format", "json")
    assert json.loads(out) == []
    code, _, err = env("connections", "remove", "shop")
    assert code == 2 and err.strip() == "error: no stored connection 'shop'"

    rows = _audit(env.store)
    assert {r[0] for r in rows} == {"alice"}
    assert [(r[1], r[2], r[3]) for r in rows if not r[1].startswith("run.")] == [
        ("connection.add", "shop", "ok"), ("connection.test", "shop", "ok"), ("connection.remove", "shop", "ok"),
        ("connection.remove", "shop", "error"),
    ]
    runs = [r for r in rows if r[1].startswith("run.")]
    assert [(r[1], r[3]) for r in runs] == [("run.start", "started"), ("run.finish", "success")]
    assert json.loads(runs[1][4])["counts"]["table_count"] == 7 and json.loads(runs[1][4])["connection"] == "shop"


def test_add_refuses_conflicts_and_bad_settings(env):
    env.config.write_text(f"sources:\n  cfg: {{type: sqlite, path: '{env.db}'}}\n")
    cases = [
        (["cfg", "--type", "sqlite", "--path", "x.db"], "connection 'cfg' is defined in"),
        (["new", "--type", "sqlite"], "sources.new.path: missing"),
        (["new", "--type", "oracle", "--path", "x"], "sources.new.type: unknown source type 'oracle'"),
        (["new", "--type", "sqlite", "--path", "x", "--set", "colour=red"], "sources.new.colour: unknown key"),
        (["new", "--type", "sqlite", "--path", "x", "--set", "timeout_s=-1"], "sources.new.timeout_s: input should be greater than 0"),
        (["new", "--type", "sqlite", "--path", "x", "--set", "nokey"], "--set 'nokey': expected KEY=VALUE"),
        (["new", "--type", "sqlite", "--path", "x", "--set", "password=x"], "--set password: passwords go in with"),
        (["new", "--path", "x"], "--type: missing"),
        (["new", "--type", "sqlite", "--path", "x", "--password-stdin"], "sources.new.password: unknown key"),
        (["new"], "connection 'new': nothing to add"),
        (["bad\x07name", "--type", "sqlite", "--path", "x"], "must not hold control characters"),
    ]
    for args, expected in cases:
        code, out, err = env("connections", "add", *args, stdin="Pw-0123456\n")
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (env.store / "connections.json").exists() and not (env.store / "credentials.json").exists()
    assert env("connections", "add", "new", "--type", "sqlite", "--path", str(env.db))[0] == 0
    code, _, err = env("connections", "add", "new", "--type", "sqlite", "--path", "other.db")
    assert code == 2 and "already exists in the store (use --replace" in err
    assert env("connections", "add", "new", "--type", "sqlite", "--path", "other.db", "--replace")[0] == 0
    listed = {r["name"]: r for r in json.loads(env("connections", "list", "--format", "json")[1])}
    assert listed["new"]["target"] == "sqlite file other.db" and listed["cfg"]["defined_in"] == "config"
    actions = [(r[1], r[3]) for r in _audit(env.store)]
    # what reached the library is audited (9 refusals); a command line refused while parsing is not
    assert actions.count(("connection.add", "error")) == 9 and actions[-1] == ("connection.update", "ok")


def test_test_reports_the_one_line_error(env):
    env.config.write_text("sources:\n  gone: {type: sqlite, path: /nonexistent/x.db}\n")
    code, out, err = env("connections", "test", "gone")
    assert code == 1 and err.strip() == "failed  gone: cannot open source 'gone' (sqlite file /nonexistent/x.db): file not found"
    code, _, err = env("connections", "test", "nosuch")
    assert code == 2 and "unknown source 'nosuch' (known: gone)" in err


def test_plaintext_password_in_config_warns_once(tmp_path):
    """In a fresh process: the warning is one line naming the source; ${ENV} passwords do not warn."""
    (tmp_path / "dsa.yaml").write_text(
        "mirror: {dsn: 'postgresql://dsa:Plain-Pw-4471@127.0.0.1:1/x'}\n"
        "sources:\n  ok: {type: sqlite, path: x.db}\n"
    )
    env = {**os.environ, "DSA_STORE": str(tmp_path / "store"), "DSA_CONFIG": str(tmp_path / "dsa.yaml")}
    r = subprocess.run([sys.executable, "-m", "dsa", "connections", "list"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {tmp_path / 'dsa.yaml'}: mirror.dsn holds a plaintext password (use ${{ENV}})"]
    assert "Plain-Pw-4471" not in r.stdout + r.stderr
    (tmp_path / "dsa.yaml").write_text("mirror: {dsn: 'postgresql://dsa:${MIRROR_PW}@127.0.0.1:1/x'}\n")
    r = subprocess.run([sys.executable, "-m", "dsa", "connections", "list"], capture_output=True, text=True,
                       env={**env, "MIRROR_PW": "Env-Pw-5512"})
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_config_secrets_are_scrubbed(monkeypatch):
    """A password from ${ENV} in a DSN is scrubbed raw, URL-encoded and escaped, wherever it shows up."""
    from urllib.parse import quote

    from dsa.config import parse_config
    from dsa.errors import scrub

    password = "Env P@ss/w'rd-x91"
    monkeypatch.setenv("DSA_TEST_PW", quote(password, safe=""))
    parse_config({"mirror": {"dsn": "postgresql://u:${DSA_TEST_PW}@h/db"}})
    for shown in (password, quote(password, safe=""), repr(password)[1:-1]):
        assert scrub(f"auth failed for {shown}!") == "auth failed for ***!"


def test_failed_run_is_audited_with_its_error(env):
    env.config.write_text("sources:\n  gone: {type: sqlite, path: /nonexistent/x.db}\n")
    assert env("scan", "gone")[0] == 1
    rows = [r for r in _audit(env.store) if r[1].startswith("run.")]
    assert [(r[0], r[1], r[3]) for r in rows] == [("alice", "run.start", "started"), ("alice", "run.finish", "failed")]
    assert rows[1][5] == "cannot open source 'gone' (sqlite file /nonexistent/x.db): file not found"


def test_concurrent_audit_appends_stay_whole(tmp_path):
    """Four processes append 200 records each at once: every line is whole and none is lost."""
    script = (
        "import sys\nfrom dsa import audit\n"
        "for i in range(200):\n"
        "    audit.record(sys.argv[1], 'test.append', f'{sys.argv[2]}-{i}', 'ok', None, {'pad': 'x' * 300})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(n)]) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    lines = "".join(p.read_text() for p in (tmp_path / "audit").glob("*.jsonl")).splitlines()
    targets = sorted(json.loads(line)["target"] for line in lines)
    assert targets == sorted(f"{n}-{i}" for n in range(4) for i in range(200))
    from dsa.store import Store

    assert Store(tmp_path).sql("SELECT count(*) FROM audit_log WHERE action = 'test.append'").item() == 800


def test_audit_view_follows_new_records_and_skips_a_torn_line(tmp_path):
    from dsa import audit
    from dsa.store import Store

    store = Store(tmp_path / "s")
    con = store.connect()
    assert con.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
    audit.record(store.path, "connection.test", "a", "ok")
    store.refresh(con)  # the empty view is replaced by the one over the files
    audit.record(store.path, "connection.test", "b", "error", "boom")
    day = next((store.path / "audit").glob("*.jsonl"))
    with open(day, "a") as fh:
        fh.write('{"recorded_at": "2026-01-01T00:00:00+00:00", "actor": "half-writ')  # a writer caught mid-line
    rows = con.execute("SELECT target, outcome, error FROM audit_log ORDER BY recorded_at").fetchall()
    assert rows == [("a", "ok", None), ("b", "error", "boom")]
