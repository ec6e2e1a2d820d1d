"""The catalog read from Postgres: `dsa query`, `dsa runs` and the app over the mirror give what
the local store gives; app instances over one Postgres catalog share their runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from dsa.catalog import open_catalog
from dsa.config import parse_config
from dsa.demo import build_shop
from dsa.mirror import mirror
from dsa.pg_catalog import PostgresCatalog, translate_query
from dsa.queries import ROOT
from dsa.scan import scan

pytestmark = pytest.mark.postgres

# Queries as the app and the views file write them (DuckDB dialect).
QUERIES = [
    # pages/overview.py
    """SELECT connection, count(DISTINCT schema_name) AS schemas, count(*) AS tables, sum(column_count) AS columns
       FROM latest_table_metadata GROUP BY connection ORDER BY connection""",
    "SELECT * FROM latest_scan_runs",
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'latest_table_metadata' ORDER BY ordinal_position",
    "SELECT run_id, status, started_at, finished_at, duration_s, column_count FROM scan_runs ORDER BY started_at",
    """SELECT table_name, column_name, ordinal_position, data_type, is_nullable, is_primary_key, column_default
       FROM latest_column_metadata ORDER BY table_name, ordinal_position""",
    """SELECT t.table_name, t.table_type, count(c.column_name) AS n, avg(c.ordinal_position) AS mean_pos,
              string_agg(c.column_name, ',' ORDER BY c.ordinal_position) AS names
       FROM latest_table_metadata t LEFT JOIN latest_column_metadata c USING (table_qualified_name)
       WHERE t.table_name LIKE '%s' OR t.table_name ILIKE 'ORDER%'
       GROUP BY ALL ORDER BY 1""".replace("table_qualified_name)", "run_id, schema_name, table_name)"),
    """SELECT s.run_id, s.qualified_name, count(*) FILTER (WHERE c.is_nullable) AS nullable
       FROM normalized_schemas s JOIN normalized_columns c USING (run_id) GROUP BY ALL ORDER BY 1""",
]


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """`dsa ARGS...` in this process (the real command line code): (exit code, stdout, stderr)."""
    from dsa.cli import main

    monkeypatch.setenv("DSA_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("DSA_CONFIG", str(tmp_path / "dsa.yaml"))
    monkeypatch.setenv("DSA_CACHE", str(tmp_path / "cache"))

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def mirrored(cli, pg_database):
    """A local demo catalog, mirrored into a fresh Postgres database."""
    assert cli("demo")[0] == 0
    code, out, err = cli("mirror", "--dsn", pg_database)
    assert code == 0, err
    return pg_database


def _query(cli, sql: str, store: str | None = None) -> list[dict]:
    code, out, err = cli(*(["--store", store] if store else []), "query", "--format", "json", "--", sql)
    assert code == 0, (sql, err)
    return json.loads(out)


def test_views_file_translates(mirrored):
    assert (ROOT / "views.sql").exists()
    text, n = translate_query("SELECT * FROM latest_column_metadata WHERE run_id = ? AND table_name LIKE 'a%'")
    assert n == 1 and "$1" in text and "'a%'" in text


def test_query_gives_the_same_json_as_the_local_store(cli, mirrored):
    for sql in QUERIES:
        local = _query(cli, sql)
        remote = _query(cli, sql, mirrored)
        assert local, sql
        assert remote == local, sql


def test_json_columns_hold_the_same_values(cli, mirrored):
    sql = "SELECT qualified_name, attributes, custom_attributes FROM latest_column_metadata ORDER BY qualified_name"
    local, remote = _query(cli, sql), _query(cli, sql, mirrored)
    assert len(local) == len(remote) == 44

    def parsed(rows):
        return [{k: json.loads(v) if k != "qualified_name" else v for k, v in row.items()} for row in rows]

    assert parsed(remote) == parsed(local)  # jsonb keeps values, not key order or spacing


def test_runs_and_errors_over_postgres(cli, mirrored, tmp_path):
    code, out, err = cli("--store", mirrored, "runs")
    local = open_catalog(tmp_path / "store").sync_runs()
    assert code == 0 and out.count("success") == local.filter(local["status"] == "success").height >= 2, err
    for bad in ("DELETE FROM sync_runs", "SELECT 1; SELECT 2"):
        code, out, err = cli("--store", mirrored, "query", bad)
        assert code == 2 and err.startswith("error: query:"), err
    code, out, err = cli("--store", mirrored, "query", "SELECT nosuch FROM sync_runs")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "nosuch" in err, err
    out = tmp_path / "export"
    code, _, err = cli("--store", mirrored, "export", "--format", "json", "--out", str(out))
    assert code == 0, err
    assert len(json.loads((out / "normalized_columns.json").read_text())) == 44


def test_reader_session_is_read_only(mirrored, tmp_path):
    catalog = PostgresCatalog(mirrored, open_catalog(tmp_path / "cache"))
    with catalog._session() as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM sync_runs")
    first = catalog.sync_runs()["run_id"][0]
    assert catalog.sql("SELECT count(*) AS n FROM normalized_tables WHERE run_id = ?", [first])["n"].to_list() == [7]
    con = catalog.connect()  # DuckDB over a replica of the Postgres catalog
    assert con.execute("SELECT count(*) FROM normalized_columns WHERE run_id = ?", [first]).fetchall() == [(39,)]
    assert con.sql("SELECT run_id FROM sync_runs ORDER BY started_at").pl()["run_id"][0] == first


def test_catalog_queries_on_postgres_see_only_the_catalog(mirrored, tmp_path):
    from dsa.errors import ConfigError

    catalog = PostgresCatalog(mirrored, open_catalog(tmp_path / "cache"))
    assert catalog.read_only_query("SELECT count(*) AS n FROM latest_table_metadata")["n"].to_list() == [8]
    with psycopg.connect(mirrored) as conn:
        conn.execute("CREATE TABLE public.secret_stuff (x int)")
    for query, said in (("SELECT * FROM pg_shadow", "not a table or view of the catalog"),
                        ("SELECT * FROM public.secret_stuff", "outside the catalog"),
                        ("SELECT * FROM secret_stuff", "not a table or view of the catalog"),
                        ("SELECT pg_read_file('/etc/passwd')", "reaches beyond the catalog"),
                        ("SELECT query_to_xml('SELECT * FROM public.secret_stuff', true, true, '')", "beyond the catalog"),
                        ("SELECT current_setting('data_directory')", "beyond the catalog")):
        with pytest.raises(ConfigError, match=said):
            catalog.read_only_query(query)


def test_two_instances_share_one_postgres_catalog(pg_database, tmp_path, monkeypatch):
    db = build_shop(tmp_path / "shop.db", 1)
    config = parse_config({"sources": {"shop": {"type": "sqlite", "path": str(db)}}})
    monkeypatch.setenv("DSA_CACHE", str(tmp_path / "host_a"))
    a = open_catalog(pg_database, config)
    monkeypatch.setenv("DSA_CACHE", str(tmp_path / "host_b"))
    b = open_catalog(pg_database, config)
    assert isinstance(a, PostgresCatalog) and a.path != b.path
    assert a.sync_runs().height == 0

    first = scan(a, config, "shop")
    assert b.sync_runs()["run_id"].to_list() == [first.run_id]
    # While a run of b is going, a already lists it as running; its rows follow when it ends.
    with b.begin_run("shop", "scan") as run:
        seen = a.sync_runs().filter(a.sync_runs()["run_id"] == run.run_id)["status"].to_list()
        assert seen == ["running"]
    assert a.run(run.run_id)["status"] == "success"
    second = scan(b, config, "shop")
    assert a.sync_runs()["run_id"].to_list() == [first.run_id, run.run_id, second.run_id]
    assert a.sql("SELECT count(*) AS n FROM latest_column_metadata")["n"].to_list() == [39]
    assert not (Path(a.path) / "runs" / second.run_id).exists()  # b's run reached a through Postgres

    # Code that needs DuckDB itself gets it over a replica of the catalog, filled once per run.
    con = a.connect()
    try:
        con.execute("SET VARIABLE wanted = ?", [second.run_id])
        assert con.execute("SELECT count(*) FROM normalized_columns WHERE run_id = getvariable('wanted')").fetchone() == (39,)
        assert con.execute("SELECT status FROM sync_runs WHERE run_id = getvariable('wanted')").fetchone() == ("success",)
    finally:
        con.close()
    assert (Path(a.path) / "runs" / second.run_id / "normalized_columns").is_dir()
    assert a.replicate() == []
    assert mirror(a.cache, pg_database).mirrored == []  # replicated runs are not mirrored back


def test_strict_mirror_failure_fails_the_run_command(dsa_cli, tmp_path):
    """With the catalog in Postgres, a run that cannot reach it is an error (kept locally)."""
    db = build_shop(tmp_path / "shop.db", 1)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    r = dsa_cli("--store", "postgresql://postgres@127.0.0.1:1/nowhere", "scan", "shop",
                env={"DSA_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 1
    assert "is kept in" in r.stderr and "but not in the catalog: cannot connect to the mirror" in r.stderr


def _render(root: Path, page: str, store: str) -> list:
    """Every table a page shows, rendered by AppTest over the catalog `store`."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["DSA_STORE"] = store
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=60)
    at.run()
    if page != "pages/overview.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, (page, store, [e.message for e in at.exception])
    texts = [str(e.value) for kind in ("markdown", "caption", "subheader", "header", "title", "metric")
             for e in getattr(at, kind)] + [str(o) for box in at.selectbox for o in box.options]
    return [d.value for d in at.dataframe] + [d.value for d in at.table], " ".join(texts)


