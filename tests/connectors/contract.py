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

What an engine cannot express (files have no keys, defaults or views) is declared by its
connector's `features` (see `dsa.connectors.base.FEATURES`); for a missing feature the suite
asserts that the catalog reports nothing of that kind, instead of skipping the check. An engine
that cannot name a table `odd name.with/dots` (a file name cannot hold `/`) sets `odd_table`.
"""

from __future__ import annotations

import json

import pytest

from dsa.config import Config, parse_source
from dsa.connectors import get_connector
from dsa.scan import scan
from dsa.store import Store


class ConnectorContract:
    """Inherit and provide the `source` fixture; every test below then runs on your engine."""

    schema_name = "main"
    types: dict[str, str] = {}  # column key "table.column" -> expected data_type text
    odd_table = "odd name.with/dots"
    table_type = "table"  # what a base table is called (files: external)
    nullable_known = True  # False where the engine cannot say (CSV, JSON): is_nullable is then null
    write_sql = "INSERT INTO customers (id, email) VALUES (99, 'w@example.com')"  # must fail: read-only

    @pytest.fixture
    def features(self, source):
        return get_connector(source["type"]).features

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

    def test_tables_and_views(self, scanned, features):
        _, con = scanned
        tables = self._tables(con)
        views = {"order_summary"} if "views" in features else set()
        assert set(tables) == {"customers", "orders", self.odd_table} | views
        assert tables["customers"][0] == self.table_type
        if views:
            assert tables["order_summary"][0] == "view"
            assert "count" in tables["order_summary"][3].lower()
        assert not any(t[0] == "view" for name, t in tables.items() if name not in views)
        if "primary_keys" in features:
            assert json.loads(tables["customers"][1]) == ["id"]
        else:
            assert all(t[1] is None for t in tables.values())
        assert tables["customers"][2] == 4

    def test_columns(self, scanned, features):
        _, con = scanned
        cols = self._columns(con, "customers")
        assert [c[0] for c in cols] == ["id", "email", "name", "score"]
        if self.nullable_known:
            assert [c[3] for c in cols] == [False, False, True, True]
        else:
            assert [c[3] for c in cols] == [None] * 4
        assert [c[5] for c in cols] == ["primary_keys" in features, False, False, False]
        assert cols[1][6] is ("unique_constraints" in features)  # email unique
        assert [c[8] for c in cols] == ["integer", "string", "string", "decimal"]
        for name, _, data_type, *_ in cols:
            if f"customers.{name}" in self.types:
                assert data_type.lower() == self.types[f"customers.{name}"].lower()
        if "defaults" in features:
            assert cols[3][4] is not None and "0" in cols[3][4]
        else:
            assert [c[4] for c in cols] == [None] * 4

    def test_foreign_keys_and_indexes(self, scanned, features):
        _, con = scanned
        cols = {c[0]: c for c in self._columns(con, "orders")}
        custom = json.loads(self._tables(con)["orders"][4])
        fks = custom["foreign_keys"]
        if "foreign_keys" in features:
            assert cols["customer_id"][7].endswith("customers.id")
            assert len(fks) == 1 and fks[0]["columns"] == ["customer_id"] and fks[0]["ref_table"] == "customers"
            assert fks[0]["ref_columns"] == ["id"]
        else:
            assert fks == [] and cols["customer_id"][7] is None
        names = {i["name"]: i for i in custom["indexes"]}
        if "indexes" in features:
            assert "orders_customer_idx" in names and names["orders_customer_idx"]["columns"] == ["customer_id"]
        else:
            assert names == {}

    def test_odd_identifiers(self, scanned):
        _, con = scanned
        cols = self._columns(con, self.odd_table)
        assert [c[0] for c in cols] == ['Col "quoted"', "ünïcode"]
        qn = con.execute(
            "SELECT qualified_name FROM latest_column_metadata WHERE table_name = ? ORDER BY ordinal_position",
            [self.odd_table]).fetchall()
        from dsa.names import split_name

        assert split_name(qn[0][0])[-2:] == [self.odd_table, 'Col "quoted"']
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
        assert names == {"customers", self.odd_table}
        assert result.table_count == 2

    def test_connection_is_read_only(self, source):
        connector = get_connector(source["type"])("src", parse_source("src", source))
        conn = connector.connect()
        try:
            cur = conn.cursor()
            with pytest.raises(Exception) as info:
                cur.execute(self.write_sql)
            assert "read" in str(info.value).lower() or "permission" in str(info.value).lower()
        finally:
            conn.close()
