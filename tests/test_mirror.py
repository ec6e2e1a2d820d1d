"""The Postgres mirror against the real server: complete, incremental, idempotent, atomic per run,
and able to take new columns; plus the automatic mirror after each run."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import polars as pl
import psycopg
import pytest
from psycopg import sql

from dsa.config import Config
from dsa.demo import DEMO_SOURCE, run_demo
from dsa.mirror import JSON_COLUMNS, SCHEMA, mirror, tables
from dsa.model import CATALOG_TABLES, COLUMNS, frame
from dsa.scan import scan
from dsa.sources import all_sources

pytestmark = pytest.mark.postgres


def _norm(value, json_column: bool):
    if json_column and isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, (dict, list)):  # jsonb orders keys its own way
        return json.dumps(value, sort_keys=True)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def local_rows(store, table: str) -> list[tuple]:
    con = store.connect()
    try:
        data = con.sql(sql_select(table)).pl()
    finally:
        con.close()
    return [tuple(_norm(r[c], c in JSON_COLUMNS) for c in tables()[table]) for r in data.iter_rows(named=True)]


def pg_rows(dsn: str, table: str) -> list[tuple]:
    columns = list(tables()[table])
    with psycopg.connect(dsn) as conn:
        query = sql.SQL("SELECT {} FROM {}.{}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(SCHEMA), sql.Identifier(table))
        rows = conn.execute(query).fetchall()
    return [tuple(_norm(v, False) for v in row) for row in rows]


def sql_select(table: str) -> str:
    return f"SELECT * FROM {table}"  # table names come from CATALOG_TABLES, not from input


def checksum(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()


def assert_same_catalog(store, dsn: str) -> dict[str, int]:
    """Every mirrored table has the local store's row count and content checksum."""
    counts = {}
    for table in tables():
        local, pg = local_rows(store, table), pg_rows(dsn, table)
        assert len(pg) == len(local), table
        assert checksum(pg) == checksum(local), table
        counts[table] = len(local)
    return counts


def scan_shop_twice(store) -> None:
    """The demo's two scans (shop v1 then v2) without its profiling and diff: quicker."""
    from dsa.demo import build_shop
    from dsa.sources import save_spec

    db = build_shop(store.path / "demo" / "shop.db", 1)
    save_spec(store.path, DEMO_SOURCE, {"type": "sqlite", "path": str(db)})
    scan(store, all_sources(Config(), store.path), DEMO_SOURCE)
    build_shop(db, 2)
    scan(store, all_sources(Config(), store.path), DEMO_SOURCE)


def mirrored_runs(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT run_id FROM dsa_production.mirrored_runs ORDER BY run_id")]


def test_demo_mirrors_completely_and_twice_adds_nothing(store, pg_database):
    run_demo(store)
    runs = store.sync_runs().height  # two scans, and the quality and diff runs as those features land
    result = mirror(store, pg_database)
    assert len(result.mirrored) == runs and result.already == 0
    # demo v1: 1 schema, 7 tables, 39 columns; v2: 1 schema, 8 tables, 44 columns
    scanned = {t: result.rows[t] for t in ("normalized_schemas", "normalized_tables", "normalized_columns")}
    assert scanned == {"normalized_schemas": 2, "normalized_tables": 15, "normalized_columns": 83}
    counts = assert_same_catalog(store, pg_database)
    assert counts["sync_runs"] == runs and counts["normalized_columns"] == 83

    again = mirror(store, pg_database)
    assert again.mirrored == [] and again.already == runs and again.rows == {}
    assert assert_same_catalog(store, pg_database) == counts

    with psycopg.connect(pg_database) as conn:
        types = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'dsa_production' AND table_name = 'normalized_columns'").fetchall())
        assert types["attributes"] == types["custom_attributes"] == "jsonb"
        assert types["ordinal_position"] == "bigint" and types["is_nullable"] == "boolean"
        latest = conn.execute("SELECT count(*), count(DISTINCT run_id) FROM dsa_production.latest_column_metadata").fetchone()
        assert latest == (44, 1)
        email = conn.execute(
            "SELECT data_type, attributes->>'data_type' FROM dsa_production.latest_column_metadata "
            "WHERE table_name = 'customers' AND column_name = 'email'").fetchone()
        assert email == ("VARCHAR(80)", "VARCHAR(80)")
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'dsa_production'")}
        assert {"normalized_columns_run_id_qualified_name_idx", "normalized_tables_run_id_qualified_name_idx",
                "sync_runs_connection_started_at_idx", "sync_runs_pkey"} <= indexes


def test_awkward_values_round_trip(store, pg_database, monkeypatch):
    """Quotes, commas, newlines, backslashes, empty vs NULL, Unicode, NaN and infinities, JSON."""
    schema = {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8, "value": pl.Utf8,
              "ratio": pl.Float64, "flag": pl.Boolean, "n": pl.Int64, "at": pl.Datetime("us", "UTC"),
              "changes": pl.Utf8, "tags": pl.List(pl.Utf8)}
    monkeypatch.setitem(CATALOG_TABLES, "test_awkward", schema)
    values = ['a "quoted", value', "", None, "line\nbreak\r\n", "back\\slash\\N", "Україна ★", "tab\tend", "\\."]
    ratios = [0.1, float("nan"), float("inf"), float("-inf"), -0.0, 1e-300, None, 1 / 3]
    changes = [json.dumps({"from": v, "to": [1, 2.5, None]}) for v in values]
    with store.begin_run("odd", "scan") as run:
        rows = [{"run_id": run.run_id, "connection": "odd", "qualified_name": f"odd.t{i}", "value": v,
                 "ratio": r, "flag": [True, False, None][i % 3], "n": [2**62, -1, None, 0][i % 4],
                 "at": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc) if i % 2 else None,
                 "changes": c, "tags": [None, [], ["a", 'b"c', None]][i % 3]}
                for i, (v, r, c) in enumerate(zip(values, ratios, changes))]
        run.write("test_awkward", frame(rows, schema))
    mirror(store, pg_database)
    assert_same_catalog(store, pg_database)