def test_app_pages_over_postgres(mirrored, tmp_path, monkeypatch):
    """Each page of the app renders from the Postgres catalog the same tables as from the local store."""
    import streamlit as st

    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("DSA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DSA_STORE", mirrored)
    monkeypatch.chdir(root)
    pages = sorted(p.relative_to(root).as_posix() for p in (root / "pages").glob("*.py"))
    assert "pages/overview.py" in pages
    try:
        for page in pages:
            remote, remote_text = _render(root, page, mirrored)
            local, _ = _render(root, page, str(tmp_path / "store"))
            assert len(remote) == len(local), page
            for r, l in zip(remote, local):
                assert list(r.columns) == list(l.columns) and r.shape == l.shape, page
                if page == "pages/quality.py":
                    # its "worst columns" list is a LIMIT over tied scores: either catalog may pick
                    # other rows of the tie, so only the shape is compared there
                    continue
                plain = [c for c in l.columns if not any(isinstance(v, str) and v[:1] in "{[" for v in l[c])]
                # the same rows (ties of a sort may come out in another order)
                assert sorted(r[plain].astype(str).values.tolist()) == sorted(l[plain].astype(str).values.tolist()), (page, plain)
            if page == "pages/overview.py":
                assert "demo_shop" in remote_text.replace("\\_", "_") or any("demo_shop" in t.astype(str).values for t in remote)
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


