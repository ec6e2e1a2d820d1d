"""The Streamlit app, page by page, with AppTest: empty catalog, demo catalog, deep links,
widgets, read-only mode, escaping of catalog values, background scans and connections."""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dsa import charts, jobs, ui
from dsa.demo import run_demo
from dsa.model import CATALOG_TABLES
from dsa.store import Store

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "explore", "quality", "checks", "changes", "runs", "connections"]


def app(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.query_params.update(params)
    at.switch_page(f"pages/{page}.py")
    return at.run()


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "error", "warning", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def kinds(at: AppTest) -> list[str]:
    """Element types in page order (charts have no typed accessor in AppTest)."""
    out = []

    def walk(node):
        out.append(getattr(node, "type", None))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def md_table(at: AppTest, first: str) -> list[dict[str, str]]:
    """The rows of the Markdown table (`ui.list_table`) whose first heading is `first`, as
    heading: text (Markdown escapes undone)."""
    unescape = lambda cell: re.sub(r"\\(.)", r"\1", cell.strip())  # noqa: E731
    for m in at.markdown:
        lines = m.value.split("\n")
        split = lambda line: [unescape(c) for c in re.split(r"(?<!\\)\|", line)[1:-1]]  # noqa: E731
        if len(lines) > 1 and lines[1].startswith("|---") and split(lines[0])[:1] == [first]:
            heads = split(lines[0])
            return [dict(zip(heads, split(line))) for line in lines[2:]]
    raise AssertionError(f"no table headed {first!r}")


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.fixture
def use_store(monkeypatch, tmp_path):
    """Point the app at a store folder (and an empty config) for one test."""
    monkeypatch.setenv("DSA_CONFIG", str(tmp_path / "dsa.yaml"))
    (tmp_path / "dsa.yaml").write_text("sources: {}\n")
    monkeypatch.delenv("DSA_READ_ONLY", raising=False)

    def use(path: Path) -> Store:
        monkeypatch.setenv("DSA_STORE", str(path))
        return Store(path)

    return use


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "store"
    run_demo(Store(path))
    return path


@pytest.fixture
def demo(use_store, demo_template, tmp_path) -> Store:
    import shutil

    target = tmp_path / "demo_store"
    shutil.copytree(demo_template, target)
    # the demo connection points at the template's file; re-point it at this copy
    specs = json.loads((target / "connections.json").read_text())
    specs["demo_shop"]["path"] = str(target / "demo" / "shop.db")
    (target / "connections.json").write_text(json.dumps(specs))
    return use_store(target)


# -- every page, three ways -----------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_an_empty_catalog(use_store, tmp_path, page):
    use_store(tmp_path / "empty")
    at = app(page)
    no_exception(at)
    # each empty page says what is missing and offers the next step
    expected = {"overview": "Nothing scanned yet", "explore": "Nothing scanned yet", "quality": "Nothing scanned yet", "checks": "Nothing scanned yet",
                "changes": "Nothing scanned yet", "runs": "No runs yet", "connections": "No connection yet"}
    assert expected[page] in texts(at)
    assert "Load the demo" in [b.label for b in at.button]
    assert "connection yet" not in texts(at) or page in ("runs", "connections")  # there it is true


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_the_demo_catalog(demo, page):
    at = app(page)
    no_exception(at)
    assert at.title[0].value == page.capitalize()


def test_overview_shows_counts_and_latest_changes(demo):
    at = app("overview")
    m = metrics(at)
    # demo v2: customers, products, orders, order_items, product_reviews, returns, shipments, one view
    assert (m["Schemas"], m["Tables"], m["Columns"]) == ("1", "8", "44")
    assert [s.value for s in at.subheader][:2] == ["Needs attention", "demo\\_shop"]
    if not jobs.quality_available():
        assert "No quality run yet" in texts(at)
    latest = {r["object"]: r for r in md_table(at, "object")}
    pick = lambda kind, *keys: tuple(int(latest[kind].get(k, "0").replace(",", "")) for k in keys)  # noqa: E731
    # the demo's stored diff (`dsa diff` prints the same): shipments added, reviews renamed, the
    # view and four tables a migration touched modified; the renamed table's 6 columns renamed with it
    assert pick("table", "added", "removed", "renamed", "modified") == (1, 0, 1, 5)
    assert pick("column", "added", "removed", "renamed", "modified") == (6, 1, 6, 6)
    assert pick("constraint", "added", "removed", "renamed") == (4, 2, 3)
    assert pick("index", "added") == (2,)


def test_overview_leads_with_what_needs_attention(demo):
    at = app("overview")
    no_exception(at)
    assert at.subheader[0].value == "Needs attention"
    m = metrics(at)
    # the demo's newest check run fails 4 checks (dsa.demo.DEMO_CHECKS); its diff records 26 schema
    # changes (`dsa diff`: 5 + 1 tables, 6 + 1 + 6 + 6 columns, a renamed table's 7 with it); `dsa
    # lint demo_shop` finds 21 things (15 never_null, 4 fk_without_index, redundant_index, needs_quoting)
    assert (m["Failed checks"], m["Anomalies"], m["Score drops"], m["Schema changes"], m["Schema findings"]) == \
        ("4", "0", "0", "26", "21")
    shown = pl.from_pandas(at.dataframe[0].value)
    assert shown.columns == ["connection", "kind", "what", "detail"]
    # most pressing first: the failed checks, then the schema changes, then the findings' count
    assert shown["kind"].to_list() == ["failed check"] * 4 + ["schema change"] * 26 + ["schema finding"]
    assert set(shown["detail"][:4]) == {
        "duplicate_count(email) = 0: 46 (fail unless = 0)", "few missing emails: 20.3043 (fail unless < 20)",
        "reference(product_id) -> products.product_id: 231 (fail unless = 0)",
        "schema: no removed columns: 1 (fail unless = 0)"}
    assert shown["detail"][-1] == "21 findings: 15 never_null, 4 fk_without_index, 1 needs_quoting, 1 redundant_index"
    assert {"checks", "quality", "changes", "explore"} <= {link.proto.page for link in at.get("page_link")}


def test_empty_catalog_button_loads_the_demo(use_store, tmp_path):
    store = use_store(tmp_path / "empty")
    at = app("overview")
    assert "The catalog is empty" in texts(at)
    at.button[0].click().run()
    no_exception(at)
    assert store.sync_runs().filter(pl.col("run_type") == "scan").height == 2
    assert metrics(at)["Tables"] == "8"


# -- explore --------------------------------------------------------------------------------


def test_explore_deep_link_to_a_table_shows_keys_and_links(demo):
    at = app("explore", conn="demo_shop", schema="main", table="orders")
    no_exception(at)
    assert at.subheader[0].value == "main.orders"
    assert metrics(at)["Columns"] == "6"
    listed = md_table(at, "#")  # a few columns: a plain table, yes/no for the flags, blank for nothing
    assert [r["column"] for r in listed][:2] == ["order_id", "customer_id"]
    assert (listed[0]["primary key"], listed[0]["nullable"], listed[1]["primary key"]) == ("yes", "no", "")
    assert listed[1]["references"] == "main.customers.customer_id"
    assert not {v for r in listed for v in r.values()} & {"None", "NULL", "True", "False"}
    assert "**Primary key:** order\\_id" in texts(at)
    links = {link.proto.label: link.proto for link in at.main.get("page_link")}
    # orders.customer_id -> customers; order_items, returns and shipments point at orders
    keys = [label for label in links if not label.startswith(("→", "←"))]  # not the lineage's links
    assert keys == ["\\(customer\\_id\\) → main\\.customers \\(customer\\_id\\)",
                    "main\\.order\\_items", "main\\.returns", "main\\.shipments"]
    first = links[list(links)[0]]
    assert first.page == "explore" and first.query_string.endswith("&schema=main&table=customers")
    assert dict(at.query_params)["table"] == "orders"
    assert at.code[-1].value.startswith("CREATE TABLE orders")


def test_explore_deep_link_to_a_column(demo):
    at = app("explore", conn="demo_shop", schema="main", table="customers", column="email")
    no_exception(at)
    m = metrics(at)
    assert m["Type"] == "VARCHAR\\(80\\)"  # v2 widened it; escaped for Markdown
    assert m["Nullable"] == "yes"


def test_explore_widgets_update_the_url(demo):
    at = app("explore")
    table = next(s for s in at.selectbox if s.label == "Table")
    table.select("products").run()
    no_exception(at)
    assert at.query_params["table"] == ["products"] or at.query_params["table"] == "products"
    assert at.subheader[0].value == "main.products"
    # the sidebar search: every connection's tables and columns, each match a link into Explore
    at.sidebar.text_input[0].input("email").run()
    assert "1 matches" in texts(at)
    link = next(link.proto for link in at.get("page_link") if "email" in link.proto.label)
    assert link.page == "explore"
    assert link.query_string == "conn=demo_shop&schema=main&table=customers&column=email&q=email"
    assert at.query_params["q"] in ("email", ["email"])


def test_explore_older_run_from_the_url(demo):
    first = demo.sync_runs()["run_id"][0]
    at = app("explore", conn="demo_shop", run=first, schema="main", table="reviews")
    no_exception(at)
    assert at.subheader[0].value == "main.reviews"  # v1 only: renamed in v2


# -- changes --------------------------------------------------------------------------------


def test_changes_between_the_demo_scans(demo):
    at = app("changes")
    no_exception(at)
    m = metrics(at)
    # the stored diff (`dsa diff`, run by the demo once installed) names objects with their
    # connection; the app's own comparison without: compare the names below the connection
    frames = [pl.from_pandas(d.value).with_columns(pl.col("object").str.replace(r"^demo_shop\.", ""))
              for d in at.dataframe if "object" in d.value.columns]
    renamed = frames[2].filter(pl.col("entity_type") == "table")
    assert renamed.select("object", "from", "to").rows()[0][0] == "main.product_reviews"
    assert renamed["from"][0].endswith("reviews") and renamed["to"][0].endswith("product_reviews")
    types = frames[3].filter(pl.col("attribute") == "data_type").select("object", "from", "to").rows()
    assert sorted(types) == [("main.customers.email", "VARCHAR(40)", "VARCHAR(80)"),
                             ("main.products.price", "NUMERIC(10,2)", "NUMERIC(12,2)")]
    added = frames[0].select("entity_type", "object").rows()
    assert ("table", "main.shipments") in added and ("column", "main.customers.loyalty_tier") in added
    removed = frames[1].filter(pl.col("entity_type").is_in(["table", "column"])).select("entity_type", "object").rows()
    assert removed == [("column", "main.products.legacy_code")]
    assert m["Removed"] != "0" and m["Unknown"] == "0"


def test_changes_names_the_command_exactly(demo):
    """The command in the caption is a code span: the connection's name as typed (no Markdown
    escape shows in code), shell-quoted."""
    at = app("changes")
    no_exception(at)
    old, new = dict(at.query_params)["from"], dict(at.query_params)["to"]
    assert f"`dsa diff demo_shop --from {old} --to {new}`" in texts(at)
    assert "demo\\_shop`" not in texts(at)


def test_command_spans_hold_any_name():
    assert ui.command("diff", "demo_shop") == "`dsa diff demo_shop`"
    assert ui.command("quality", "my `odd` src") == "``dsa quality 'my `odd` src'``"


def test_sidebar_links_are_the_page_titles(demo):
    at = app("quality")
    no_exception(at)
    assert [link.proto.label for link in at.sidebar.get("page_link")] == [
        "Overview", "Explore", "Quality", "Checks", "Changes", "Runs", "Connections"]


@pytest.mark.parametrize("seconds,label,interval", [(0.8, "%H:%M:%S", "second"), (600, "%H:%M", "minute"),
                                                    (3 * 86400, "%b %d", "day")])
def test_time_axis_labels_fit_the_runs_span(seconds, label, interval):
    """Runs seconds apart are labelled 12:00:01, never ".800"; days apart, Dec 08."""
    from datetime import datetime, timedelta, timezone

    start = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)
    times = pl.Series([start + timedelta(seconds=seconds * i) for i in range(5)])
    axis = charts.time_x(times, "run").to_dict()
    assert axis["axis"]["format"] == label and axis["axis"]["tickCount"]["interval"] == interval
    assert axis["scale"] == {"type": "utc"} and axis["axis"]["formatType"] == "utc"


