"""The diff on real SQLite scans: a scripted set of changes, and exactly those changes found.

Expected values were worked out by hand from the two schemas below (docs/diff.md gives the
rules): nothing else may show up, so every test compares the complete set of non-unchanged rows.
"""

from __future__ import annotations

import json
import sqlite3

import polars as pl
import pytest

from dsa.config import parse_config
from dsa.diff import diff
from dsa.scan import scan

V1 = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL, name TEXT, legacy TEXT,
                        created DATE DEFAULT '2020-01-01');
CREATE TABLE products (id INTEGER PRIMARY KEY, price NUMERIC(10,2), label TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), product_id INTEGER,
                     amount NUMERIC(10,2) NOT NULL, note TEXT);
CREATE TABLE old_log (id INTEGER PRIMARY KEY, msg TEXT);
CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at TIMESTAMP, payload BLOB);
CREATE TABLE tags (a TEXT, b INTEGER, c REAL);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE VIEW v_orders AS SELECT o.id, o.amount FROM orders o;
CREATE VIEW v_same AS SELECT id, email FROM customers;
INSERT INTO customers VALUES (1, 'a@x', 'A', NULL, '2020-01-02');
INSERT INTO products VALUES (1, 9.5, 'pen');
INSERT INTO orders VALUES (1, 1, 1, 9.5, NULL);
"""

# SQLite changes a column's type, default or constraints by rebuilding the table.
MIGRATION = """
PRAGMA foreign_keys = OFF;
DROP VIEW v_orders;
DROP VIEW v_same;
CREATE TABLE shipments (id INTEGER PRIMARY KEY, order_id INTEGER, carrier TEXT);
DROP TABLE old_log;
ALTER TABLE events RENAME TO activity;
-- widen a varchar, change a default, drop a column, add a column
CREATE TABLE customers_new (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL, name TEXT,
                            created DATE DEFAULT '2021-01-01', phone TEXT);
INSERT INTO customers_new SELECT id, email, name, created, NULL FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
-- numeric precision, and rename a column
CREATE TABLE products_new (id INTEGER PRIMARY KEY, price NUMERIC(12,2), title TEXT);
INSERT INTO products_new SELECT * FROM products;
DROP TABLE products;
ALTER TABLE products_new RENAME TO products;
-- drop NOT NULL, drop one foreign key and add another, add an index
CREATE TABLE orders_new (id INTEGER PRIMARY KEY, customer_id INTEGER, product_id INTEGER REFERENCES products(id),
                         amount NUMERIC(10,2), note TEXT);
INSERT INTO orders_new SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE INDEX idx_orders_product ON orders(product_id);
-- reorder columns
CREATE TABLE tags_new (b INTEGER, a TEXT, c REAL);
INSERT INTO tags_new SELECT b, a, c FROM tags;
DROP TABLE tags;
ALTER TABLE tags_new RENAME TO tags;
-- change a view; recreate another with only whitespace and quoting changed
CREATE VIEW v_orders AS SELECT o.id, o.amount FROM orders o WHERE o.amount > 0;
CREATE VIEW v_same AS SELECT "id",
    email   FROM "customers";
