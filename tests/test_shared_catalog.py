"""Two real `dsa app` servers over one Postgres catalog, each with its own cache folder (two
machines): a connection added with instance A's cache is listed, decrypted and scanned by
instance B in headless Chromium; the vault's ciphertext and the audit log are in Postgres."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg import sql

from tests.conftest import PG_DSN, ROOT
from tests.test_browser import CHROMIUM, IN_CI, app_server, settle

pytestmark = pytest.mark.browser
PASSWORD = "Shared-pw-" + secrets.token_hex(4)


@pytest.fixture
def source_db(pg_admin):
    name = f"dsa_t_{secrets.token_hex(4)}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(PG_DSN.rsplit("/", 1)[0] + "/" + name, autocommit=True) as con:
        con.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        con.execute("INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 3) i")
    yield name
    pg_admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_a_connection_added_on_one_instance_is_scanned_from_another(pg_database, source_db, tmp_path):
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    (tmp_path / "dsa.yaml").write_text("sources: {}\n")
    base = {**os.environ, "DSA_STORE": pg_database, "DSA_CONFIG": str(tmp_path / "dsa.yaml"),
            "DSA_SECRET_KEY": Fernet.generate_key().decode(),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    base.pop("DSA_READ_ONLY", None)
    env_a, env_b = {**base, "DSA_CACHE": str(tmp_path / "a")}, {**base, "DSA_CACHE": str(tmp_path / "b")}
    added = subprocess.run([sys.executable, "-m", "dsa", "connections", "add", "src", "--type", "postgres",
                            "--host", "127.0.0.1", "--port", "5432", "--user", "postgres", "--database", source_db,
                            "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True, env=env_a,
                           cwd=tmp_path, timeout=120)
    assert added.returncode == 0, added.stderr

    with app_server(env_a, tmp_path) as url_a, app_server(env_b, tmp_path) as url_b, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{url_b}/connections")
        settle(page)
        page.get_by_text("src", exact=True).first.wait_for(state="attached")  # the grid keeps an accessible copy
        page.goto(f"{url_b}/runs")
        settle(page)
        page.get_by_role("button", name="Scan").click()
        page.get_by_text("Finished: scan of src").wait_for(timeout=60_000)
        # instance A shows the table B scanned
        page.goto(f"{url_a}/explore?conn=src&schema=public&table=items")
        settle(page)
        try:
            page.get_by_role("heading", name="public.items").wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(tmp_path / "a_explore.png"), full_page=True)
            raise
        browser.close()

    with psycopg.connect(pg_database) as con:
        runs = con.execute("SELECT status, table_count, host FROM dsa_production.sync_runs "
                           "WHERE connection = 'src' AND run_type = 'scan'").fetchall()
        assert [r[:2] for r in runs] == [("success", 1)]
        ciphertext, = con.execute("SELECT ciphertext FROM dsa_production.credentials WHERE connection = 'src'").fetchone()
        actions = [r[0] for r in con.execute("SELECT action FROM dsa_production.audit_log WHERE target IN ('src') "
                                             "OR details->>'connection' = 'src' ORDER BY recorded_at")]
        stored = con.execute("SELECT spec::text FROM dsa_production.connections WHERE name = 'src'").fetchone()[0]
        everything = con.execute("SELECT string_agg(t::text, ' ') FROM dsa_production.audit_log t").fetchone()[0]
    assert Fernet(base["DSA_SECRET_KEY"].encode()).decrypt(ciphertext.encode()).decode().count(PASSWORD) == 1
    assert {"connection.add", "connection.secret", "run.start", "run.finish"} <= set(actions)
    assert PASSWORD not in stored and PASSWORD not in everything
    for cache in ("a", "b"):  # nothing of it in either machine's cache folder
        assert not [*(tmp_path / cache).rglob("credentials.json"), *(tmp_path / cache).rglob("connections.json")]


def test_threads_of_one_process_replicate_a_run_at_once(pg_database, tmp_path):
    """A report reads a Postgres catalog from three threads (the comparison, the history, the
    runs' tables): each may find the same run missing from the cache and copy it at once."""
    from concurrent.futures import ThreadPoolExecutor

    import polars as pl

    from dsa.mirror import mirror
    from dsa.model import frame
    from dsa.pg_catalog import PostgresCatalog
    from dsa.store import Store

    writer = Store(tmp_path / "writer")
    writer.init()
    with writer.begin_run("src", "scan") as run:
        run.write("normalized_tables", frame([{"run_id": run.run_id, "connection": "src", "qualified_name": f"src.s.t{i}",
                                              "schema_name": "s", "table_name": f"t{i}", "table_type": "table"}
                                             for i in range(50)], {"run_id": pl.Utf8, "connection": pl.Utf8,
                                                                   "qualified_name": pl.Utf8, "schema_name": pl.Utf8,
                                                                   "table_name": pl.Utf8, "table_type": pl.Utf8}))
    mirror(writer, pg_database)
    for attempt in range(3):
        reader = PostgresCatalog(pg_database, Store(tmp_path / f"reader{attempt}"))
        with ThreadPoolExecutor(6) as pool:
            tables = list(pool.map(lambda _: reader.run_table(run.run_id, "normalized_tables"), range(6)))
        assert [t.height for t in tables] == [50] * 6
        assert not list((tmp_path / f"reader{attempt}" / "tmp").glob("*/*"))  # no half-copied run left behind