def test_changes_same_run_twice_asks_for_two(demo):
    run = demo.sync_runs()["run_id"][0]
    at = app("changes", conn="demo_shop", **{"from": run, "to": run})
    no_exception(at)
    assert "Choose two different runs" in texts(at)


def page_changes(at: AppTest) -> set[tuple[str, str, str]]:
    """(entity type, name, change type) of every row in the Changes page's tabs."""
    out = set()
    for tab in at.tabs:
        for frame in tab.dataframe:
            values = pl.from_pandas(frame.value)
            if "object" in values.columns:
                out |= {(e, o, tab.label.lower()) for e, o in values.select("entity_type", "object").unique().rows()}
    return out


def cli_diff(store: Store, config: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "dsa", "--store", str(store.path), "--config", str(config), "diff",
                        *args, "--format", "json"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode in (0, 4), r.stderr
    return json.loads(r.stdout)


def cli_changes(doc: dict) -> set[tuple[str, str, str]]:
    return {(kind, item["qualified_name"], item["change_type"])
            for kind, items in doc["changes"].items() for item in items}


def test_changes_page_shows_what_dsa_diff_reports(demo, tmp_path):
    """The page and `dsa diff --format json` agree on the demo, row by row and in the counts."""
    scans = demo.sync_runs().filter(pl.col("run_type") == "scan")["run_id"].to_list()
    doc = cli_diff(demo, tmp_path / "dsa.yaml", "demo_shop", "--from", scans[0], "--to", scans[1])
    at = app("changes")
    no_exception(at)
    assert page_changes(at) == cli_changes(doc)
    totals = {k: sum(s[k] for s in doc["summary"]) for k in ("added", "removed", "renamed", "modified", "moved")}
    assert {k: int(metrics(at)[k.capitalize()]) for k in totals} == totals
    assert totals["modified"] > 0 and ("table", "demo_shop.main.customers", "modified") in page_changes(at)


def test_changes_page_compares_a_renamed_table_like_dsa_diff(use_store, tmp_path):
    store = use_store(tmp_path / "store")
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, at TIMESTAMP);"
                      "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")
    con.close()
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    from dsa.config import load_config
    from dsa.scan import scan

    scan(store, load_config(tmp_path / "dsa.yaml"), "shop")
    con = sqlite3.connect(db)
    con.executescript("ALTER TABLE events RENAME TO activity; ALTER TABLE users ADD COLUMN name TEXT;")
    con.close()
    scan(store, load_config(tmp_path / "dsa.yaml"), "shop")
    at = app("changes")
    no_exception(at)
    assert "not compared yet" in texts(at)
    at.button[0].click().run()  # Compare them: the same diff as the command, stored
    no_exception(at)
    shown = page_changes(at)
    assert ("table", "shop.main.activity", "renamed") in shown
    assert ("table", "shop.main.users", "modified") in shown and ("column", "shop.main.users.name", "added") in shown
    assert shown == cli_changes(cli_diff(store, tmp_path / "dsa.yaml", "shop"))