"""

P = "shop.main."

EXPECTED = {
    "schema": {},
    "table": {
        P + "shipments": ("added", []),
        P + "old_log": ("removed", []),
        P + "activity": ("renamed", [("qualified_name", P + "events", P + "activity")]),
        P + "v_orders": ("modified", [("view_definition", "CREATE VIEW v_orders AS SELECT o.id, o.amount FROM orders o",
                                       "CREATE VIEW v_orders AS SELECT o.id, o.amount FROM orders o WHERE o.amount > 0")]),
    },
    "column": {
        P + "customers.email": ("modified", [("data_type", "VARCHAR(40)", "VARCHAR(80)")]),
        P + "customers.created": ("modified", [("column_default", "'2020-01-01'", "'2021-01-01'")]),
        P + "customers.legacy": ("removed", []),
        P + "customers.phone": ("added", []),
        P + "products.price": ("modified", [("data_type", "NUMERIC(10,2)", "NUMERIC(12,2)")]),
        P + "products.title": ("renamed", [("qualified_name", P + "products.label", P + "products.title")]),
        P + "orders.customer_id": ("modified", [("foreign_key", "main.customers.id", None)]),
        P + "orders.product_id": ("modified", [("foreign_key", None, "main.products.id"),
                                               ("indexes", [], ["idx_orders_product"])]),
        P + "orders.amount": ("modified", [("is_nullable", False, True)]),
        P + "old_log.id": ("removed", []),
        P + "old_log.msg": ("removed", []),
        **{P + f"activity.{c}": ("renamed", [("qualified_name", P + f"events.{c}", P + f"activity.{c}")])
           for c in ("id", "kind", "at", "payload")},
        **{P + f"shipments.{c}": ("added", []) for c in ("id", "order_id", "carrier")},
        P + "tags.a": ("moved", [("ordinal_position", 1, 2)]),
        P + "tags.b": ("moved", [("ordinal_position", 2, 1)]),
        # a view column's type follows its table's column in SQLite
        P + "v_same.email": ("modified", [("data_type", "VARCHAR(40)", "VARCHAR(80)")]),
    },
    "constraint": {
        P + 'orders."foreign_key(customer_id)"': ("removed", []),
        P + 'orders."foreign_key(product_id)"': ("added", []),
        P + 'old_log."primary_key(id)"': ("removed", []),
        P + 'shipments."primary_key(id)"': ("added", []),
        P + 'activity."primary_key(id)"': ("renamed", [("qualified_name", P + 'events."primary_key(id)"',
                                                        P + 'activity."primary_key(id)"')]),
    },
    "index": {
        P + "orders.idx_orders_product": ("added", []),
    },
}

SUMMARY = {  # entity: added, removed, modified, renamed, moved, unknown, unchanged
    "schema": (0, 0, 0, 0, 0, 0, 1),
    "table": (1, 1, 1, 1, 0, 0, 5),
    "column": (4, 3, 7, 5, 2, 0, 9),
    "constraint": (2, 2, 0, 1, 0, 0, 3),
    "index": (1, 0, 0, 0, 0, 0, 1),
}


def found(result) -> dict:
    out = {}
    for kind, frame in result.changes.items():
        out[kind] = {
            row["qualified_name"]: (row["change_type"], [(c["attribute"], c["from"], c["to"]) for c in json.loads(row["changes"])])
            for row in frame.iter_rows(named=True)
        }
    return out


def summary(result) -> dict:
    cols = ["added", "removed", "modified", "renamed", "moved", "unknown", "unchanged"]
    return {r["entity_type"]: tuple(r[c] for c in cols) for r in result.summary.iter_rows(named=True)}


def config_for(**sources):
    return parse_config({"sources": {name: {"type": "sqlite", "path": str(path)} for name, path in sources.items()}})


@pytest.fixture
def shop_runs(store, tmp_path):
    """Scan shop v1, apply the migration, scan again: (config, run 1, run 2, db path)."""
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.executescript(V1)
    con.commit()
    con.close()
    config = config_for(shop=db)
    first = scan(store, config, "shop")
    con = sqlite3.connect(db)
    con.executescript(MIGRATION)
    con.commit()
    con.close()
    second = scan(store, config, "shop")
    assert first.status == second.status == "success"
    return config, first.run_id, second.run_id, db


def test_scripted_changes_exactly(store, shop_runs):
    config, r1, r2, _ = shop_runs
    result = diff(store, config, "shop")
    assert (result.from_run["run_id"], result.to_run["run_id"]) == (r1, r2)
    assert found(result) == EXPECTED
    assert summary(result) == SUMMARY
    assert result.change_count == 4 + 21 + 5 + 1 and result.exit_code == 4
    # stored: every entity row, the summary, and the run itself
    con = store.connect()
    try:
        stored = con.execute(
            "SELECT change_type, count(*) FROM incremental_diff_column WHERE run_id = ? GROUP BY 1 ORDER BY 1", [result.run_id]
        ).fetchall()
        assert stored == [("added", 4), ("modified", 7), ("moved", 2), ("removed", 3), ("renamed", 5), ("unchanged", 9)]
        run = con.execute("SELECT status, from_run_id, to_run_id, change_count FROM diff_sync_runs").fetchall()
        assert run == [("success", r1, r2, 31)]
        assert con.execute("SELECT count(*) FROM diff_summary WHERE run_id = ?", [result.run_id]).fetchone() == (5,)
    finally:
        con.close()


def test_run_against_itself_is_empty(store, shop_runs):
    config, r1, r2, _ = shop_runs
    for run in (r1, r2):
        result = diff(store, config, "shop", from_run=run, to_run=run)
        assert found(result) == {k: {} for k in EXPECTED}
        assert result.change_count == 0 and not result.changed and result.exit_code == 0
        assert all(row[-1] > 0 and sum(row[:-1]) == 0 for row in summary(result).values())


def test_unchanged_source_rescanned_is_empty(store, shop_runs):
    config, r1, r2, _ = shop_runs
    scan(store, config, "shop")
    result = diff(store, config, "shop")  # the two newest: the migrated db, scanned twice
    assert result.from_run["run_id"] == r2 and result.exit_code == 0
    assert summary(result)["column"] == (0, 0, 0, 0, 0, 0, 27)


def test_renames_can_be_turned_off(store, shop_runs):
    config, *_ = shop_runs
    result = diff(store, config, "shop", renames=False)
    got = found(result)
    assert got["table"][P + "activity"] == ("added", []) and got["table"][P + "events"] == ("removed", [])
    assert got["column"][P + "products.title"] == ("added", []) and got["column"][P + "products.label"] == ("removed", [])
    assert summary(result)["column"] == (4 + 1 + 4, 3 + 1 + 4, 7, 0, 2, 0, 9)
    off = parse_config({"diff": {"renames": False}, "sources": {"shop": {"type": "sqlite", "path": "x.db"}}})
    assert summary(diff(store, off, "shop")) == summary(result)


def _copy_run(store, run_id: str, connection: str, drop_table: str | None, error: tuple | None, status=None):
    """A scan run holding run_id's rows minus one table, with an error recorded for it."""
    con = store.connect()
    frames = {t: con.sql(f"SELECT * FROM {t} WHERE run_id = ?", params=[run_id]).pl()
              for t in ("normalized_schemas", "normalized_tables", "normalized_columns")}
    con.close()
    with store.begin_run(connection, "scan", {"source_type": "sqlite"}) as run:
        for table, frame in frames.items():
            frame = frame.with_columns(pl.lit(run.run_id).alias("run_id"))
            if drop_table and table == "normalized_tables":
                frame = frame.filter(pl.col("table_name") != drop_table)
            if drop_table and table == "normalized_columns":
                frame = frame.filter(pl.col("table_name") != drop_table)
            run.write(table, frame)
        if error:
            run.record_error(*error)
        run.finish(status)
    return run.run_id


