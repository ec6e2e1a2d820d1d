"""Schema insights on real engines: one small shop per engine where each rule fires on exactly
the objects built to trip it and on nothing else (its clean neighbours are the "not firing"
cases), orphan rates measured in the engine, `--fail-on` and the config's `lint.disable`."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dsa.names import split_name


def shop(q: str, fk_type: str = "bigint") -> list[str]:
    """customers: a NOT NULL name mostly '' (empty_strings), a mixed-case and a reserved-word
    column (needs_quoting), two all-NULL columns (all_null), a nullable column never NULL
    (never_null). orders: customer_id undeclared (implied_fk, 1 of 2 values orphaned), amount
    holding a NULL, status NOT NULL and filled (clean). items: no primary key, a foreign key with
    an index and one without, a `fk_type` reference to products.id (integer), an index that is
    a prefix of another (redundant_index)."""
    return [
        f"CREATE TABLE customers (id integer PRIMARY KEY, name varchar(20) NOT NULL, {q}Region{q} varchar(20), "
        f"notes varchar(20), {q}order{q} integer)",
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id integer, amount numeric(10,2), status varchar(5) NOT NULL)",
        "CREATE TABLE products (id integer PRIMARY KEY, label varchar(20))",
        f"CREATE TABLE items (order_id bigint, product_id {fk_type}, qty integer, "
        "FOREIGN KEY (order_id) REFERENCES orders (id), FOREIGN KEY (product_id) REFERENCES products (id))",
        "CREATE INDEX items_order ON items (order_id)",
        "CREATE INDEX items_order_qty ON items (order_id, qty)",
        "INSERT INTO customers VALUES (1, 'a', NULL, NULL, 1), (2, '', NULL, NULL, 2), (3, '', NULL, NULL, 3)",
        "INSERT INTO orders VALUES (1, 1, 10, 'x'), (2, 9, NULL, 'y'), (3, NULL, 1, 'z')",
    ]


EVERY = {
    ("no_primary_key", "items"),
    ("fk_without_index", "items.product_id"),
    ("implied_fk", "orders.customer_id"),
    ("redundant_index", "items"),
    ("never_null", "customers.order"),
    ("empty_strings", "customers.name"),
    ("all_null", "customers.Region"), ("all_null", "customers.notes"),
    ("fk_type_mismatch", "items.product_id"),
    ("needs_quoting", "customers.Region"), ("needs_quoting", "customers.order"),
}


def _lint(tmp_path, dsa_cli, source_yaml: str, extra: str = "", *args: str):
    (tmp_path / "dsa.yaml").write_text(f"{extra}sources:\n  src: {source_yaml}\n")
    for command in (("scan", "src"), ("quality", "src")):
        out = dsa_cli(*command)
        assert out.returncode == 0, out.stderr
    out = dsa_cli("lint", "src", "--format", "json", *args)
    return out, (json.loads(out.stdout) if out.stdout.strip() else None)


def _found(findings: list[dict]) -> set[tuple[str, str]]:
    return {(f["rule"], ".".join(split_name(f["qualified_name"])[2:])) for f in findings}


def _check_common(findings: list[dict], expected: set[tuple[str, str]]) -> None:
    assert _found(findings) == expected
    for f in findings:
        assert f["message"] and f["why"] and isinstance(f["evidence"], dict)
    implied = next(f for f in findings if f["rule"] == "implied_fk")
    assert implied["evidence"]["checked_rows"] == 2 and implied["evidence"]["orphan_rows"] == 1
    assert implied["evidence"]["orphan_percentage"] == 50.0
    assert implied["evidence"]["references"].endswith("customers.id")
    redundant = next(f for f in findings if f["rule"] == "redundant_index")
    assert (redundant["evidence"]["index"], redundant["evidence"]["covered_by"]) == ("items_order", "items_order_qty")
    empty = next(f for f in findings if f["rule"] == "empty_strings")
    assert (empty["evidence"]["empty_count"], empty["evidence"]["rows"]) == (2, 3)


@pytest.mark.postgres
def test_postgres_rules(tmp_path, dsa_cli, pg_database):
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        for statement in shop('"'):
            conn.execute(statement)
    # orphan counts checked with Postgres's own SQL, independently of dsa's query
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM orders o WHERE customer_id IS NOT NULL AND NOT EXISTS "
                            "(SELECT 1 FROM customers c WHERE c.id = o.customer_id)").fetchone()[0] == 1
    out, findings = _lint(tmp_path, dsa_cli, f"{{type: postgres, dsn: '{pg_database}'}}")
    assert out.returncode == 0, out.stderr
    _check_common(findings, EVERY)


@pytest.mark.mysql
def test_mariadb_rules(tmp_path, dsa_cli, mysql_admin, mysql_database):
    # InnoDB indexes every foreign key and wants its types equal: those two rules cannot fire
    with mysql_admin.cursor() as cur:
        cur.execute(f"USE `{mysql_database}`")
        for statement in shop("`", fk_type="integer"):
            cur.execute(statement)
    out, findings = _lint(tmp_path, dsa_cli, f"{{type: mysql, host: 127.0.0.1, user: root, "
                                              f"include: {{schemas: [{mysql_database}]}}}}")
    assert out.returncode == 0, out.stderr
    _check_common(findings, EVERY - {("fk_without_index", "items.product_id"), ("fk_type_mismatch", "items.product_id")})


def test_sqlite_rules(tmp_path, dsa_cli):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        for statement in shop('"'):
            conn.execute(statement)
    out, findings = _lint(tmp_path, dsa_cli, f"{{type: sqlite, path: '{path}'}}")
    assert out.returncode == 0, out.stderr
    # SQLite lets a primary key other than INTEGER PRIMARY KEY hold NULL: orders.id (bigint) may
    _check_common(findings, EVERY | {("never_null", "orders.id")})


def test_duckdb_rules_fail_on_and_disable(tmp_path, dsa_cli):
    import duckdb

    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:  # DuckDB indexes foreign keys itself, of equal types only
        for statement in shop('"', fk_type="integer"):
            conn.execute(statement)
    source = f"{{type: duckdb, path: '{path}'}}"
    out, findings = _lint(tmp_path, dsa_cli, source)
    assert out.returncode == 0, out.stderr
    _check_common(findings, EVERY - {("fk_without_index", "items.product_id"), ("fk_type_mismatch", "items.product_id")})

    assert dsa_cli("lint", "src", "--fail-on", "all").returncode == 5
    assert dsa_cli("lint", "src", "--fail-on", "implied_fk").returncode == 5
    assert dsa_cli("lint", "src", "--fail-on", "fk_type_mismatch").returncode == 0
    bad = dsa_cli("lint", "src", "--fail-on", "nope")
    assert bad.returncode == 2 and "nope" in bad.stderr and bad.stderr.count("\n") == 1
    text = dsa_cli("lint", "src", "--no-measure").stdout
    assert "orphan rate not measured" in text and "9 findings" in text

    (tmp_path / "dsa.yaml").write_text(f"lint: {{disable: [needs_quoting, all_null]}}\nsources:\n  src: {source}\n")
    out = dsa_cli("lint", "src", "--format", "json")
    assert {f["rule"] for f in json.loads(out.stdout)} == {r for r, _ in EVERY} - {
        "needs_quoting", "all_null", "fk_without_index", "fk_type_mismatch"}
    (tmp_path / "dsa.yaml").write_text(f"lint: {{disable: [no_such_rule]}}\nsources:\n  src: {source}\n")
    out = dsa_cli("lint", "src")
    assert out.returncode == 2 and "lint.disable" in out.stderr and "no_such_rule" in out.stderr