def _report_queries() -> list[Path]:
    """Every shipped report query (`queries/*.sql` that is one SELECT without parameters)."""
    import sqlglot
    from sqlglot import exp

    out = []
    for path in sorted(ROOT.glob("*.sql")):
        if path.stem.startswith("views"):
            continue
        statements = sqlglot.parse(path.read_text(encoding="utf-8"), read="duckdb")
        if len(statements) == 1 and isinstance(statements[0], exp.Query) and not statements[0].find(exp.Placeholder, exp.Parameter):
            out.append(path)
    return out


def test_shipped_report_queries_give_the_same_json(cli, mirrored):
    """As features add report queries to queries/, each must read the same from Postgres."""
    for path in _report_queries():
        sql = path.read_text(encoding="utf-8")
        assert _query(cli, sql, mirrored) == _query(cli, sql), path.name


def test_a_cache_folder_opens_its_postgres_catalog(pg_database, tmp_path, monkeypatch):
    """The app hands `DSA_STORE=<cache folder>` to `dsa scan` subprocesses: their runs reach Postgres."""
    import os
    import stat
    import subprocess
    import sys

    monkeypatch.setenv("DSA_CACHE", str(tmp_path / "cache"))
    catalog = open_catalog(pg_database)
    marker = Path(catalog.path) / "postgres-catalog.json"
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    db = build_shop(tmp_path / "shop.db", 1)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    env = {**os.environ, "DSA_STORE": str(catalog.path), "DSA_CONFIG": str(tmp_path / "dsa.yaml")}
    r = subprocess.run([sys.executable, "-m", "dsa", "scan", "shop"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    run_id = r.stdout.split()[0]
    assert catalog.run(run_id)["status"] == "success"
    assert isinstance(open_catalog(catalog.path), PostgresCatalog)


def test_a_query_written_again_for_postgres_replaces_the_translation(mirrored, tmp_path, monkeypatch):
    import shutil

    from dsa import queries

    folder = tmp_path / "queries"
    shutil.copytree(queries.ROOT, folder)
    # DuckDB renames the duplicate column of `m.*, c.schema_name`; Postgres would call it ambiguous.
    (folder / "report_tables.sql").write_text(
        "-- tables of one run\nSELECT t.*, s.schema_name FROM normalized_tables t JOIN normalized_schemas s USING (run_id)\n"
        "WHERE run_id = $1 ORDER BY table_name\n")
    (folder / "mirror" / "report_tables.sql").write_text(
        "SELECT t.*, s.schema_name AS schema_name_1 FROM normalized_tables t JOIN normalized_schemas s USING (run_id)\n"
        "WHERE run_id = $1 ORDER BY table_name\n")
    monkeypatch.setattr(queries, "ROOT", folder)
    queries.text.cache_clear()
    try:
        catalog = open_catalog(mirrored)
        first = catalog.sync_runs()["run_id"][0]
        text = queries.text("report_tables")
        local = open_catalog(tmp_path / "store").sql(text, [first])
        remote = catalog.sql(text, [first])
        assert remote.columns == local.columns and remote.height == local.height == 7
        assert remote["table_name"].to_list() == local["table_name"].to_list()
    finally:
        queries.text.cache_clear()