def test_partial_run_never_yields_removed(store, shop_runs):
    config, r1, r2, _ = shop_runs
    partial = _copy_run(store, r2, "shop", "orders", ("shop.main.orders", "table", "permission denied"))
    assert store.run(partial)["status"] == "partial"
    result = diff(store, config, "shop", from_run=r2, to_run=partial)
    got = found(result)
    assert got["table"] == {P + "orders": ("unknown", [])}
    assert got["column"] == {P + f"orders.{c}": ("unknown", []) for c in ("id", "customer_id", "product_id", "amount", "note")}
    assert got["constraint"] == {P + 'orders."primary_key(id)"': ("unknown", []),
                                 P + 'orders."foreign_key(product_id)"': ("unknown", [])}
    assert got["index"] == {P + "orders.idx_orders_customer": ("unknown", []), P + "orders.idx_orders_product": ("unknown", [])}
    assert result.exit_code == 0 and result.unknown_count == 10
    assert any("partial" in n for n in result.notes)

    # a whole schema unreadable, and a run that failed outright: still nothing removed
    schema_err = _copy_run(store, r2, "shop", "orders", ("shop.main", "schema", "denied"))
    failed = _copy_run(store, r2, "shop", "orders", None, status="failed")
    for run in (schema_err, failed):
        result = diff(store, config, "shop", from_run=r1, to_run=run)
        assert all(row[1] == 0 for row in summary(result).values()), summary(result)
        assert found(result)["table"][P + "orders"] == ("unknown", [])

    # the older run partial: what the newer one has there is not "added" either
    result = diff(store, config, "shop", from_run=partial, to_run=r2)
    assert found(result)["table"] == {P + "orders": ("unknown", [])}