# -- quality with synthetic metrics ---------------------------------------------------------

QUALITY_TABLES = {
    "table_quality_metrics": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                              "table_qualified_name": pl.Utf8, "row_count": pl.Int64, "column_count": pl.Int64,
                              "quality_score": pl.Float64},
    "column_quality_metrics": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                               "table_qualified_name": pl.Utf8, "column_name": pl.Utf8, "total_count": pl.Int64,
                               "null_count": pl.Int64, "null_percentage": pl.Float64, "distinct_count": pl.Int64,
                               "distinct_percentage": pl.Float64, "min_value": pl.Utf8, "max_value": pl.Utf8,
                               "quality_score": pl.Float64},
    "column_top_values": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                          "column_qualified_name": pl.Utf8, "rank": pl.Int64, "value": pl.Utf8, "count": pl.Int64},
}
HOSTILE = ["<script>alert(1)</script>", "**bold**", "[x](javascript:alert(1))"]


@pytest.fixture
def quality_demo(demo, monkeypatch):
    """The demo plus two quality runs written through the store with the DESIGN.md columns
    (the quality feature's own tables are used when it is installed)."""
    for name, schema in QUALITY_TABLES.items():
        if name not in CATALOG_TABLES:
            monkeypatch.setitem(CATALOG_TABLES, name, schema)
    t = "demo_shop.main.customers"
    for scores in ((80.0, 40.0), (90.0, 20.0)):
        with demo.begin_run("demo_shop", "quality") as run:
            run.write("table_quality_metrics", pl.DataFrame({
                "run_id": [run.run_id], "connection": ["demo_shop"], "qualified_name": [t],
                "table_qualified_name": [t], "row_count": [40], "column_count": [8], "quality_score": [scores[0]]}))
            run.write("column_quality_metrics", pl.DataFrame({
                "run_id": [run.run_id] * 2, "connection": ["demo_shop"] * 2,
                "qualified_name": [f"{t}.email", f"{t}.customer_id"], "table_qualified_name": [t, t],
                "column_name": ["email", "customer_id"], "total_count": [40, 40], "null_count": [10, 0],
                "null_percentage": [25.0, 0.0], "distinct_count": [28, 40], "distinct_percentage": [70.0, 100.0],
                "min_value": ["a@x", "1"], "max_value": ["z@x", "40"], "quality_score": [scores[1], 100.0],
                "skipped_metrics": ['{"min_max": "function min(uuid) does not exist"}', None]}))
            run.write("column_top_values", pl.DataFrame({
                "run_id": [run.run_id] * 3, "connection": ["demo_shop"] * 3,
                "qualified_name": [f"{t}.email"] * 3, "column_qualified_name": [f"{t}.email"] * 3,
                "rank": [1, 2, 3], "value": HOSTILE, "count": [5, 3, 2]}))
    return demo


