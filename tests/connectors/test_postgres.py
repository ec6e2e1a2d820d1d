"""Postgres: the conformance suite on the real server, plus what only Postgres has."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import psycopg
import pytest

from psycopg import sql

from dsa.config import Config, parse_source
from dsa.names import split_name
from dsa.scan import scan
from dsa.store import Store
from tests.conftest import PG_DSN
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


# -- everything Postgres has, on one database built once for this module -------------------

RICH_DDL = (Path(__file__).parent / "postgres_rich.sql").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rich(pg_admin, tmp_path_factory):
    """The rich schema (queries beside this file), scanned once: (result, duckdb connection, dsn)."""
    name = f"dsa_t_{secrets.token_hex(4)}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = PG_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        run_sql(dsn, RICH_DDL)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE ref.countries")
            conn.execute("VACUUM ANALYZE sales.stores")
        store = Store(tmp_path_factory.mktemp("rich") / "store")
        result = scan(store, Config(sources={"pg": parse_source("pg", {"type": "postgres", "dsn": dsn})}), "pg")
        con = store.connect()
        yield result, con, dsn
        con.close()
    finally:
        pg_admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def rows(con, query, *params):
    cur = con.execute(query, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def table(con, schema, name):
    (row,) = rows(con, "SELECT * FROM latest_table_metadata WHERE schema_name = ? AND table_name = ?", schema, name)
    row["custom"] = json.loads(row["custom_attributes"])
    return row


def columns(con, schema, name):
    out = rows(con, "SELECT * FROM latest_column_metadata WHERE schema_name = ? AND table_name = ? "
               "ORDER BY ordinal_position", schema, name)
    for c in out:
        c["custom"] = json.loads(c["custom_attributes"])
    return out


def test_rich_scan_succeeds(rich):
    result, _, _ = rich
    assert result.status == "success" and result.errors == []
    assert (result.schema_count, result.table_count) == (5, 18)


def test_schemas_owner_comment_and_no_system_schemas(rich):
    _, con, _ = rich
    got = {r["schema_name"]: (r["owner"], r["comment"]) for r in rows(con, "SELECT * FROM latest_schema_metadata")}
    assert got == {
        "public": ("pg_database_owner", "standard public schema"),
        "ref": ("postgres", None),
        "sales": ("postgres", "Sales data"),
        "select": ("postgres", None),
        'we"ird schema.v1/ü': ("postgres", "odd"),
    }


def test_table_types_partitions_and_foreign_tables(rich):
    _, con, _ = rich
    got = {r["table_name"]: (r["table_type"], r["parent_table"])
           for r in rows(con, "SELECT * FROM latest_table_metadata WHERE schema_name = 'sales'")}
    assert got == {
        "stores": ("table", None), "exotic": ("table", None), "regions": ("table", None),
        "big_stores": ("view", None), "store_counts": ("materialized_view", None),
        "events": ("partitioned_table", None),
        "events_2024": ("partition", "pg.sales.events"), "events_2025": ("partition", "pg.sales.events"),
        "events_default": ("partition", "pg.sales.events"),
        "ext_rates": ("foreign_table", None), "visits": ("table", None),
    }
    assert table(con, "sales", "events")["custom"]["partition_key"] == "RANGE (at)"
    bounds = {t: table(con, "sales", t)["custom"]["partition_bound"] for t in ("events_2024", "events_default")}
    assert bounds == {"events_2024": "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')", "events_default": "DEFAULT"}
    ext = table(con, "sales", "ext_rates")["custom"]
    assert ext["foreign_server"] == "files" and ext["foreign_options"] == ["filename=/dev/null", "format=csv"]
    assert table(con, "sales", "store_counts")["custom"]["populated"] is True


def test_view_definitions(rich):
    _, con, _ = rich
    view = table(con, "sales", "big_stores")
    assert " ".join(view["view_definition"].split()) == (
        "SELECT stores.id, stores.code FROM sales.stores WHERE (stores.price > (100)::numeric);")
    mv = table(con, "sales", "store_counts")
    assert " ".join(mv["view_definition"].split()) == (
        "SELECT stores.country, count(*) AS n FROM sales.stores GROUP BY stores.country;")
    assert table(con, "sales", "stores")["view_definition"] is None


def test_owner_comment_row_estimates_and_sizes(rich):
    _, con, dsn = rich
    stores = table(con, "sales", "stores")
    assert (stores["owner"], stores["comment"]) == ("postgres", "One row per store")
    assert table(con, "ref", "countries")["row_estimate"] == 3  # ANALYZEd: exact for a small table
    assert stores["row_estimate"] == 4
    assert table(con, "sales", "exotic")["row_estimate"] is None  # never analyzed (reltuples -1)
    assert table(con, "sales", "big_stores")["row_estimate"] is None
    assert table(con, "sales", "big_stores")["size_bytes"] is None
    # the documented size: main forks of the table, its TOAST table and its indexes, as on disk
    with psycopg.connect(dsn) as conn:
        expected = conn.execute(
            "SELECT pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0)"
            " + (SELECT sum(pg_relation_size(indexrelid)) FROM pg_index WHERE indrelid = c.oid)"
            " FROM pg_class c WHERE c.oid = 'sales.stores'::regclass").fetchone()[0]
    assert stores["size_bytes"] == expected > 0


def test_columns_types_defaults_identity_generated_comments(rich):
    _, con, _ = rich
    got = [(c["column_name"], c["data_type"], c["type_family"], c["is_nullable"], c["column_default"],
            c["is_identity"], c["is_generated"], c["generation_expression"])
           for c in columns(con, "sales", "stores")]
    assert got == [
        ("id", "bigint", "integer", False, None, True, False, None),
        ("country", "character(2)", "string", False, None, False, False, None),
        ("region_no", "smallint", "integer", False, None, False, False, None),
        ("parent_id", "bigint", "integer", True, None, False, False, None),
        ("code", "character varying(20)", "string", False, None, False, False, None),
        ("price", "numeric(12,2)", "decimal", True, "0.00", False, False, None),
        ("price_with_tax", "numeric", "decimal", True, None, False, True, "(price * 1.2)"),
        ("tags", "text[]", "array", True, None, False, False, None),
        ("grid", "integer[]", "array", True, None, False, False, None),
        ("mood", "sales.mood", "enum", True, "'ok'::sales.mood", False, False, None),
        ("qty", "sales.posint", "integer", True, None, False, False, None),
        ("contact", "sales.email", "string", True, None, False, False, None),
        ("serial_no", "integer", "integer", False, "nextval('sales.stores_serial_no_seq'::regclass)",
         False, False, None),
    ]
    by_name = {c["column_name"]: c for c in columns(con, "sales", "stores")}
    assert by_name["code"]["comment"] == "Store code, unique per country"
    assert by_name["id"]["custom"]["identity"] == "always"
    assert by_name["price_with_tax"]["custom"]["generated"] == "stored"
    assert by_name["mood"]["custom"]["enum_labels"] == ["sad", "ok", "happy"]
    assert by_name["qty"]["custom"]["domain_base_type"] == "integer"
    assert by_name["contact"]["custom"]["domain_base_type"] == "character varying(200)"
    assert by_name["contact"]["custom"]["domain_not_null"] is True
    assert [c["ordinal_position"] for c in by_name.values()] == list(range(1, 14))


def test_exotic_types(rich):
    _, con, _ = rich
    got = [(c["column_name"], c["data_type"], c["type_family"]) for c in columns(con, "sales", "exotic")]
    assert got == [
        ("r", "int4range", "other"), ("tr", "tstzrange", "other"), ("j", "json", "json"), ("jb", "jsonb", "json"),
        ("ts", "tsvector", "string"), ("m", "money", "decimal"), ("b", "bit(3)", "binary"),
        ("vb", "bit varying(8)", "binary"), ("iv", "interval", "interval"), ("u", "uuid", "uuid"),
        ("ip", "inet", "string"), ("c", "cidr", "string"), ("p", "sales.pair", "struct"),
        ("ts6", "timestamp(3) with time zone", "timestamp"), ("t", "time without time zone", "time"),
        ("ch", "character(5)", "string"), ("f", "double precision", "float"), ("rl", "real", "float"),
        ("bo", "boolean", "boolean"), ("by", "bytea", "binary"), ("x", "xml", "xml"), ("pt", "point", "geometry"),
        ("ia", "bigint[]", "array"), ("moods", "sales.mood[]", "array"), ("iv2", "interval day to second(2)", "interval"),
        ("vc", "character varying", "string"), ("n", "numeric(5,0)", "decimal"), ("odd", '"we""ird schema.v1/ü"."my type"', "enum"),
    ]


def test_keys_composite_self_and_cross_schema(rich):
    _, con, _ = rich
    stores, regions = table(con, "sales", "stores"), table(con, "sales", "regions")
    assert json.loads(regions["primary_key"]) == ["country", "region_no"]
    assert regions["custom"]["primary_key_name"] == "regions_pkey"
    fks = {f["name"]: (f["columns"], f["ref_schema"], f["ref_table"], f["ref_columns"], f["on_update"], f["on_delete"])
           for f in stores["custom"]["foreign_keys"] + regions["custom"]["foreign_keys"]}
    assert fks == {
        "stores_parent_id_fkey": (["parent_id"], "sales", "stores", ["id"], "NO ACTION", "SET NULL"),
        "stores_region_fk": (["country", "region_no"], "sales", "regions", ["country", "region_no"], "NO ACTION", "NO ACTION"),
        "regions_country_fk": (["country"], "ref", "countries", ["code"], "RESTRICT", "CASCADE"),
    }
    cols = {c["column_name"]: c for c in columns(con, "sales", "stores")}
    assert cols["parent_id"]["foreign_key"] == "pg.sales.stores.id"
    assert cols["region_no"]["foreign_key"] == "pg.sales.regions.region_no"
    assert columns(con, "sales", "regions")[0]["foreign_key"] == "pg.ref.countries.code"
    assert [(u["name"], u["columns"]) for u in stores["custom"]["unique_constraints"]] == [("stores_code_uq", ["country", "code"])]
    assert [(c["name"], c["columns"], c["definition"]) for c in stores["custom"]["check_constraints"]] == [
        ("stores_price_check", ["price"], "CHECK ((price >= (0)::numeric))")]
    # a foreign key to a partitioned table is one key, not one per partition
    visits = table(con, "sales", "visits")["custom"]["foreign_keys"]
    assert [(f["columns"], f["ref_table"]) for f in visits] == [(["event_id", "event_at"], "events")]
    assert [c["is_primary_key"] for c in cols.values()][:2] == [True, False]
    assert cols["id"]["is_unique"] is True and cols["code"]["is_unique"] is False


def test_indexes_expression_partial_method_include(rich):
    _, con, _ = rich
    idx = {i["name"]: i for i in table(con, "sales", "stores")["custom"]["indexes"]}
    assert sorted(idx) == ["stores_code_uq", "stores_cover_idx", "stores_lower_code_idx", "stores_pkey",
                           "stores_serial_no_key", "stores_tags_gin"]
    low = idx["stores_lower_code_idx"]
    assert (low["columns"], low["unique"], low["predicate"], low["method"]) == (
        ["lower(code::text)", "country"], True, "parent_id IS NULL", "btree")
    assert low["definition"] == ("CREATE UNIQUE INDEX stores_lower_code_idx ON sales.stores USING btree "
                                 "(lower((code)::text), country) WHERE (parent_id IS NULL)")
    assert (idx["stores_tags_gin"]["method"], idx["stores_tags_gin"]["columns"]) == ("gin", ["tags"])
    assert (idx["stores_cover_idx"]["columns"], idx["stores_cover_idx"]["include"]) == (["country"], ["code"])
    assert idx["stores_pkey"]["primary"] is True and idx["stores_pkey"]["constraint"] is True
    cols = {c["column_name"]: json.loads(c["indexes"]) for c in columns(con, "sales", "stores")}
    assert cols["tags"] == ["stores_tags_gin"]
    assert cols["serial_no"] == ["stores_serial_no_key"]


def test_odd_identifiers(rich):
    _, con, _ = rich
    odd_schema = 'we"ird schema.v1/ü'
    long_name = "t" * 63
    got = {r["table_name"]: r["qualified_name"]
           for r in rows(con, "SELECT * FROM latest_table_metadata WHERE schema_name = ?", odd_schema)}
    assert set(got) == {"select", "a b.c/d", 'quo"te', "ünïcødé 表", long_name}
    for name, qn in got.items():
        assert split_name(qn) == ["pg", odd_schema, name]
    cols = [c["column_name"] for c in columns(con, odd_schema, "select")]
    assert cols == ["from", "Mixed Case", 'a"b', "x.y/z", "ünï", "c" * 63]
    assert [c["data_type"] for c in columns(con, odd_schema, "select")] == [
        "integer", "text", "text", "text", "text", '"we""ird schema.v1/ü"."my type"']
    fk = table(con, odd_schema, 'quo"te')["custom"]["foreign_keys"][0]
    assert (fk["columns"], fk["ref_schema"], fk["ref_table"], fk["ref_columns"]) == (
        ["x.y/z"], odd_schema, "select", ["from"])
    assert table(con, "select", "from")["table_type"] == "table"
    assert [c["column_name"] for c in columns(con, "select", "from")] == ["where"]
    for t in ("normalized_tables", "normalized_columns"):
        assert rows(con, f"SELECT qualified_name FROM {t} GROUP BY 1 HAVING count(*) > 1") == []