def test_nul_characters_become_replacement_characters(store, pg_database, monkeypatch):
    schema = {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8, "value": pl.Utf8,
              "attributes": pl.Utf8}
    monkeypatch.setitem(CATALOG_TABLES, "test_nul", schema)
    with store.begin_run("nul", "scan") as run:
        run.write("test_nul", frame([{"run_id": run.run_id, "connection": "nul", "qualified_name": "a\x00b",
                                      "value": "x\x00y", "attributes": json.dumps({"top": "p\x00q"})}], schema))
    mirror(store, pg_database)
    with psycopg.connect(pg_database) as conn:
        row = conn.execute("SELECT qualified_name, value, attributes->>'top' FROM dsa_production.test_nul").fetchone()
    assert row == ("a\ufffdb", "x\ufffdy", "p\ufffdq")


def test_new_columns_and_tables_are_added_without_losing_rows(store, pg_database, monkeypatch):
    scan_shop_twice(store)
    mirror(store, pg_database)
    before = pg_rows(pg_database, "normalized_columns")

    # A newer dsa: normalized_columns gains a column, and a feature adds a table.
    monkeypatch.setitem(CATALOG_TABLES, "normalized_columns", {**COLUMNS, "sensitivity": pl.Utf8})
    metrics = {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8, "null_percentage": pl.Float64}
    monkeypatch.setitem(CATALOG_TABLES, "test_metrics", metrics)
    store.init()
    with store.begin_run(DEMO_SOURCE, "scan") as run:
        base = {"run_id": run.run_id, "connection": DEMO_SOURCE, "schema_name": "main", "table_name": "t"}
        run.write("normalized_columns", frame([{**base, "qualified_name": "demo_shop.main.t.a", "column_name": "a",
                                                "sensitivity": "pii"}], CATALOG_TABLES["normalized_columns"]))
        run.write("test_metrics", frame([{**base, "qualified_name": "demo_shop.main.t.a", "null_percentage": 12.5}], metrics))
    result = mirror(store, pg_database)
    assert result.mirrored == [run.run_id] and result.already == store.sync_runs().height - 1

    after = pg_rows(pg_database, "normalized_columns")
    assert len(after) == len(before) + 1
    assert sorted(row[:-1] for row in after if row[-1] is None) == sorted(before)  # old rows kept, NULL in the new column
    assert [row[-1] for row in after if row[-1] is not None] == ["pii"]
    assert_same_catalog(store, pg_database)
    with psycopg.connect(pg_database) as conn:
        # views are rebuilt, so `latest_column_metadata` (c.*) shows the new column too
        latest = conn.execute("SELECT sensitivity FROM dsa_production.latest_column_metadata").fetchall()
        assert latest == [("pii",)]


