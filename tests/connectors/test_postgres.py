"""Postgres: the conformance suite on the real server, plus what only Postgres has."""

from __future__ import annotations

import psycopg
import pytest

from tests.connectors.contract import ConnectorContract

pytestmark = pytest.mark.postgres

REFERENCE_DDL = '''
CREATE TABLE customers (id integer PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(50),
                        score numeric(10,2) DEFAULT 0);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), note text);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE "odd name.with/dots" ("Col ""quoted""" integer, "ünïcode" text);
CREATE VIEW order_summary AS SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id;
'''


def run_sql(dsn: str, ddl: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl)


class TestPostgres(ConnectorContract):
    schema_name = "public"
    types = {"customers.id": "integer", "customers.email": "character varying(100)",
             "customers.name": "character varying(50)", "customers.score": "numeric(10,2)"}

    @pytest.fixture
    def source(self, pg_database):
        run_sql(pg_database, REFERENCE_DDL)
        return {"type": "postgres", "dsn": pg_database}
