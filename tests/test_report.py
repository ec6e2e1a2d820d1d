"""`dsa report`: the demo's report and a hostile Postgres source's, opened in headless Chromium
with every request other than the file itself blocked and recorded; the Markdown report of the
same runs; values checked against the engine's own SQL."""

from __future__ import annotations

import json
import re
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dsa.escape import md as escape_md
from tests.conftest import PG_DSN, ROOT

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "Planted-pw-" + secrets.token_hex(4)
SECRET_VALUE = "Secret-value-" + secrets.token_hex(4)  # in a column dsa masks (its name says password)
EVIL_TABLE = '<script>window.__pwned = "table"</script>'
EVIL_COLUMN = '<img src=//203.0.113.9/x onerror="__pwned=1">'  # under Postgres' 63 bytes
EVIL_VALUE = '</script><script>window.__pwned = "value"</script>'
SECTIONS = ["summary", "tables", "insights", "changes", "drift", "checks", "anomalies", "lineage", "errors"]


def dsa(env: dict, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "dsa", *args], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode in (0, 4), out.stderr
    return out


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, pg_admin):
    """A demo catalog plus a scanned and profiled Postgres database full of hostile names."""
    base = tmp_path_factory.mktemp("report")
    name = f"dsa_t_{secrets.token_hex(4)}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = PG_DSN.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(sql.SQL("CREATE TABLE {} ({} text, password text, n int)").format(
            sql.Identifier(EVIL_TABLE), sql.Identifier(EVIL_COLUMN)))
        con.execute(sql.SQL("INSERT INTO {} SELECT CASE WHEN i %% 3 = 0 THEN NULL ELSE %s END, %s, i "
                            "FROM generate_series(1, 30) i").format(sql.Identifier(EVIL_TABLE)),
                    [EVIL_VALUE, SECRET_VALUE])
    user_dsn = dsn.replace("postgres@", "postgres:${EVIL_PW}@")  # trust auth: any password is accepted
    (base / "dsa.yaml").write_text(f"sources:\n  evil: {{type: postgres, dsn: '{user_dsn}'}}\n")
    env = {**os.environ, "EVIL_PW": PASSWORD, "DSA_STORE": str(base / "store"), "DSA_CONFIG": str(base / "dsa.yaml"),
           "DSA_CACHE": str(base / "cache")}
    dsa(env, "demo")
    dsa(env, "scan", "evil")
    dsa(env, "quality", "evil")
    yield base, env, dsn
    pg_admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def reports(catalog):
    from dsa.catalog import open_catalog
    from dsa.report import report_bytes

    base, env, _ = catalog
    dsa(env, "report", "demo_shop", "--out", str(base / "demo_shop.html"))
    store = open_catalog(env["DSA_STORE"])  # the rest in this process: the same function the command calls
    for source, fmt in (("demo_shop", "md"), ("evil", "html"), ("evil", "md")):
        (base / f"{source}.{fmt}").write_bytes(report_bytes(store, None, source, fmt=fmt))
    return base


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def open_offline(browser, path: Path):
    """A page showing the file, every other request aborted and recorded."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    attempted, errors = [], []
    own = path.as_uri()

    def route(r):
        if r.request.url == own:
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(own)
    page.wait_for_selector("#table-list details")
    return page, attempted, errors


def payload(html: str) -> dict:
    start = html.index('<script type="application/json" id="dsa-data">') + len('<script type="application/json" id="dsa-data">')
    return json.loads(html[start:html.index("</script>", start)])


def test_demo_report_opens_offline_with_every_section(reports, browser):
    path = reports / "demo_shop.html"
    assert path.stat().st_size < 2_000_000
    page, attempted, errors = open_offline(browser, path)
    for section in SECTIONS:
        assert page.locator(f"section#{section} h2").count() == 1, section
    page.wait_for_selector("#chart-scores svg")  # the inlined vega-embed drew the Quality page's chart
    page.wait_for_selector("#chart-null-moves svg")
    assert page.locator("#table-list details").count() == 8
    page.locator('#table-list details[data-name="demo_shop.main.orders"] summary').click()
    page.wait_for_selector('details[data-name="demo_shop.main.orders"] .profile svg')
    assert "renamed" in page.locator("#change-summary").text_content()  # laid out when scrolled to: its DOM text
    assert attempted == [] and errors == []
    page.close()


def test_filter_box(reports, browser):
    page, attempted, _ = open_offline(browser, reports / "demo_shop.html")
    page.fill("#filter", "ORDER_item")
    names = page.locator("#table-list details").evaluate_all("els => els.map(e => e.dataset.name)")
    assert names == ["demo_shop.main.order_items"]
    assert page.locator("#filter-count").inner_text() == "1 of 8 tables"
    page.fill("#filter", "shipped_at")  # a column name finds its table
    assert page.locator("#table-list details").evaluate_all("els => els.map(e => e.dataset.name)") == [
        "demo_shop.main.orders"]
    page.fill("#filter", "no such thing")
    assert page.locator("#table-list").inner_text() == "No table or column matches."
    assert attempted == []
    page.close()


def test_hostile_names_and_values_render_as_text(reports, browser, catalog):
    page, attempted, errors = open_offline(browser, reports / "evil.html")
    assert page.locator("#table-list details").evaluate("d => d.open")  # a lone table is shown open
    page.wait_for_selector("#table-list .profile")
    text = page.locator("#table-list").inner_text()
    assert EVIL_TABLE in text and EVIL_COLUMN in text and EVIL_VALUE in text
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#table-list img").count() == 0 and attempted == [] and errors == []
    page.close()


def test_values_match_the_engine_and_no_secret_leaks(reports, catalog):
    _, _, dsn = catalog
    html = (reports / "evil.html").read_text()
    md = (reports / "evil.md").read_text()
    for text in (html, md):
        assert PASSWORD not in text and SECRET_VALUE not in text
    table = dict(zip(payload(html)["table_fields"], payload(html)["tables"][0]))
    columns = {c[0]: c for c in table["columns"]}
    with psycopg.connect(dsn) as con:
        rows, nulls, distinct = con.execute(sql.SQL("SELECT count(*), count(*) - count({c}), count(DISTINCT {c}) FROM {t}").format(
            c=sql.Identifier(EVIL_COLUMN), t=sql.Identifier(EVIL_TABLE))).fetchone()
    assert table["table_name"] == EVIL_TABLE and table["rows"] == rows == 30
    assert columns[EVIL_COLUMN][10] == nulls == 10 and columns[EVIL_COLUMN][12] == distinct
    assert columns["password"][19] is True  # masked: no min, max or top value text
    assert columns["password"][14] is None and columns["password"][15] is None
    assert "<script>" not in html.split('id="dsa-data">')[1].split("</script>")[0]


def lint_json(env: dict, source: str) -> list[dict]:
    return json.loads(dsa(env, "lint", source, "--format", "json", "--no-measure").stdout)


def test_schema_findings_in_the_report_as_dsa_lint_finds_them(reports, browser, catalog):
    _, env, _ = catalog
    found = lint_json(env, "demo_shop")
    html = (reports / "demo_shop.html").read_text()
    per_table = payload(html)["findings"]
    assert sorted((r, qn) for rows in per_table.values() for r, qn, _ in rows) == sorted(
        (f["rule"], f["qualified_name"]) for f in found)
    orders = sorted(r[2] for r in per_table["demo_shop.main.orders"])
    assert orders == sorted(f["message"] for f in found if f["qualified_name"].startswith("demo_shop.main.orders"))
    assert any("idx_orders_customer (customer_id) on demo_shop.main.orders is a prefix of" in m for m in orders)

    page, attempted, errors = open_offline(browser, reports / "demo_shop.html")
    listed = page.locator("#finding-list tr").evaluate_all("rows => rows.slice(1).map(r => r.cells[2].textContent)")
    assert sorted(listed) == sorted(f["message"] for f in found)
    counts = dict(page.locator("#finding-counts tr").evaluate_all(
        "rows => rows.slice(1).map(r => [r.cells[0].textContent, Number(r.cells[1].textContent.replace(',', ''))])"))
    assert counts == {rule: sum(f["rule"] == rule for f in found) for rule in {f["rule"] for f in found}}
    summary = page.locator('#table-list details[data-name="demo_shop.main.orders"] summary')
    assert f"{len(orders)} findings" in summary.inner_text()
    summary.click()
    body = page.locator('details[data-name="demo_shop.main.orders"] .body')
    assert body.get_by_role("heading", name=f"Schema insights ({len(orders)})").count() == 1
    assert sorted(body.locator("table").nth(1).locator("tr").evaluate_all(
        "rows => rows.slice(1).map(r => r.cells[2].innerText)")) == orders
    assert attempted == [] and errors == []
    page.close()


def test_hostile_names_in_findings_render_as_text(reports, browser, catalog):
    _, env, _ = catalog
    quoted = {f["evidence"]["name"] for f in lint_json(env, "evil") if f["rule"] == "needs_quoting"}
    assert {EVIL_TABLE, EVIL_COLUMN} <= quoted
    page, attempted, errors = open_offline(browser, reports / "evil.html")
    listed = page.locator("#finding-list").text_content()
    assert f"column name {EVIL_COLUMN!r} must be quoted" in listed
    mine = page.locator("#table-list .body").inner_text()  # the lone table is open: its own findings
    assert f"table name {EVIL_TABLE!r} must be quoted" in mine
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0 and attempted == [] and errors == []
    page.close()
    md = (reports / "evil.md").read_text()
    assert "## Schema insights" in md and "needs_quoting" in md


def test_tables_glob_keeps_their_findings(catalog):
    from dsa.catalog import open_catalog
    from dsa.report import report_bytes

    base, env, _ = catalog
    html = report_bytes(open_catalog(env["DSA_STORE"]), None, "demo_shop", tables="orders").decode()
    assert list(payload(html)["findings"]) == ["demo_shop.main.orders"]
    md = report_bytes(open_catalog(env["DSA_STORE"]), None, "demo_shop", tables="orders", fmt="md").decode()
    assert "demo\\_shop\\.main\\.orders" in md and "customers\\.country is nullable" not in md


def test_markdown_has_the_same_content(reports, catalog):
    md = (reports / "demo_shop.md").read_text()
    html = (reports / "demo_shop.html").read_text()
    for heading in ("## Summary", "## Tables", "## Schema insights", "## Changes", "## Data drift", "## Check results", "## Not read"):
        assert heading in md
    for t in payload(html)["tables"]:
        assert f"### {t[1]}\\.{t[2].replace('_', chr(92) + '_')}" in md
    assert "orders | shipped\\_at" in md  # worst columns
    for f in lint_json(catalog[1], "demo_shop"):  # each finding in its table's section and in the list
        assert md.count(escape_md(f["message"])) == 2
    evil = (reports / "evil.md").read_text()
    assert re.search(r"(?<!\\)[<>]", evil) is None  # every angle bracket escaped: no HTML comes through
    assert "\\<script\\>window" in evil


def test_same_arguments_same_bytes(catalog, reports):
    base, env, _ = catalog
    out = dsa(env, "report", "demo_shop", "--out", "-").stdout
    assert out == (reports / "demo_shop.html").read_text()


def test_bad_input_is_one_line(catalog):
    base, env, _ = catalog
    for args, code, words in [(["report", "nope"], 2, "no successful or partial scan of 'nope'"),
                              (["report", "demo_shop", "--format", "pdf"], 2, "--format"),
                              (["report", "demo_shop", "--run", "nope"], 2, "no run 'nope'")]:
        out = subprocess.run([sys.executable, "-m", "dsa", *args], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == code and words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_more_tables_than_a_page(tmp_path, browser):
    """The first page comes with the page's script, the other tables at the end of the file."""
    import duckdb

    db = duckdb.connect(str(tmp_path / "many.duckdb"))
    for i in range(60):
        db.execute(f"CREATE TABLE t{i:02d} AS SELECT range AS id, 'v' || range AS label FROM range({i + 1})")
    db.close()
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  many: {{type: duckdb, path: '{tmp_path / 'many.duckdb'}'}}\n")
    env = {**os.environ, "DSA_STORE": str(tmp_path / "store"), "DSA_CONFIG": str(tmp_path / "dsa.yaml"),
           "DSA_CACHE": str(tmp_path / "cache")}
    dsa(env, "scan", "many")
    dsa(env, "report", "many", "--out", str(tmp_path / "many.html"))
    html = (tmp_path / "many.html").read_text()
    assert len(payload(html)["tables"]) == 50 and payload(html)["total"] == 60
    page, attempted, errors = open_offline(browser, tmp_path / "many.html")
    names = "els => els.map(e => e.dataset.name)"
    assert page.locator("#filter-count").inner_text() == "60 of 60 tables"
    page.locator("#pager-top button").nth(1).click()
    assert page.locator("#table-list details").evaluate_all(names) == [f"many.main.t{i}" for i in range(50, 60)]
    page.fill("#filter", "t59")
    assert page.locator("#table-list details").evaluate_all(names) == ["many.main.t59"]
    assert attempted == [] and errors == []
    page.close()