def test_quality_page_with_metrics(quality_demo):
    at = app("quality")
    no_exception(at)
    m = metrics(at)
    assert m["Columns"] == "2"
    # one score, as on the Overview: the mean of the table scores (one table here, scored 90)
    assert m["Quality score"] == "90.0"
    worst = md_table(at, "schema")
    assert worst[0]["column"] == "email"
    assert worst[0]["why it lost points"] == "25.0% null"
    # the first view: score distribution and null/distinct scatter
    assert [t.label for t in at.tabs] == ["Scores and worst columns", "A column's values"]
    assert kinds(at).count("vega_lite_chart") == 2
    # the other view, drawn only when opened (here from the URL): top values and score over time
    at = app("quality", view="column")
    no_exception(at)
    assert at.query_params["view"] in ("column", ["column"])
    assert kinds(at).count("vega_lite_chart") == 2
    # the chosen column (email, the worst) shows what the engine refused
    skipped = [pl.from_pandas(d.value) for d in at.dataframe if "metric" in d.value.columns]
    assert skipped and skipped[0].rows() == [("min_max", "function min(uuid) does not exist")]


def test_quality_filters_and_deep_link(quality_demo):
    at = app("quality", conn="demo_shop", table="customers", column="main.customers.customer_id")
    no_exception(at)
    assert at.query_params["column"] in ("main.customers.customer_id", ["main.customers.customer_id"])
    at.slider[0].set_value((50, 100)).run()
    assert metrics(at)["Columns"] == "1"  # only customer_id scores >= 50
    assert at.query_params["score"] in ("50-100", ["50-100"])
    at = app("quality", conn="demo_shop", score="50-100", types="integer")
    no_exception(at)
    assert metrics(at)["Columns"] == "1" and at.multiselect[0].value == ["integer"]


