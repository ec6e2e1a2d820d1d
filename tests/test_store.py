"""The store: immutable runs, concurrent writers and readers, kill safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

from dsa.demo import build_shop
from dsa.model import COLUMNS, frame


def test_empty_store_has_every_table(store):
    con = store.connect()
    for table in ("sync_runs", "normalized_schemas", "normalized_tables", "normalized_columns",
                  "latest_schema_metadata", "latest_table_metadata", "latest_column_metadata"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_failed_run_is_recorded_and_keeps_earlier_runs(store):
    with store.begin_run("c", "scan") as run:
        run.write("normalized_columns", frame([{"run_id": run.run_id, "connection": "c", "qualified_name": "c.s.t.x"}], COLUMNS))
    first = run.run_id
    with pytest.raises(RuntimeError):
        with store.begin_run("c", "scan"):
            raise RuntimeError("boom password=hunter2")
    runs = store.sync_runs()
    assert runs["status"].to_list() == ["success", "failed"]
    assert "hunter2" not in runs["error"][1] and "boom" in runs["error"][1]
    assert store.sql("SELECT run_id FROM latest_column_metadata")["run_id"].to_list() == [first]


SLOW_SCAN = """
import sys, time
from dsa.store import Store
store = Store(sys.argv[1])
with store.begin_run("slow", "scan") as run:
    print(run.run_id, flush=True)
    time.sleep(60)
"""


def test_killed_run_is_shown_failed(store):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SCAN, str(store.path)], stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert store.run(run_id)["status"] == "running"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    m = store.run(run_id)
    assert m["status"] == "failed" and "ended before it finished" in m["error"]


def test_concurrent_scans_and_reader_in_processes(tmp_path, dsa_cli):
    db = build_shop(tmp_path / "shop.db", 1)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    env = {**os.environ, "DSA_STORE": str(tmp_path / "store"), "DSA_CONFIG": str(tmp_path / "dsa.yaml")}
    procs = [subprocess.Popen([sys.executable, "-m", "dsa", "scan", "shop"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    reads = 0
    while any(p.poll() is None for p in procs):
        r = dsa_cli("query", "SELECT count(*) AS n FROM normalized_columns", "--format", "json")
        assert r.returncode == 0, r.stderr
        reads += 1
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0, err
        assert "success" in out
    r = dsa_cli("query", "SELECT count(*) AS runs, count(DISTINCT run_id) AS ids FROM sync_runs WHERE status='success'", "--format", "json")
    assert r.stdout.strip() == '[{"runs": 4, "ids": 4}]'
    r = dsa_cli("query", "SELECT count(*) AS n FROM normalized_columns", "--format", "json")
    assert r.stdout.strip() == f'[{{"n": {4 * 39}}}]'
    assert reads >= 1


def test_duckdb_connections_print_no_progress_bar(tmp_path):
    """DuckDB prints a progress bar to stdout (even into a pipe) for queries over two seconds:
    every connection dsa opens turns it off, so `dsa query --format csv` output stays data."""
    import duckdb

    from dsa import diff
    from dsa.config import parse_source
    from dsa.connectors import open_source
    from dsa.store import Store

    setting = "SELECT current_setting('enable_progress_bar')"
    store = Store(tmp_path / "store")
    assert store.connect().execute(setting).fetchone() == (False,)
    assert diff._connect(store).execute(setting).fetchone() == (False,)
    db = tmp_path / "x.duckdb"
    duckdb.connect(str(db)).execute("CREATE TABLE t (a INTEGER)").close()
    (tmp_path / "data").mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "data" / "t.parquet")
    for spec in ({"type": "duckdb", "path": str(db)}, {"type": "files", "paths": [str(tmp_path / "data")]}):
        conn = open_source("s", parse_source("s", spec)).connect()
        assert conn.execute(setting).fetchone() == (False,), spec


def test_a_scan_run_starts_when_its_reading_starts(tmp_path):
    """`dsa scan` starts reading its source before it opens the catalog: the run's start (and
    so its duration in `dsa runs`) counts from there, as the printed summary does."""
    from datetime import datetime

    from dsa.config import Config, parse_source
    from dsa.demo import build_shop
    from dsa.scan import scan, start
    from dsa.store import Store

    db = build_shop(tmp_path / "shop.db", 1)
    config = Config(sources={"shop": parse_source("shop", {"type": "sqlite", "path": str(db)})})
    store = Store(tmp_path / "store")
    reading = start(config, "shop")
    time.sleep(0.3)
    result = scan(store, config, "shop", reading=reading)
    (run,) = store.manifests()
    duration = (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()
    assert result.status == "success" and duration >= 0.3 and result.seconds >= 0.3
    assert abs(duration - result.seconds) < 0.2