def test_two_connections_compare_below_the_connection(store, shop_runs, tmp_path):
    """staging (v1 file) against prod (migrated file): the same changes as one connection's diff."""
    config, r1, r2, db = shop_runs
    import shutil

    staging_db = tmp_path / "staging.db"
    con = sqlite3.connect(staging_db)
    con.executescript(V1)
    con.commit()
    con.close()
    shutil.copy(db, tmp_path / "prod.db")
    config = config_for(staging=staging_db, prod=tmp_path / "prod.db")
    scan(store, config, "staging")
    scan(store, config, "prod")
    result = diff(store, config, "prod", against="staging")
    assert result.from_run["connection"] == "staging" and result.to_run["connection"] == "prod"

    def local(expected, connection):
        out = {}
        for kind, rows in expected.items():
            out[kind] = {}
            for name, (change, changes) in rows.items():
                if change != "removed":
                    name = name.replace("shop.", f"{connection}.", 1)
                    changes = [(a, f.replace("shop.", "staging.", 1) if a == "qualified_name" else f,
                                t.replace("shop.", "prod.", 1) if a == "qualified_name" else t) for a, f, t in changes]
                else:
                    name = name.replace("shop.", "staging.", 1)
                out[kind][name] = (change, changes)
        return out

    assert found(result) == local(EXPECTED, "prod")
    assert summary(result) == SUMMARY
    # explicit runs of two connections work the same way
    again = diff(store, config, "prod", from_run=result.from_run["run_id"], to_run=result.to_run["run_id"])
    assert found(again) == found(result)


QUALITY_TABLES = {
    "table_quality_metrics": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                              "table_qualified_name": pl.Utf8, "row_count": pl.Int64, "column_count": pl.Int64,
                              "quality_score": pl.Float64},
    "column_quality_metrics": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                               "table_qualified_name": pl.Utf8, "column_name": pl.Utf8, "total_count": pl.Int64,
                               "null_count": pl.Int64, "null_percentage": pl.Float64, "distinct_count": pl.Int64,
                               "distinct_percentage": pl.Float64, "min_value": pl.Utf8, "max_value": pl.Utf8,
                               "quality_score": pl.Float64},
}


def _quality_run(store, scan_run, tables, columns):
    from dsa import model

    for name, schema in QUALITY_TABLES.items():
        if name not in model.CATALOG_TABLES:
            model.register_table(name, schema)
    with store.begin_run("shop", "quality", {"scan_run_id": scan_run}) as run:
        run.write("table_quality_metrics", pl.DataFrame(
            [{"run_id": run.run_id, "connection": "shop", "qualified_name": P + t, "table_qualified_name": P + t,
              "row_count": n, "quality_score": s} for t, n, s in tables]))
        run.write("column_quality_metrics", pl.DataFrame(
            [{"run_id": run.run_id, "connection": "shop", "qualified_name": P + f"{t}.{c}", "table_qualified_name": P + t,
              "column_name": c, "null_percentage": nul, "distinct_count": d, "min_value": lo, "max_value": hi,
              "quality_score": s} for t, c, nul, d, lo, hi, s in columns]))
    return run.run_id


