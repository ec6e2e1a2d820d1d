"""The connector conformance suite: written once, inherited by every connector's tests.

A subclass provides `source` (a fixture returning the source's settings dict) after building
the reference schema below on its real engine, plus the engine's expected type texts. The suite
scans it through the public API and asserts exact tables, columns, keys, indexes and views.

Reference schema (each engine spells it in its own DDL, in schema `schema_name`):
  customers(id integer PK, email varchar(100) NOT NULL UNIQUE, name varchar(50) NULL,
            score numeric(10,2) DEFAULT 0)
  orders(id integer PK, customer_id integer NOT NULL FK -> customers(id), note text)
      index orders_customer_idx on (customer_id)
  a table named `odd name.with/dots` with columns `Col "quoted"` (integer) and `ünïcode` (text)
  order_summary: view  SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id
"""

from __future__ import annotations

import json

import pytest

from dsa.config import Config, parse_source
from dsa.scan import scan
from dsa.store import Store


class ConnectorContract:
    """Inherit and provide the `source` fixture; every test below then runs on your engine."""

    schema_name = "main"
    types: dict[str, str] = {}  # column key "table.column" -> expected data_type text

    @pytest.fixture
    def scanned(self, source, tmp_path):
        store = Store(tmp_path / "store")
        config = Config(sources={"src": parse_source("src", source)})
        result = scan(store, config, "src")
        assert result.status == "success", result.errors
        con = store.connect()
        yield result, con
        con.close()

    def _tables(self, con):
        return {r[0]: r[1:] for r in con.execute(
            "SELECT table_name, table_type, primary_key, column_count, view_definition, custom_attributes "
            "FROM latest_table_metadata WHERE schema_name = ?", [self.schema_name]).fetchall()}

    def _columns(self, con, table):
        return con.execute(
            "SELECT column_name, ordinal_position, data_type, is_nullable, column_default, is_primary_key, "
            "is_unique, foreign_key, type_family FROM latest_column_metadata WHERE schema_name = ? AND table_name = ? "
            "ORDER BY ordinal_position", [self.schema_name, table]).fetchall()

    def test_tables_and_views(self, scanned):
        _, con = scanned
        tables = self._tables(con)
        assert set(tables) == {"customers", "orders", "odd name.with/dots", "order_summary"}
        assert tables["customers"][0] == "table"
        assert tables["order_summary"][0] == "view"
        assert "count" in tables["order_summary"][3].lower()
        assert json.loads(tables["customers"][1]) == ["id"]
        assert tables["customers"][2] == 4

    def test_columns(self, scanned):
        _, con = scanned
        cols = self._columns(con, "customers")
        assert [c[0] for c in cols] == ["id", "email", "name", "score"]
        assert [c[3] for c in cols] == [False, False, True, True]
        assert [c[5] for c in cols] == [True, False, False, False]
        assert cols[1][6] is True  # email unique
        assert [c[8] for c in cols] == ["integer", "string", "string", "decimal"]
        for name, _, data_type, *_ in cols:
            if f"customers.{name}" in self.types:
                assert data_type.lower() == self.types[f"customers.{name}"].lower()
        assert cols[3][4] is not None and "0" in cols[3][4]

    def test_foreign_keys_and_indexes(self, scanned):
        _, con = scanned
        cols = {c[0]: c for c in self._columns(con, "orders")}
        assert cols["customer_id"][7].endswith("customers.id")
        custom = json.loads(self._tables(con)["orders"][4])
        fks = custom["foreign_keys"]
        assert len(fks) == 1 and fks[0]["columns"] == ["customer_id"] and fks[0]["ref_table"] == "customers"
        assert fks[0]["ref_columns"] == ["id"]
        names = {i["name"]: i for i in custom["indexes"]}
        assert "orders_customer_idx" in names and names["orders_customer_idx"]["columns"] == ["customer_id"]

    def test_odd_identifiers(self, scanned):
        _, con = scanned
        cols = self._columns(con, "odd name.with/dots")
        assert [c[0] for c in cols] == ['Col "quoted"', "ünïcode"]
        qn = con.execute(
            "SELECT qualified_name FROM latest_column_metadata WHERE table_name = 'odd name.with/dots' ORDER BY ordinal_position"
        ).fetchall()
        from dsa.names import split_name

        assert split_name(qn[0][0])[-2:] == ["odd name.with/dots", 'Col "quoted"']
        assert len({r[0] for r in qn}) == 2

    def test_qualified_names_unique(self, scanned):
        _, con = scanned
        for table in ("normalized_tables", "normalized_columns", "normalized_schemas"):
            dupes = con.execute(f"SELECT qualified_name, count(*) FROM {table} GROUP BY ALL HAVING count(*) > 1").fetchall()
            assert dupes == []

    def test_include_exclude(self, source, tmp_path):
        store = Store(tmp_path / "store2")
        spec = {**source, "exclude": {"tables": ["order*"]}}
        config = Config(sources={"src": parse_source("src", spec)})
        result = scan(store, config, "src")
        names = {r[0] for r in store.connect().execute("SELECT table_name FROM latest_table_metadata").fetchall()}
        assert names == {"customers", "odd name.with/dots"}
        assert result.table_count == 2
