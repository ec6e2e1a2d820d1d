"""The app's lineage and schema insights: Explore draws a table's or column's lineage with
links, and lists its findings; Changes flags a breaking change."""

from __future__ import annotations

from urllib.parse import parse_qsl

import duckdb
import pytest

from dsa.config import parse_config
from dsa.diff import diff
from dsa.scan import scan
from test_app import app, no_exception, texts, use_store  # noqa: F401  (use_store is a fixture)
from test_lineage import _statements


@pytest.fixture
def lineage_store(use_store, tmp_path):
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        for statement in _statements('"'):
            conn.execute(statement)
    store = use_store(tmp_path / "store")
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: duckdb, path: '{path}'}}\n")
    config = parse_config({"sources": {"shop": {"type": "duckdb", "path": str(path)}}})
    scan(store, config, "shop")
    with duckdb.connect(str(path)) as conn:
        conn.execute("ALTER TABLE orders DROP COLUMN status")  # read by v_join and v_union
    scan(store, config, "shop")
    diff(store, config, "shop")
    return store


def test_explore_column_lineage_and_insights(lineage_store):
    at = app("explore", conn="shop", schema="main", table="orders", column="amount")
    no_exception(at)
    shown = texts(at)
    assert "Lineage" in shown and "Schema insights" in shown
    targets = {(q.get("table"), q.get("column")) for q in
               (dict(parse_qsl(link.proto.query_string)) for link in at.get("page_link"))}
    # the newest scan: orders.amount feeds four views directly and v_over through v_join;
    # each node links to its own Explore view
    assert {("v_join", "dbl"), ("v_cte", "total"), ("v_sub", "big"), ("v_sub", None), ("v_win", "rn"),
            ("v_over", "dbl")} <= targets


def test_explore_table_findings(lineage_store):
    at = app("explore", conn="shop", schema="main", table="customers")
    no_exception(at)
    assert "Schema insights (1)" in texts(at)  # "Region": mixed case, must be quoted


def test_changes_flags_the_breaking_drop(lineage_store):
    at = app("changes", conn="shop")
    no_exception(at)
    assert any("1 breaking changes" in str(e.value) for e in at.error)
    table = next(d.value for d in at.dataframe if "reaches" in d.value.columns)
    row = table[table["object"] == "shop.main.orders.status"].iloc[0]
    assert row["breaking"] and "shop.main.v_join" in row["reaches"] and "shop.main.v_union.name" in row["reaches"]