def test_running_run_shows_its_status_and_its_rows_follow_when_it_ends(store, pg_database):
    scan_shop_twice(store)
    with store.begin_run(DEMO_SOURCE, "scan") as run:
        run.write("normalized_schemas", frame([{"run_id": run.run_id, "connection": DEMO_SOURCE,
                                                "qualified_name": "demo_shop.main", "schema_name": "main"}],
                                              CATALOG_TABLES["normalized_schemas"]))
        result = mirror(store, pg_database)
        assert result.running == [run.run_id] and len(result.mirrored) == store.sync_runs().height - 1
        with psycopg.connect(pg_database) as conn:
            status = conn.execute("SELECT status FROM dsa_production.sync_runs WHERE run_id = %s", [run.run_id]).fetchone()
            rows = conn.execute("SELECT count(*) FROM dsa_production.normalized_schemas WHERE run_id = %s", [run.run_id]).fetchone()
        assert status == ("running",) and rows == (0,)
    result = mirror(store, pg_database)
    assert result.mirrored == [run.run_id]
    assert_same_catalog(store, pg_database)


def _backend(dsn: str, state_sql: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'dsa mirror' AND " + state_sql).fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise AssertionError(f"no mirror backend with {state_sql}")


def test_mirror_killed_mid_copy_then_rerun_is_complete(store, pg_database, tmp_path):
    scan_shop_twice(store)
    mirror(store, pg_database)
    third = scan(store, all_sources(Config(), store.path), DEMO_SOURCE)

    blocker = psycopg.connect(pg_database)
    # Hold the columns table so the mirror stops inside its COPY into it, after copying the
    # third run's schemas and tables in the same transaction.
    blocker.execute("LOCK TABLE dsa_production.normalized_columns IN SHARE MODE")
    env = {**os.environ, "DSA_STORE": str(store.path), "DSA_CONFIG": str(tmp_path / "none.yaml")}
    proc = subprocess.Popen([sys.executable, "-m", "dsa", "mirror", "--dsn", pg_database], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pid = _backend(pg_database, "wait_event_type = 'Lock' AND query LIKE 'COPY%normalized_columns%'")
        with psycopg.connect(pg_database) as conn:
            # the copied schemas and tables of the unfinished transaction are invisible
            seen = conn.execute("SELECT count(*) FROM dsa_production.normalized_tables WHERE run_id = %s",
                                [third.run_id]).fetchone()
        assert seen == (0,)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        blocker.rollback()
        blocker.close()
    assert proc.returncode == -signal.SIGKILL

    # The orphaned backend gets its lock, finds the client gone, and rolls back.
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for _ in range(600):
            if not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the killed mirror's backend lingers")
        for table in ("normalized_schemas", "normalized_tables", "normalized_columns"):
            query = sql.SQL("SELECT count(*) FROM dsa_production.{} WHERE run_id = %s").format(sql.Identifier(table))
            assert conn.execute(query, [third.run_id]).fetchone() == (0,), table
    assert third.run_id not in mirrored_runs(pg_database)

    result = mirror(store, pg_database)
    assert result.mirrored == [third.run_id] and result.already == store.sync_runs().height - 1
    counts = assert_same_catalog(store, pg_database)
    assert counts["normalized_columns"] == 39 + 44 + 44


def test_mirror_configured_runs_after_each_run(dsa_cli, tmp_path, pg_database):
    (tmp_path / "dsa.yaml").write_text(f"mirror: {{dsn: '{pg_database}'}}\n")
    r = dsa_cli("demo")
    assert r.returncode == 0, r.stderr
    runs = [line.split()[0] for line in r.stdout.splitlines() if " of shop v" in line or " diff of " in line]
    assert mirrored_runs(pg_database) == sorted(runs) and len(runs) >= 2
    r = dsa_cli("mirror")
    assert r.returncode == 0, r.stderr
    assert "mirrored 0 runs (0 rows)" in r.stdout and f"{len(runs)} already there" in r.stdout


def test_mirror_errors_are_one_line_without_secrets(dsa_cli, tmp_path):
    bad = "postgresql://dsa:s3cretpw@127.0.0.1:1/nowhere"
    r = dsa_cli("mirror", "--dsn", bad)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to the mirror (postgres at 127.0.0.1:1/nowhere)")
    assert "s3cretpw" not in r.stderr + r.stdout
    r = dsa_cli("mirror")
    assert r.returncode == 2 and "mirror: give --dsn" in r.stderr

    # A `mirror:` that cannot be reached does not fail the scan: a warning, and the run is kept.
    (tmp_path / "dsa.yaml").write_text(f"mirror: {{dsn: '{bad}'}}\n")
    r = dsa_cli("demo")
    assert r.returncode == 0, r.stderr
    assert "warning: cannot connect to the mirror" in r.stderr and "s3cretpw" not in r.stderr
    assert "scan of shop v2" in r.stdout


def test_scans_through_the_apps_catalog_are_mirrored(tmp_path, pg_database, monkeypatch):
    """The app opens its catalog with `dsa.ui.catalog()`: a scan it starts is mirrored like the CLI's."""
    import streamlit as st

    from dsa import ui
    from dsa.config import parse_config
    from dsa.demo import build_shop

    db = build_shop(tmp_path / "shop.db", 1)
    (tmp_path / "dsa.yaml").write_text(f"mirror: {{dsn: '{pg_database}'}}\n")
    monkeypatch.setenv("DSA_CONFIG", str(tmp_path / "dsa.yaml"))
    monkeypatch.setenv("DSA_STORE", str(tmp_path / "store"))
    st.cache_resource.clear()
    try:
        catalog = ui.catalog()
        result = scan(catalog, parse_config({"sources": {"shop": {"type": "sqlite", "path": str(db)}}}), "shop")
    finally:
        st.cache_resource.clear()
    assert mirrored_runs(pg_database) == [result.run_id]
    assert len(pg_rows(pg_database, "normalized_columns")) == 39


def test_a_view_postgres_rejects_is_reported_and_the_rest_is_mirrored(store, pg_database, tmp_path, monkeypatch, caplog):
    from dsa import queries

    import shutil

    folder = tmp_path / "queries"
    shutil.copytree(queries.ROOT, folder)
    (folder / "views_zz.sql").write_text(
        "CREATE OR REPLACE VIEW zz_tables AS SELECT list_distinct([table_name, table_name]) AS names FROM normalized_tables;\n")
    monkeypatch.setattr(queries, "ROOT", folder)
    queries.text.cache_clear()
    try:
        scan_shop_twice(store)
        assert store.sql("SELECT count(*) AS n FROM zz_tables")["n"][0] == 15  # fine in DuckDB
        for _ in range(2):
            caplog.clear()
            mirror(store, pg_database)
            warnings = [r.getMessage() for r in caplog.records if "queries/views_zz.sql" in r.getMessage()]
            assert len(warnings) == 1 and "queries/mirror/views_zz.sql" in warnings[0]
        assert_same_catalog(store, pg_database)
        with psycopg.connect(pg_database) as conn:
            views = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.views WHERE table_schema = 'dsa_production'")}
        assert "zz_tables" not in views
        assert {"scan_runs", "latest_scan_runs", "latest_schema_metadata", "latest_table_metadata", "latest_column_metadata"} <= views
    finally:
        queries.text.cache_clear()


def test_credentials_are_mirrored_as_ciphertext_only(tmp_path, pg_database, monkeypatch):
    """DESIGN.md lists `credentials` among the mirrored tables: the vault's rows go over as they
    are (Fernet tokens), replaced whole on every mirror, and the secret itself never does."""
    import psycopg

    from dsa.mirror import mirror
    from dsa.store import Store
    from dsa.vault import Vault

    monkeypatch.delenv("DSA_SECRET_KEY", raising=False)
    store = Store(tmp_path / "store")
    store.init()
    vault = Vault(store.path)
    vault.put("warehouse", "password", "Mirror-Secret-42")
    vault.put("lake", "password", "Other-Secret-43")
    result = mirror(store, pg_database)
    assert result.credentials == 2
    vault.remove("lake")
    assert mirror(store, pg_database).credentials == 1
    with psycopg.connect(pg_database) as conn:
        rows = conn.execute("SELECT connection, secret_kind, ciphertext FROM dsa_production.credentials").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("warehouse", "password")]
    assert "Mirror-Secret-42" not in rows[0][2] and rows[0][2].startswith("gAAAA")