@pytest.fixture
def flagged_demo(quality_demo):
    """`quality_demo` plus a third quality run whose score dropped 20 points and whose monitors
    flagged the table's score and the email column's null %."""
    t = "demo_shop.main.customers"
    with quality_demo.begin_run("demo_shop", "quality") as run:
        run.write("table_quality_metrics", pl.DataFrame({
            "run_id": [run.run_id], "connection": ["demo_shop"], "qualified_name": [t], "table_qualified_name": [t],
            "row_count": [40], "column_count": [8], "quality_score": [70.0]}))
        run.write("column_quality_metrics", pl.DataFrame({
            "run_id": [run.run_id] * 2, "connection": ["demo_shop"] * 2,
            "qualified_name": [f"{t}.email", f"{t}.customer_id"], "table_qualified_name": [t, t],
            "column_name": ["email", "customer_id"], "total_count": [40, 40], "null_count": [30, 0],
            "null_percentage": [75.0, 0.0], "distinct_count": [8, 40], "distinct_percentage": [20.0, 100.0],
            "quality_score": [5.0, 100.0]}))
        run.write("anomalies", pl.DataFrame({
            "run_id": [run.run_id] * 2, "connection": ["demo_shop"] * 2, "qualified_name": [t, f"{t}.email"],
            "table_qualified_name": [t, t], "column_name": [None, "email"],
            "metric": ["quality_score", "null_percentage"], "value": [70.0, 75.0], "expected": [85.0, 22.5],
            "score": [-6.2, 9.1], "history": [7, 7],
            "explanation": ["customers.quality_score 70 is 6.2 MADs below its 7-run median 85",
                            "customers.email.null_percentage 75 is 9.1 MADs above its 7-run median 22.5"]}))
    return quality_demo


def vega_specs(at: AppTest) -> list[dict]:
    out = []

    def walk(node):
        if getattr(node, "type", None) == "vega_lite_chart":
            out.append(json.loads(node.proto.spec))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def diamonds(spec: dict) -> list[dict]:
    """The anomaly marks of a chart: its layer drawn as diamonds, with their data rows."""
    found = []
    for layer in spec.get("layer", []):
        mark = layer.get("mark", {})
        if isinstance(mark, dict) and mark.get("shape") == "diamond":
            found.append(layer)
    return found


def test_anomalies_attention_and_marks(flagged_demo):
    at = app("overview")
    no_exception(at)
    m = metrics(at)
    assert (m["Anomalies"], m["Score drops"]) == ("2", "1")
    shown = pl.from_pandas(at.dataframe[0].value)
    rows = set(shown.select("kind", "detail").iter_rows())
    assert ("score drop", "quality score 70.0, was 90.0") in rows
    assert ("anomaly", "customers.email.null_percentage 75 is 9.1 MADs above its 7-run median 22.5") in rows
    # the score trend marks the run that flagged them: one diamond, on its score
    trend = [s for s in vega_specs(at) if diamonds(s)]
    assert len(trend) == 1
    assert "vega_lite_chart" in kinds(at)
    # the Quality page's history of the email column marks the same run
    at = app("quality", conn="demo_shop", column="main.customers.email")
    no_exception(at)
    history = [s for s in vega_specs(at) if diamonds(s)]
    assert len(history) == 1
    # no mark on a column the monitors did not flag
    at = app("quality", conn="demo_shop", column="main.customers.customer_id")
    no_exception(at)
    assert not [s for s in vega_specs(at) if diamonds(s)]


def test_overview_score_trend(quality_demo):
    at = app("overview")
    m = metrics(at)
    assert m["Quality score"] == "90.0"
    score = next(x for x in at.metric if x.label == "Quality score")
    assert score.proto.body == "90.0" and "+10.0" in score.proto.delta


def test_column_profile_shows_no_internal_field_or_none(quality_demo):
    at = app("explore", conn="demo_shop", schema="main", table="customers", column="email")
    no_exception(at)
    profile = md_table(at, "metric")
    assert list(profile[0]) == ["metric", "value"]
    assert [r["value"] for r in profile if r["metric"] == "nulls"] == ["10"]
    shown = {r["metric"] for r in profile} | {r["value"] for r in profile}
    assert not shown & {"run_id", "tenant", "qualified_name", "table_qualified_name", "connection", "None", ""}


def test_values_are_escaped(quality_demo):
    at = app("explore", conn="demo_shop", schema="main", table="customers", column="email")
    no_exception(at)
    markdown = texts(at) + "\n".join(m.value for m in at.metric)
    for raw in ("<script>", "**bold**", "](javascript:"):
        assert raw not in markdown
    from dsa import ui

    assert ui.md("[x](javascript:alert(1))") == "\\[x\\]\\(javascript\\:alert\\(1\\)\\)"
    assert ui.md("**bold**") == "\\*\\*bold\\*\\*"
    assert ui.md("<script>") == "\\<script\\>"


def test_hostile_names_in_the_catalog_are_escaped(use_store, tmp_path):
    store = use_store(tmp_path / "hostile")
    db = tmp_path / "hostile.db"
    con = sqlite3.connect(db)
    con.execute('CREATE TABLE "[x](javascript:alert(1))" ("**bold**" TEXT, "<script>" INT)')
    con.commit()
    con.close()
    from dsa.config import Config
    from dsa.scan import scan
    from dsa.sources import all_sources, save_spec

    save_spec(store.path, "h", {"type": "sqlite", "path": str(db)})
    scan(store, all_sources(Config(), store.path), "h")
    at = app("explore", conn="h", column="**bold**")
    no_exception(at)
    assert at.subheader[0].value == "main.\\[x\\]\\(javascript\\:alert\\(1\\)\\)"
    assert "**bold**" not in texts(at) and "\\*\\*bold\\*\\*" in texts(at)


