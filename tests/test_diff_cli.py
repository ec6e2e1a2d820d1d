"""`dsa diff` as CI meets it: exit codes, the printed summary, the JSON document, bad input."""

from __future__ import annotations

import json
import sqlite3

from test_diff import MIGRATION, V1


def _setup(tmp_path):
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.executescript(V1)
    con.commit()
    con.close()
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    return db


def _scan(tmp_path) -> str:
    """Scan in-process into the store the CLI uses (faster than a subprocess)."""
    from dsa.config import load_config
    from dsa.scan import scan
    from dsa.store import Store

    return scan(Store(tmp_path / "store"), load_config(tmp_path / "dsa.yaml"), "shop").run_id


def _migrate(db):
    con = sqlite3.connect(db)
    con.executescript(MIGRATION)
    con.commit()
    con.close()


def test_exit_codes_and_text(dsa_cli, tmp_path):
    db = _setup(tmp_path)
    first = _scan(tmp_path)
    r = dsa_cli("diff", "shop")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: diff: source 'shop' has only one successful or partial scan ({first}); scan it again, or name runs with --from/--to"
    ]
    _scan(tmp_path)
    r = dsa_cli("diff", "shop")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("no changes")
    _migrate(db)
    _scan(tmp_path)
    r = dsa_cli("diff", "shop")
    assert r.returncode == 4, r.stderr
    out = r.stdout
    assert "│ column     │ 4     │ 3       │ 7        │ 5       │ 2     │ 0       │ 9         │" in out
    for line in (
        "  table      renamed   shop.main.activity (was shop.main.events)",
        "  column     modified  shop.main.products.price  data_type: NUMERIC(10,2) -> NUMERIC(12,2)",
        "  column     modified  shop.main.orders.amount  is_nullable: false -> true",
        "  column     modified  shop.main.orders.product_id  foreign_key: null -> main.products.id; indexes: [] -> [\"idx_orders_product\"]",
        "  column     moved     shop.main.tags.a  ordinal_position: 1 -> 2",
        "  column     renamed   shop.main.products.title (was shop.main.products.label)",
        "  table      modified  shop.main.v_orders  view SQL changed",
        "  (4 columns, 1 constraints renamed with their tables)",
        "31 changes, 0 data drifts",
    ):
        assert line in out.splitlines(), (line, out)
    assert "activity.kind" not in out  # follows its table's rename: counted, not listed


def test_json_document(dsa_cli, tmp_path):
    db = _setup(tmp_path)
    r1 = _scan(tmp_path)
    _migrate(db)
    r2 = _scan(tmp_path)
    r = dsa_cli("diff", "shop", "--format", "json")
    assert r.returncode == 4, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"diff_run_id", "connection", "from", "to", "renames", "changed", "change_count", "unknown_count",
                        "drift_count", "summary", "changes", "data_drift", "notes"}
    assert doc["from"]["run_id"] == r1 and doc["to"]["run_id"] == r2 and doc["connection"] == "shop"
    assert set(doc["from"]) == {"run_id", "connection", "status", "started_at", "quality_run_id"}
    assert doc["changed"] is True and doc["change_count"] == 31 and doc["renames"] is True
    assert [s["entity_type"] for s in doc["summary"]] == ["schema", "table", "column", "constraint", "index"]
    assert doc["summary"][1] == {"entity_type": "table", "added": 1, "removed": 1, "modified": 1, "renamed": 1,
                                 "moved": 0, "unknown": 0, "unchanged": 5}
    assert set(doc["changes"]) == {"schema", "table", "column", "constraint", "index"}
    price = [c for c in doc["changes"]["column"] if c["qualified_name"] == "shop.main.products.price"]
    assert price == [{"qualified_name": "shop.main.products.price", "previous_name": None, "change_type": "modified",
                      "changes": [{"attribute": "data_type", "from": "NUMERIC(10,2)", "to": "NUMERIC(12,2)"}]}]
    assert len(doc["changes"]["column"]) == 21 and doc["data_drift"] == []
    # the same diff is in the catalog
    from dsa.store import Store

    n = Store(tmp_path / "store").sql("SELECT count(*) AS n FROM incremental_diff_column WHERE run_id = ?", [doc["diff_run_id"]])
    assert n["n"].to_list() == [30]
    # against itself: an empty document and exit 0
    r = dsa_cli("diff", "shop", "--from", r2, "--to", r2, "--format", "json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["changed"] is False and all(v == [] for v in doc["changes"].values())
    # renames off
    r = dsa_cli("diff", "shop", "--no-renames", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["renames"] is False and doc["summary"][1]["renamed"] == 0 and doc["summary"][1]["added"] == 2


def test_bad_input_is_one_line(dsa_cli, tmp_path):
    from dsa.diff import diff
    from dsa.store import Store

    db = _setup(tmp_path)
    r1 = _scan(tmp_path)
    _migrate(db)
    _scan(tmp_path)
    diff_run = diff(Store(tmp_path / "store"), None, "shop").run_id
    cases = {
        ("diff", "nosuch"): "error: no successful or partial scan of 'nosuch' in the catalog at",
        ("diff", "shop", "--from", "nope"): "error: --from: no run 'nope' in the catalog at",
        ("diff", "shop", "--to", diff_run): f"error: --to: run '{diff_run}' is a diff run, not a scan",
        ("diff", "shop", "--to", r1): f"error: --to: no successful or partial scan of 'shop' before run '{r1}'; name one with --from",
        ("diff", "shop", "--format", "xml"): "error: dsa diff: Invalid value for '--format' / '-f': Value error, 'xml' is not one of 'text', 'json'.",
        ("diff", "shop", "--against", "shop", "--from", r1): "error: give either --from or --against, not both",
    }
    for args, message in cases.items():
        r = dsa_cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith(message) and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


def test_demo_ends_with_a_diff(dsa_cli, tmp_path):
    (tmp_path / "dsa.yaml").write_text("")
    r = dsa_cli("demo")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "scan of shop v1" in lines[0] and "scan of shop v2" in r.stdout  # the demo's own lines stay
    diff_line = [line for line in lines if "diff of shop v1 -> v2" in line]
    assert len(diff_line) == 1 and diff_line[0].split(maxsplit=1)[1].startswith(
        "diff of shop v1 -> v2: tables 1 added, 1 modified, 1 renamed; columns 6 added, 1 removed, 6 modified, "
        "6 renamed; constraints 4 added, 2 removed, 3 renamed; indexes 2 added; "
    )
    assert diff_line[0].endswith(" data drifts")  # the demo profiles both scans
    r = dsa_cli("diff", "demo_shop")
    assert r.returncode == 4
    assert "  table      renamed   demo_shop.main.product_reviews (was demo_shop.main.reviews)" in r.stdout.splitlines()