def test_data_drift_between_the_scans_quality_runs(store, shop_runs):
    config, r1, r2, _ = shop_runs
    q1 = _quality_run(store, r1, [("orders", 1000, 90.0), ("products", 50, 80.0)], [
        ("orders", "amount", 0.0, 400, "1.5", "200", 95.0),
        ("orders", "note", 50.0, 10, "a", "z", 70.0),
        ("products", "label", 2.0, 50, "axe", "zip", 90.0),   # renamed to title
        ("customers", "created", 0.0, 100, "2020-01-01", "2024-12-31", 99.0),
    ])
    q2 = _quality_run(store, r2, [("orders", 1500, 88.0), ("products", 52, 60.0)], [
        ("orders", "amount", 4.0, 410, "1.5", "250", 94.0),
        ("orders", "note", 51.0, 10, "b", "z", 70.0),
        ("products", "title", 2.0, 70, "axe", "zip", 90.0),
        ("customers", "created", 0.0, 100, "2020-01-01", "2025-12-31", 99.0),
    ])
    result = diff(store, config, "shop")
    assert (result.from_quality_run, result.to_quality_run) == (q1, q2)
    rows = [(r["drift_rank"], r["qualified_name"], r["metric"], r["from_value"], r["to_value"], round(r["severity"], 4))
            for r in result.drift.iter_rows(named=True)]
    assert rows == [
        (1, P + "orders.amount", "max_value", "200", "250", 5.0378),      # 50 of the range 1.5..200 = 25.19% / 5%
        (2, P + "orders", "row_count", "1000", "1500", 5.0),               # 50% / 10%
        (3, P + "products", "quality_score", "80.0", "60.0", 4.0),         # 20 points / 5
        (4, P + "products.title", "distinct_count", "50", "70", 4.0),      # 40% / 10%, followed through the rename
        (5, P + "customers.created", "max_value", "2024-12-31", "2025-12-31", 3.9978),  # 365 of 1826 days = 19.99% / 5%
        (6, P + "orders.note", "min_value", "a", "b", 1.0),                # text: any move, severity 1
    ]
    # below threshold: amount null % (+4 points < 5), distinct (+2.5% < 10%), orders score (-2 < 5), note, products rows
    assert result.changed and result.exit_code == 4
    assert result.drift["previous_name"].to_list()[3] == P + "products.label"
    strict = parse_config({"diff": {"thresholds": {"null_percentage_points": 3, "row_count_pct": 60}},
                           "sources": {"shop": {"type": "sqlite", "path": "x.db"}}})
    metrics = [(r["qualified_name"], r["metric"]) for r in diff(store, strict, "shop").drift.iter_rows(named=True)]
    assert (P + "orders.amount", "null_percentage") in metrics and (P + "orders", "row_count") not in metrics


def test_drift_alone_without_structure_changes(store, shop_runs):
    config, r1, r2, _ = shop_runs
    _quality_run(store, r2, [("orders", 10, None)], [])
    q = _quality_run(store, r2, [("orders", 20, None)], [])  # the newest quality run of a scan counts
    r3 = scan(store, config, "shop").run_id
    _quality_run(store, r3, [("orders", 10, None)], [])
    result = diff(store, config, "shop")
    assert result.change_count == 0 and result.from_quality_run == q
    assert [(r["metric"], r["from_value"], r["to_value"]) for r in result.drift.iter_rows(named=True)] == [("row_count", "20", "10")]
    assert result.exit_code == 4


def test_diff_config_errors_name_the_key():
    from dsa.errors import ConfigError

    for raw, message in (
        ({"diff": {"renamez": True}}, "diff.renamez: unknown key"),
        ({"diff": {"thresholds": {"row_count_pct": 0}}}, "diff.thresholds.row_count_pct: input should be greater than 0"),
        ({"diff": {"renames": "maybe"}}, "diff.renames:"),
    ):
        with pytest.raises(ConfigError) as err:
            parse_config(raw)
        assert str(err.value).startswith(message), str(err.value)
    assert parse_config({"diff": {"thresholds": {"min_max_pct": 2.5}}}).diff.thresholds.min_max_pct == 2.5
