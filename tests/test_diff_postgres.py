"""The diff on a real Postgres: scripted ALTERs between two scans, exactly those changes found."""

from __future__ import annotations

import json

import pytest

from dsa.config import parse_config
from dsa.diff import diff
from dsa.scan import scan

pytestmark = pytest.mark.postgres

V1 = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id integer PRIMARY KEY, email varchar(40) NOT NULL, name text, legacy text,
                             created date DEFAULT '2020-01-01');
CREATE TABLE shop.products (id integer PRIMARY KEY, price numeric(10,2), label text);
CREATE TABLE shop.orders (id integer PRIMARY KEY, customer_id integer REFERENCES shop.customers(id),
                          product_id integer, amount numeric(10,2) NOT NULL, note text);
CREATE TABLE shop.old_log (id integer PRIMARY KEY, msg text);
CREATE TABLE shop.events (id integer PRIMARY KEY, kind text NOT NULL, at timestamp, payload bytea);
CREATE TABLE shop.tags (a text, b integer, c real);
CREATE INDEX idx_orders_customer ON shop.orders (customer_id);
CREATE VIEW shop.v_orders AS SELECT o.id, o.amount FROM shop.orders o;
CREATE VIEW shop.v_same AS SELECT id, email FROM shop.customers;
"""

MIGRATION = """
CREATE TABLE shop.shipments (id integer PRIMARY KEY, order_id integer, carrier text);
DROP TABLE shop.old_log;
ALTER TABLE shop.events RENAME TO activity;
DROP VIEW shop.v_same;
DROP VIEW shop.v_orders;
ALTER TABLE shop.customers ALTER COLUMN email TYPE varchar(80);
ALTER TABLE shop.customers ALTER COLUMN created SET DEFAULT '2021-01-01';
ALTER TABLE shop.customers DROP COLUMN legacy;
ALTER TABLE shop.customers ADD COLUMN phone text;
ALTER TABLE shop.products ALTER COLUMN price TYPE numeric(12,2);
ALTER TABLE shop.products RENAME COLUMN label TO title;
ALTER TABLE shop.orders ALTER COLUMN amount DROP NOT NULL;
ALTER TABLE shop.orders DROP CONSTRAINT orders_customer_id_fkey;
ALTER TABLE shop.orders ADD FOREIGN KEY (product_id) REFERENCES shop.products (id);
CREATE INDEX idx_orders_product ON shop.orders (product_id);
CREATE TABLE shop.tags_new (b integer, a text, c real);
INSERT INTO shop.tags_new SELECT b, a, c FROM shop.tags;
DROP TABLE shop.tags;
ALTER TABLE shop.tags_new RENAME TO tags;
CREATE VIEW shop.v_orders AS SELECT o.id, o.amount FROM shop.orders o WHERE o.amount > 0;
CREATE VIEW shop.v_same AS SELECT "id",
    email   FROM shop."customers";
"""


def run_sql(dsn: str, text: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(text)


P = "pg.shop."


def found(result) -> dict:
    return {
        kind: {r["qualified_name"]: (r["change_type"], [(c["attribute"], c["from"], c["to"]) for c in json.loads(r["changes"])])
               for r in frame.iter_rows(named=True)}
        for kind, frame in result.changes.items()
    }


def test_scripted_alters_exactly(store, pg_database):
    run_sql(pg_database, V1)
    config = parse_config({"sources": {"pg": {"type": "postgres", "dsn": pg_database}}})
    first = scan(store, config, "pg")
    run_sql(pg_database, MIGRATION)
    second = scan(store, config, "pg")
    assert first.status == second.status == "success"
    result = diff(store, config, "pg")
    got = found(result)
    view = got["table"].pop(P + "v_orders")
    assert view[0] == "modified" and [a for a, _, _ in view[1]] == ["view_definition"]
    assert "WHERE" not in view[1][0][1] and "WHERE" in view[1][0][2]
    assert got == {
        "schema": {},
        "table": {
            P + "shipments": ("added", []),
            P + "old_log": ("removed", []),
            P + "activity": ("renamed", [("qualified_name", P + "events", P + "activity")]),
            # a table whose columns, constraints or indexes changed is modified, naming them
            P + "customers": ("modified", [("columns", None, ["created modified", "email modified", "legacy removed",
                                                              "phone added"])]),
            P + "products": ("modified", [("columns", None, ["price modified", "title renamed"])]),
            P + "orders": ("modified", [("columns", None, ["amount modified", "customer_id modified",
                                                           "product_id modified"]),
                                        ("constraints", None, ["foreign_key(customer_id) removed",
                                                               "foreign_key(product_id) added"]),
                                        ("indexes", None, ["idx_orders_product added"])]),
            P + "tags": ("modified", [("columns", None, ["a moved", "b moved"])]),
            P + "v_same": ("modified", [("columns", None, ["email modified"])]),
        },
        "column": {
            P + "customers.email": ("modified", [("data_type", "character varying(40)", "character varying(80)")]),
            P + "customers.created": ("modified", [("column_default", "'2020-01-01'::date", "'2021-01-01'::date")]),
            P + "customers.legacy": ("removed", []),
            P + "customers.phone": ("added", []),
            P + "products.price": ("modified", [("data_type", "numeric(10,2)", "numeric(12,2)")]),
            P + "products.title": ("renamed", [("qualified_name", P + "products.label", P + "products.title")]),
            P + "orders.customer_id": ("modified", [("foreign_key", "shop.customers.id", None)]),
            P + "orders.product_id": ("modified", [("foreign_key", None, "shop.products.id"),
                                                   ("indexes", [], ["idx_orders_product"])]),
            P + "orders.amount": ("modified", [("is_nullable", False, True)]),
            P + "old_log.id": ("removed", []),
            P + "old_log.msg": ("removed", []),
            **{P + f"activity.{c}": ("renamed", [("qualified_name", P + f"events.{c}", P + f"activity.{c}")])
               for c in ("id", "kind", "at", "payload")},
            **{P + f"shipments.{c}": ("added", []) for c in ("id", "order_id", "carrier")},
            P + "tags.a": ("moved", [("ordinal_position", 1, 2)]),
            P + "tags.b": ("moved", [("ordinal_position", 2, 1)]),
            P + "v_same.email": ("modified", [("data_type", "character varying(40)", "character varying(80)")]),
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
            P + "shipments.shipments_pkey": ("added", []),
            P + "old_log.old_log_pkey": ("removed", []),
            # Postgres keeps an index's name when its table is renamed
            P + "activity.events_pkey": ("renamed", [("qualified_name", P + "events.events_pkey", P + "activity.events_pkey")]),
        },
    }
    cols = ["added", "removed", "modified", "renamed", "moved", "unknown", "unchanged"]
    assert {r["entity_type"]: tuple(r[c] for c in cols) for r in result.summary.iter_rows(named=True)} == {
        "schema": (0, 0, 0, 0, 0, 0, 2),  # public and shop
        "table": (1, 1, 6, 1, 0, 0, 0),
        "column": (4, 3, 7, 5, 2, 0, 9),
        "constraint": (2, 2, 0, 1, 0, 0, 3),
        "index": (2, 1, 0, 1, 0, 0, 4),
    }
    assert result.exit_code == 4
    itself = diff(store, config, "pg", from_run=second.run_id, to_run=second.run_id)
    assert itself.change_count == 0 and itself.exit_code == 0
