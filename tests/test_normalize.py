"""The shared normalizer on hand-made catalog rows: the exact JSON text of keys and indexes.

Connectors hand over rows in several shapes (dicts with lists, JSON text, yes/no flags; Polars
frames), and an engine's `extra` may even name a standard key. The expected texts below are
written out by hand from the connector contract in dsa/connectors/base.py.
"""

from __future__ import annotations

import json

import polars as pl

from dsa.config import SourceOptions
from dsa.connectors.base import Connector


class Fake(Connector):  # no `type`: not registered
    dialect = "duckdb"

    def connect(self):
        raise AssertionError("rows are given")


def _normalize(raw):
    connector = Fake("src", SourceOptions(type="sqlite"))
    return connector.build(raw, "db", "run1")


def _column(table, name, position, **more):
    return {"schema_name": "s", "table_name": table, "column_name": name, "ordinal_position": position,
            "data_type": "integer", "is_nullable": "YES", **more}


RAW = {
    "schemas": [{"schema_name": "s", "extra": {"charset": "utf8"}}],
    "tables": [
        {"schema_name": "s", "table_name": "p", "table_type": "table", "row_estimate": 3},
        {"schema_name": "s", "table_name": "c", "extra": '{"engine": "x", "indexes": "theirs"}'},
        {"schema_name": "s", "table_name": "other"},
    ],
    "columns": [_column("p", "id", 1), _column("p", "code", 2), _column("c", "id", 1),
                _column("c", "p_id", 2), _column("other", "a", 1)],
    "constraints": [
        {"schema_name": "s", "table_name": "p", "constraint_name": "p_pk", "constraint_type": "primary_key",
         "columns": '["id"]'},
        {"schema_name": "s", "table_name": "c", "constraint_name": "c_fk", "constraint_type": "foreign_key",
         "columns": ["p_id"], "ref_table": "p", "ref_columns": ["id"], "on_delete": "CASCADE",
         "extra": {"deferrable": True}},
        {"schema_name": "s", "table_name": "c", "constraint_name": "c_ck", "constraint_type": "check",
         "columns": None, "definition": "CHECK (id > 0)", "extra": '{"definition": "replaced"}'},
        {"schema_name": "s", "table_name": "other", "constraint_name": "x", "constraint_type": "unique",
         "columns": ["a"]},
    ],
    "indexes": [
        {"schema_name": "s", "table_name": "p", "index_name": "p_code", "columns": ["code"], "is_unique": "yes",
         "is_primary": 0, "method": "btree", "extra": {"comment": "ünï \"q\""}},
        {"schema_name": "s", "table_name": "p", "index_name": "p_partial", "columns": ["id"], "is_unique": True,
         "predicate": "id > 1", "extra": {"name": "renamed"}},
    ],
}


def _check(extraction):
    tables = {r["table_name"]: r for r in extraction.tables.iter_rows(named=True)}
    assert sorted(tables) == ["c", "other", "p"]
    p, c = tables["p"], tables["c"]
    assert p["primary_key"] == '["id"]' and c["primary_key"] is None
    assert p["custom_attributes"] == (
        '{"foreign_keys":[],"unique_constraints":[],"check_constraints":[],"indexes":['
        '{"name":"p_code","columns":["code"],"unique":true,"primary":false,"method":"btree","predicate":null,'
        '"definition":null,"comment":"ünï \\"q\\""},'
        '{"name":"renamed","columns":["id"],"unique":true,"primary":false,"method":null,"predicate":"id > 1",'
        '"definition":null}],'
        '"primary_key_name":"p_pk"}')
    # the table's extra names a standard key: its value wins, in the standard key's place
    assert c["custom_attributes"] == (
        '{"foreign_keys":[{"name":"c_fk","columns":["p_id"],"ref_schema":"s","ref_table":"p","ref_columns":["id"],'
        '"on_update":null,"on_delete":"CASCADE","ref_qualified_name":"src.s.p","deferrable":true}],'
        '"unique_constraints":[],"check_constraints":[{"name":"c_ck","columns":[],"definition":"replaced"}],'
        '"indexes":"theirs","engine":"x"}')
    assert (p["column_count"], c["column_count"], p["row_estimate"]) == (2, 2, 3)
    assert json.loads(p["attributes"]) == {"qualified_name": "src.s.p", "database": "db", "schema": "s",
                                           "name": "p", "table_type": "table"}
    assert c["table_type"] == "table"  # none given

    columns = {r["qualified_name"]: r for r in extraction.columns.iter_rows(named=True)}
    pid, code, cpid = columns["src.s.p.id"], columns["src.s.p.code"], columns["src.s.c.p_id"]
    # what keys say about columns comes from the standard keys (an extra only changes the JSON)
    assert (pid["is_primary_key"], pid["is_unique"], pid["indexes"]) == (True, True, '["p_partial"]')
    # a unique index with a predicate does not make its column unique; one without does
    assert (code["is_primary_key"], code["is_unique"], code["indexes"]) == (False, True, '["p_code"]')
    assert (cpid["foreign_key"], cpid["is_unique"], cpid["indexes"]) == ("src.s.p.id", False, "[]")
    assert json.loads(pid["custom_attributes"]) == {"ordinal_position": 1, "default": None, "primary_key_position": 1}
    assert extraction.schemas["custom_attributes"].to_list() == ['{"charset":"utf8"}']


def test_rows_as_dicts_lists_and_json_text():
    _check(_normalize(json.loads(json.dumps(RAW))))


def test_rows_as_frames_give_the_same_text():
    """Key and index rows may come as Polars frames (as Postgres reads them with COPY)."""
    raw = json.loads(json.dumps(RAW))
    cons = raw["constraints"]
    for row in cons:
        row["columns"] = json.loads(row["columns"]) if isinstance(row["columns"], str) else row["columns"] or []
        row["extra"] = json.dumps(row["extra"]) if isinstance(row.get("extra"), dict) else row.get("extra")
    raw["constraints"] = pl.DataFrame(cons, schema={
        "schema_name": pl.Utf8, "table_name": pl.Utf8, "constraint_name": pl.Utf8, "constraint_type": pl.Utf8,
        "columns": pl.List(pl.Utf8), "ref_table": pl.Utf8, "ref_columns": pl.List(pl.Utf8),
        "on_delete": pl.Utf8, "definition": pl.Utf8, "extra": pl.Utf8})
    for row in raw["indexes"]:
        row["extra"] = json.dumps(row["extra"])
        row["is_unique"], row["is_primary"] = True, False
    raw["indexes"] = pl.DataFrame(raw["indexes"], schema={
        "schema_name": pl.Utf8, "table_name": pl.Utf8, "index_name": pl.Utf8, "columns": pl.List(pl.Utf8),
        "is_unique": pl.Boolean, "is_primary": pl.Boolean, "method": pl.Utf8, "predicate": pl.Utf8,
        "extra": pl.Utf8})
    _check(_normalize(raw))


def test_no_keys_and_no_tables():
    raw = {"schemas": [{"schema_name": "s"}], "tables": [{"schema_name": "s", "table_name": "t"}],
           "columns": [_column("t", "a", 1)]}
    extraction = _normalize(raw)
    assert extraction.tables["custom_attributes"].to_list() == [
        '{"foreign_keys":[],"unique_constraints":[],"check_constraints":[],"indexes":[]}']
    assert extraction.tables["primary_key"].to_list() == [None]
    assert extraction.columns["indexes"].to_list() == ["[]"]
    empty = _normalize({"schemas": [], "tables": [], "columns": []})
    assert (empty.schemas.height, empty.tables.height, empty.columns.height) == (0, 0, 0)