# -- runs: background scans -----------------------------------------------------------------


def wait_for_job(store: Store, job_id: str) -> dict:
    for _ in range(600):
        job = jobs.job(store, job_id)
        if job and job["status"] in ("finished", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_scan_button_runs_in_the_background(demo):
    at = app("runs")
    no_exception(at)
    before = len(at.dataframe[0].value)
    assert before == demo.sync_runs().height
    at.button[0].click().run()  # the form's Scan button
    no_exception(at)
    job_id = at.session_state["job"]
    job = wait_for_job(demo, job_id)
    # the scan, then (as `dsa demo` does) its diff against the scan before it: the same shop, unchanged
    assert job["status"] == "finished" and [(r["step"], r["exit_code"]) for r in job["results"]] == [("scan", 0), ("diff", 0)]
    at.run()
    no_exception(at)
    history = pl.from_pandas(at.dataframe[0].value)
    assert history.height == before + 2
    assert history.select("run_type", "status").rows()[:2] == [("diff", "success"), ("scan", "success")]
    scan, diff_run = history["run_id"][1], history["run_id"][0]
    assert [r["run_id"] for r in jobs.job_runs(demo, job)] == [scan, diff_run]
    previous = demo.sync_runs().filter((pl.col("run_type") == "scan") & (pl.col("run_id") != scan))["run_id"].max()
    compared = demo.sql("SELECT from_run_id, to_run_id FROM diff_sync_runs WHERE run_id = ?", [diff_run]).row(0)
    assert compared == (previous, scan)


def test_a_failed_scan_looks_failed_with_its_error(demo, tmp_path):
    (tmp_path / "dsa.yaml").write_text("sources:\n  badpg: {type: postgres, dsn: 'postgresql://nobody@127.0.0.1:9/none'}\n")
    at = app("runs", conn="badpg")
    at.button[0].click().run()
    job = wait_for_job(demo, at.session_state["job"])
    assert job["status"] == "failed"
    at.run()
    no_exception(at)
    status = at.status[0]
    assert status.state == "error" and status.label == "Failed: scan of badpg" and status.proto.expanded
    assert "badpg" in "\n".join(e.value for e in status.error)
    history = pl.from_pandas(at.dataframe[0].value)
    assert history.columns[:5] == ["started_at", "connection", "run_type", "status", "error"]
    row = history.row(0, named=True)
    assert (row["connection"], row["status"], row["error_count"]) == ("badpg", "failed", 1) and "badpg" in row["error"]


def test_second_scan_of_a_running_connection_is_refused(demo):
    lock = jobs._lock_path(demo, "demo_shop")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # as a running job holds it
        at = app("runs")
        at.button[0].click().run()
        no_exception(at)
        assert "already running" in "\n".join(w.value for w in at.warning)
        assert jobs.is_running(demo, "demo_shop")
    assert not jobs.is_running(demo, "demo_shop")
    assert demo.sync_runs().filter(pl.col("run_type") == "scan").height == 2


def test_run_errors_are_listed(demo, tmp_path):
    Path(json.loads((demo.path / "connections.json").read_text())["demo_shop"]["path"]).unlink()
    from dsa.config import Config
    from dsa.errors import DsaError
    from dsa.scan import scan
    from dsa.sources import all_sources

    with pytest.raises(DsaError):
        scan(demo, all_sources(Config(), demo.path), "demo_shop")
    at = app("runs")
    no_exception(at)
    assert "file not found" in "\n".join(e.value for e in at.error)



def test_runs_page_shows_no_none_cells(demo):
    """Check and diff runs have no table or column count: their cells show a dash, not "None"."""
    at = app("runs")
    no_exception(at)
    history = at.dataframe[0]
    shown = pl.from_pandas(history.value)
    empty = shown.filter(pl.col("run_type").is_in(["check", "diff"]))
    assert empty.height and empty["table_count"].null_count() == empty.height
    assert history.proto.placeholder == ui.EMPTY_CELL == "-"


@pytest.mark.parametrize("page", PAGES)
def test_no_table_shows_none(demo, page):
    """Every data grid of every page draws an empty cell as a dash (Streamlit's default is a grey
    "None"), and no Markdown list shows "None"."""
    at = app(page)
    no_exception(at)
    for grid in at.dataframe:
        assert grid.proto.placeholder == ui.EMPTY_CELL
    for m in at.markdown:
        if m.value.startswith("| "):
            assert "| None |" not in m.value and "| NULL |" not in m.value


def test_explore_lists_a_schemas_tables_when_asked(demo):
    at = app("explore", conn="demo_shop", schema="main", table="orders")
    no_exception(at)
    assert at.expander[0].label.startswith("Tables of main (8)")
    assert not at.expander[0].dataframe  # closed: not drawn
    at.session_state["tables_list"] = True
    at.run()
    no_exception(at)
    listed = pl.from_pandas(at.expander[0].dataframe[0].value)
    assert listed.height == 8 and "orders" in listed["table_name"].to_list()


# -- read-only mode -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["env", "config"])
def test_read_only_hides_and_refuses(demo, monkeypatch, tmp_path, how):
    if how == "env":
        monkeypatch.setenv("DSA_READ_ONLY", "1")
    else:
        (tmp_path / "dsa.yaml").write_text("app: {read_only: true}\n")
    at = app("runs")
    no_exception(at)
    assert not at.button and not at.get("form")
    at = app("connections")
    no_exception(at)
    assert "read-only" in texts(at) and not at.main.text_input
    from dsa import ui
    from dsa.errors import DsaError

    with pytest.raises(DsaError, match="read-only"):
        ui.start_job("demo_shop", ["scan"], None)
    with pytest.raises(DsaError, match="read-only"):
        ui.save_connection("x", {"type": "sqlite", "path": "x.db"}, {})
    with pytest.raises(DsaError, match="read-only"):
        ui.remove_connection("demo_shop")
    assert demo.sync_runs().filter(pl.col("run_type") == "scan").height == 2


# -- connections ----------------------------------------------------------------------------


def test_add_test_and_remove_a_connection(demo, tmp_path):
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE t (a INT)").connection.close()
    at = app("connections")
    no_exception(at)
    assert pl.from_pandas(at.dataframe[0].value)["connection"].to_list() == ["demo_shop"]
    next(s for s in at.selectbox if s.label == "Type").select("sqlite").run()
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    inputs["Name"].input("other")
    inputs["path"].input(str(tmp_path / "missing.db"))
    next(b for b in at.button if b.label == "Test").click().run()
    assert "file not found" in "\n".join(e.value for e in at.error)
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    inputs["path"].input(str(db))
    next(b for b in at.button if b.label == "Test").click().run()
    assert "connected to sqlite file" in "\n".join(s.value for s in at.success)
    next(b for b in at.button if b.label == "Save").click().run()
    no_exception(at)
    stored = json.loads((demo.path / "connections.json").read_text())
    assert stored["other"] == {"type": "sqlite", "path": str(db)}
    at = app("connections", conn="other")
    no_exception(at)
    at.checkbox[-1].check().run()
    next(b for b in at.button if b.label == "Remove connection").click().run()
    no_exception(at)
    assert "other" not in json.loads((demo.path / "connections.json").read_text())


@pytest.mark.postgres
def test_postgres_connection_from_the_form(demo, pg_admin):
    at = app("connections")
    next(s for s in at.selectbox if s.label == "Type").select("postgres").run()
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    assert inputs["password"].proto.type == inputs["password"].proto.PASSWORD
    inputs["Name"].input("pg")
    inputs["host"].input("127.0.0.1")
    inputs["port"].input("5432")
    inputs["user"].input("postgres")
    inputs["database"].input("test")
    next(b for b in at.button if b.label == "Test").click().run()
    assert "connected to postgres" in "\n".join(s.value for s in at.success), [e.value for e in at.error]
    # a password must go to the encrypted vault, never into connections.json
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    inputs["password"].input("s3cret-Pw-42")
    next(b for b in at.button if b.label == "Save").click().run()
    no_exception(at)
    stored = (demo.path / "connections.json").read_text()
    assert "s3cret-Pw-42" not in stored
    assert "s3cret-Pw-42" not in texts(at)
    from dsa.vault import Vault

    assert json.loads(stored)["pg"] == {"type": "postgres", "host": "127.0.0.1", "port": 5432, "user": "postgres",
                                        "database": "test"}
    assert Vault(demo.path).get("pg") == ("password", "s3cret-Pw-42")
    assert not any("s3cret-Pw-42" in p.read_bytes().decode("latin-1") for p in demo.path.rglob("*") if p.is_file())
    # edit it: the password field comes back empty, and saving without typing one keeps the secret
    at = app("connections", conn="pg")
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    assert inputs["password"].value == "" and inputs["host"].value == "127.0.0.1"
    next(b for b in at.button if b.label == "Test").click().run()
    assert "connected to postgres" in "\n".join(s.value for s in at.success), [e.value for e in at.error]
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    inputs["database"].input("postgres")
    next(b for b in at.button if b.label == "Save").click().run()
    no_exception(at)
    assert json.loads((demo.path / "connections.json").read_text())["pg"]["database"] == "postgres"
    assert Vault(demo.path).get("pg") == ("password", "s3cret-Pw-42")


def test_auth_section_asks_for_login(demo):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://accounts.example/.well-known/openid-configuration"}
    at.run()
    no_exception(at)
    assert at.title[0].value == "dsa"
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.metric  # no catalog content before login


def test_scan_and_profile_with_a_sample(demo):
    at = app("runs")
    next(c for c in at.checkbox if c.label.startswith("Profile")).check()
    next(t for t in at.text_input if t.label == "Sample").input("50%")
    next(b for b in at.button if b.label == "Scan").click().run()
    no_exception(at)
    job = wait_for_job(demo, at.session_state["job"])
    # then the new scan is compared with the one before it, after profiling (so the diff has drift)
    # (a 50% sample moves the data: the diff may report drift, exit 4, which is no failure)
    assert [r["step"] for r in job["results"]] == ["scan", "quality", "diff"]
    assert job["status"] == "finished" and not any(jobs.step_failed(r) for r in job["results"])
    runs = jobs.job_runs(demo, job)
    assert [r["run_type"] for r in runs] == ["scan", "quality", "diff"]
    assert runs[1]["details"]["sample"] == "50%"
    assert runs[1]["details"]["scan_run_id"] == runs[0]["run_id"]


@pytest.mark.parametrize("page,params,expect", [
    ("overview", {"conn": "demo_shop"}, "demo\\_shop"),
    ("explore", {"conn": "demo_shop", "schema": "main", "table": "products", "column": "price"}, "price"),
    ("quality", {"conn": "demo_shop", "table": "orders"}, None),
    ("changes", {"conn": "demo_shop"}, None),
    ("runs", {"conn": "demo_shop"}, None),
    ("connections", {"conn": "demo_shop"}, "Remove"),
    ("explore", {"conn": "nope", "table": "nope", "run": "nope"}, "main."),  # stale links fall back
])
def test_deep_links(demo, page, params, expect):
    at = app(page, **params)
    no_exception(at)
    if expect:
        assert expect in texts(at)
    for key, value in params.items():
        if value != "nope" and key in at.query_params:
            assert at.query_params[key] in (value, [value])


def test_two_simultaneous_scans_one_runs_one_is_told(demo):
    """Two users of one app server press Scan on the same connection at the same moment."""
    import threading

    barrier = threading.Barrier(2)
    outcomes: list = []

    def press():
        barrier.wait()
        try:
            outcomes.append(("started", jobs.start_job(demo, "demo_shop", ["scan"])))
        except jobs.AlreadyRunning as exc:
            outcomes.append(("refused", str(exc)))

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = sorted(k for k, _ in outcomes)
    assert kinds == ["refused", "started"], outcomes
    job = wait_for_job(demo, next(v for k, v in outcomes if k == "started"))
    assert job["status"] == "finished"
    scans = demo.sync_runs().filter(pl.col("run_type") == "scan")
    assert scans.height == 3 and scans["status"].to_list() == ["success"] * 3
    for _ in range(100):  # the job records "finished" just before its process ends
        if not jobs.is_running(demo, "demo_shop"):
            break
        time.sleep(0.05)
    assert not jobs.is_running(demo, "demo_shop")


def test_connection_form_for_every_connector_type(demo):
    from dsa.connectors import connector_types

    at = app("connections")
    for kind in connector_types():
        next(s for s in at.selectbox if s.label == "Type").select(kind).run()
        no_exception(at)
        labels = [t.label.rstrip(" *") for t in at.text_input]
        assert "Name" in labels
        for t in at.text_input:  # every secret-looking field is a password field
            if "password" in t.label:
                assert t.proto.type == t.proto.PASSWORD


def test_duckdb_connection_with_attached_databases(demo, tmp_path):
    import duckdb

    main, extra = tmp_path / "main.duckdb", tmp_path / "extra.duckdb"
    for path in (main, extra):
        duckdb.connect(str(path)).execute("CREATE TABLE t (a INT)").close()
    at = app("connections")
    next(s for s in at.selectbox if s.label == "Type").select("duckdb").run()
    inputs = {t.label.rstrip(" *"): t for t in at.text_input}
    inputs["Name"].input("lake")
    inputs["path"].input(str(main))
    inputs["attach"].input(f"extra={extra}")
    next(b for b in at.button if b.label == "Save").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    stored = json.loads((demo.path / "connections.json").read_text())["lake"]
    assert stored == {"type": "duckdb", "path": str(main), "attach": {"extra": str(extra)}}


def test_checks_page(demo):
    at = app("checks", conn="demo_shop")
    no_exception(at)
    # the demo's second check run: 7 passed, 4 failed (dsa.demo.DEMO_CHECKS)
    assert (metrics(at)["Failed"], metrics(at)["Passed"]) == ("4", "7")
    shown = pl.from_pandas(at.dataframe[0].value)
    failed = set(shown.filter(pl.col("outcome").str.contains("fail"))["name"])
    assert failed == {"few missing emails", "duplicate_count(email) = 0", "reference(product_id) -> products.product_id",
                      "schema: no removed columns"}
    assert "row_count > 0" in at.code[-1].value  # the suggested checks, to copy


def test_quality_page_shows_malformed_csv_rows(use_store, tmp_path):
    """A CSV's rows of another width than its header's: a finding on the Quality page for that
    table, with the dialect it was read with."""
    from dsa.config import Config, parse_source
    from dsa.quality import quality
    from dsa.scan import scan

    folder = tmp_path / "sheets"
    folder.mkdir()
    (folder / "ragged.csv").write_text("a,b,c\n1,2\n3,4,5,6\n7,8,9\n")
    store = use_store(tmp_path / "store")
    config = Config(sources={"f": parse_source("f", {"type": "files", "paths": [str(folder)]})})
    scan(store, config, "f")
    assert quality(store, config, "f", sample="100%").malformed == {f'f."{folder}".ragged': 2}
    at = app("quality", conn="f", table="ragged")
    no_exception(at)
    warnings = [str(w.value) for w in at.warning]
    assert warnings == ["ragged: 2 of 3 rows do not match the header's columns (read with them: short rows padded "
                        "with nulls, extra fields dropped); read as CSV with delimiter ',', "
                        "has_header True, skip_rows 0, encoding 'utf-8', decimal_separator '.'"], warnings
