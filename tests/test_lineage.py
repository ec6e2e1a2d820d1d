"""Lineage from view SQL on real engines: every edge of eight views (a join, `SELECT *`, a CTE,
a union, subqueries, a window function, quoted names, a view over a view), the same on
Postgres, MariaDB, SQLite and DuckDB; the CLI's name forms; impact of a dropped column."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dsa.config import parse_config
from dsa.names import split_name
from dsa.scan import scan

TABLES = [
    "CREATE TABLE customers (id integer PRIMARY KEY, name varchar(40), {q}Region{q} varchar(20))",
    "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer, amount numeric(10,2), status varchar(10))",
]
VIEWS = [
    "CREATE VIEW v_join AS SELECT o.id, c.name AS customer, o.amount * 2 AS dbl "
    "FROM orders o JOIN customers c ON o.customer_id = c.id WHERE o.status = 'paid'",
    "CREATE VIEW v_star AS SELECT * FROM customers",
    "CREATE VIEW v_cte AS WITH t AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id) "
    "SELECT t.customer_id, t.total FROM t",
    "CREATE VIEW v_union AS SELECT id, name FROM customers UNION ALL SELECT id, status FROM orders",
    "CREATE VIEW v_sub AS SELECT s.id, s.big FROM (SELECT id, amount * 2 AS big FROM orders WHERE amount > 0) s "
    "WHERE s.id IN (SELECT customer_id FROM orders)",
    "CREATE VIEW v_win AS SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY amount) AS rn FROM orders",
    "CREATE VIEW v_quoted AS SELECT {q}Region{q} AS {q}Big Region{q}, name FROM customers",
    "CREATE VIEW v_over AS SELECT customer, dbl FROM v_join",
]

# (upstream table.column, downstream view.column or view, kind), names below the schema
COLUMN_EDGES = {
    ("orders.id", "v_join.id", "direct"), ("customers.name", "v_join.customer", "direct"),
    ("orders.amount", "v_join.dbl", "derived"), ("orders.customer_id", "v_join", "join"),
    ("customers.id", "v_join", "join"), ("orders.status", "v_join", "filter"),
    ("customers.id", "v_star.id", "direct"), ("customers.name", "v_star.name", "direct"),
    ("customers.Region", "v_star.Region", "direct"),
    ("orders.customer_id", "v_cte.customer_id", "direct"), ("orders.amount", "v_cte.total", "derived"),
    ("orders.customer_id", "v_cte", "filter"),
    ("customers.id", "v_union.id", "direct"), ("orders.id", "v_union.id", "direct"),
    ("customers.name", "v_union.name", "direct"), ("orders.status", "v_union.name", "direct"),
    ("orders.id", "v_sub.id", "direct"), ("orders.amount", "v_sub.big", "derived"),
    ("orders.amount", "v_sub", "filter"), ("orders.customer_id", "v_sub", "filter"), ("orders.id", "v_sub", "filter"),
    ("orders.id", "v_win.id", "direct"), ("orders.customer_id", "v_win.rn", "derived"),
    ("orders.amount", "v_win.rn", "derived"),
    ("customers.Region", '"v_quoted"."Big Region"', "direct"), ("customers.name", "v_quoted.name", "direct"),
    ("v_join.customer", "v_over.customer", "direct"), ("v_join.dbl", "v_over.dbl", "direct"),
}
TABLE_EDGES = {
    ("orders", "v_join"), ("customers", "v_join"), ("customers", "v_star"), ("orders", "v_cte"),
    ("customers", "v_union"), ("orders", "v_union"), ("orders", "v_sub"), ("orders", "v_win"),
    ("customers", "v_quoted"), ("v_join", "v_over"),
}


def _below_schema(name: str) -> str:
    parts = split_name(name)[2:]
    plain = all(p.isidentifier() for p in parts)
    return ".".join(parts) if plain else ".".join(f'"{p}"' for p in parts)


def _edges(store, run_id: str, level: str) -> pl_rows:
    frame = store.sql("SELECT upstream, downstream, kind, method FROM lineage_edges WHERE run_id = ? AND level = ?",
                      [run_id, level])
    return [(_below_schema(u), _below_schema(d), k, m) for u, d, k, m in frame.iter_rows()]


pl_rows = list


def _statements(quote: str) -> list[str]:
    return [s.format(q=quote) for s in TABLES + VIEWS]


def _assert_lineage(store, config_text: str, methods: set[str]) -> str:
    config = parse_config(__import__("yaml").safe_load(config_text))
    result = scan(store, config, "src")
    assert result.status == "success", result.errors
    columns = _edges(store, result.run_id, "column")
    assert {(u, d, k) for u, d, k, _ in columns} == COLUMN_EDGES
    assert len(columns) == len(COLUMN_EDGES)  # one edge per (upstream, downstream)
    tables = _edges(store, result.run_id, "table")
    assert {(u, d) for u, d, _, _ in tables} == TABLE_EDGES
    assert {m for _, _, _, m in tables} == methods
    kinds = {(u, d): k for u, d, k, _ in tables}
    assert set(kinds.values()) == {"direct"}  # every view copies a column of each relation it reads
    return result.run_id


@pytest.mark.postgres
def test_postgres_views(store, pg_database):
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        for statement in _statements('"'):
            conn.execute(statement)
    _assert_lineage(store, f"sources: {{src: {{type: postgres, dsn: '{pg_database}'}}}}", {"pg_depend"})


@pytest.mark.mysql
def test_mariadb_views(store, mysql_admin, mysql_database):
    with mysql_admin.cursor() as cur:
        cur.execute(f"USE `{mysql_database}`")
        for statement in _statements("`"):
            cur.execute(statement)
    _assert_lineage(store, f"sources: {{src: {{type: mysql, host: 127.0.0.1, user: root, "
                           f"include: {{schemas: [{mysql_database}]}}}}}}", {"sqlglot"})


def test_sqlite_views(store, tmp_path):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        for statement in _statements('"'):
            conn.execute(statement)
    _assert_lineage(store, f"sources: {{src: {{type: sqlite, path: '{path}'}}}}", {"sqlglot"})


def test_duckdb_views(store, tmp_path):
    import duckdb

    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        for statement in _statements('"'):
            conn.execute(statement)
    _assert_lineage(store, f"sources: {{src: {{type: duckdb, path: '{path}'}}}}", {"sqlglot"})


def test_rescan_reuses_resolutions_until_a_read_relation_changes(store, tmp_path):
    """The second scan takes each view's resolution from the store's cache (same edges); a column
    added to customers makes the views reading it resolve afresh (v_star gains the column)."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        for statement in _statements('"'):
            conn.execute(statement)
    config = parse_config({"sources": {"src": {"type": "sqlite", "path": str(path)}}})
    first, second = scan(store, config, "src"), scan(store, config, "src")
    counts = {r: json.loads(c) for r, c in store.sql("SELECT run_id, counts FROM sync_runs").iter_rows()}
    assert counts[first.run_id]["lineage_views_reused"] == 0
    assert counts[second.run_id]["lineage_views_reused"] == counts[second.run_id]["lineage_view_count"] == 8
    assert sorted(_edges(store, first.run_id, "column")) == sorted(_edges(store, second.run_id, "column"))

    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN email varchar(40)")
    third = scan(store, config, "src")
    reused = json.loads(store.sql("SELECT counts FROM sync_runs WHERE run_id = ?", [third.run_id])["counts"][0])
    assert reused["lineage_views_reused"] == 4  # v_cte, v_sub, v_win read orders, v_over v_join (unchanged)
    edges = _edges(store, third.run_id, "column")
    assert ("customers.email", "v_star.email", "direct", "sqlglot") in edges
    assert {(u, d, k) for u, d, k, _ in edges} == COLUMN_EDGES | {("customers.email", "v_star.email", "direct")}


@pytest.mark.postgres
def test_unreadable_view_sql_is_noted_not_failed(store, pg_database):
    """A view sqlglot cannot parse: the scan succeeds, run_errors names it (phase lineage), the
    dependency catalog still gives its table-level edge."""
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a text)")
        conn.execute("CREATE VIEW ok AS SELECT a FROM t")
        conn.execute("CREATE VIEW odd AS SELECT a FROM t ORDER BY a USING ~<~")  # sqlglot: unexpected token
    config = parse_config({"sources": {"src": {"type": "postgres", "dsn": pg_database}}})
    result = scan(store, config, "src")
    assert result.status == "success"
    errors = store.sql("SELECT qualified_name, phase, error FROM run_errors WHERE run_id = ?", [result.run_id])
    assert [r[:2] for r in errors.rows()] == [("src.public.odd", "lineage")]
    assert "\x1b" not in errors["error"][0] and "\\x1b" not in errors["error"][0]  # no terminal styling
    assert ("t.a", "ok.a", "direct", "sqlglot") in _edges(store, result.run_id, "column")
    assert ("t", "odd", "direct", "pg_depend") in _edges(store, result.run_id, "table")


def test_lineage_cli_names_and_impact(tmp_path, dsa_cli):
    """`dsa lineage` by short names (ambiguous ones list candidates); a dropped column that two
    views read is breaking in `dsa diff --format json`, both views listed."""
    import duckdb

    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        for statement in _statements('"'):
            conn.execute(statement)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: duckdb, path: '{path}'}}\n")
    assert dsa_cli("scan", "shop").returncode == 0

    out = dsa_cli("lineage", "orders.amount", "--downstream", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["node"] == "shop.main.orders.amount"
    reached = {(e["downstream"], e["depth"]) for e in doc["edges"]}
    assert reached == {("shop.main.v_join.dbl", 1), ("shop.main.v_cte.total", 1), ("shop.main.v_sub.big", 1),
                       ("shop.main.v_sub", 1), ("shop.main.v_win.rn", 1), ("shop.main.v_over.dbl", 2)}
    out = dsa_cli("lineage", "v_over", "--upstream", "--depth", "1")
    assert out.returncode == 0 and "<- shop.main.v_join  (table, direct)" in out.stdout
    assert "shop.main.orders" not in out.stdout  # two steps away
    out = dsa_cli("lineage", "id")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "ambiguous" in out.stderr and "shop.main.orders.id" in out.stderr
    assert dsa_cli("lineage", "nope.nothing").returncode != 0

    with duckdb.connect(str(path)) as conn:  # DuckDB lets the views stay, broken
        conn.execute("ALTER TABLE orders DROP COLUMN status")
    assert dsa_cli("scan", "shop").returncode == 0
    out = dsa_cli("diff", "shop", "--format", "json")
    assert out.returncode == 4, out.stderr
    impact = {i["previous_name"]: i for i in json.loads(out.stdout)["impact"]}
    status = impact["shop.main.orders.status"]
    assert status["change_type"] == "removed" and status["breaking"] is True
    direct = {(d["qualified_name"], d["kind"]) for d in status["downstream"] if d["depth"] == 1}
    assert direct == {("shop.main.v_join", "filter"), ("shop.main.v_union.name", "direct")}
    assert "shop.main.v_over" in {d["qualified_name"] for d in status["downstream"]}  # over the broken v_join
    text = dsa_cli("diff", "shop").stdout  # a second diff of the same scans says the same
    assert "column removed shop.main.orders.status -> shop.main.v_join, shop.main.v_union.name" in text


def _many_views(path, copies: int) -> None:
    """The eight views `copies` times over (v_join_0, v_star_0, ... each reading its own round's
    views): enough to be resolved in worker processes."""
    import re

    with sqlite3.connect(path) as conn:
        for statement in TABLES:
            conn.execute(statement.format(q='"'))
        for i in range(copies):
            for statement in VIEWS:
                conn.execute(re.sub(r"\b(v_\w+)", rf"\1_{i}", statement.format(q='"')))


def _ordered_edges(store, run_id: str) -> list[tuple]:
    frame = store.sql("SELECT level, upstream, downstream, kind, method FROM lineage_edges WHERE run_id = ?", [run_id])
    return frame.rows()


def test_many_views_resolve_alike_in_workers_and_in_one_process(store, tmp_path, dsa_cli, monkeypatch):
    """Past PARALLEL_VIEWS the views are resolved in other processes: the idle workers `dsa scan`
    forks at its start, else (a scan called in a process that has threads) a forkserver pool.
    Both give the edges one process gives, in the same order."""
    import dsa.lineage as lineage
    from dsa.store import Store

    copies = lineage.PARALLEL_VIEWS // len(VIEWS) + 1
    path = tmp_path / "many.db"
    _many_views(path, copies)
    config = parse_config({"sources": {"src": {"type": "sqlite", "path": str(path)}}})
    pooled = scan(store, config, "src")  # this pytest process has threads: the forkserver pool
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  src: {{type: sqlite, path: '{path}'}}\n")
    out = dsa_cli("scan", "src", env={"DSA_STORE": str(tmp_path / "cli")})  # `dsa scan`: its own forked workers
    assert out.returncode == 0, out.stderr
    forked = Store(tmp_path / "cli")
    forked_run = forked.sql("SELECT run_id FROM sync_runs WHERE run_type = 'scan'").item()
    monkeypatch.setattr(lineage, "PARALLEL_VIEWS", 10**9)
    alone = scan(Store(tmp_path / "alone"), config, "src")

    expected = _ordered_edges(Store(tmp_path / "alone"), alone.run_id)
    assert len({d for _, _, d, _, _ in expected if d.count(".") == 2}) == copies * len(VIEWS)
    assert _ordered_edges(store, pooled.run_id) == expected
    assert _ordered_edges(forked, forked_run) == expected
    counts = json.loads(forked.sql("SELECT counts FROM sync_runs WHERE run_id = ?", [forked_run]).item())
    assert counts["lineage_view_count"] == copies * len(VIEWS) and counts["lineage_error_count"] == 0


@pytest.mark.postgres
def test_many_postgres_views_parsed_while_the_source_is_read(tmp_path, dsa_cli, pg_database, monkeypatch):
    """`dsa scan` of Postgres hands its workers the views when their SQL arrives and the columns
    when they arrive (`dsa.lineage_early`): the same edges, in the same order, as one process."""
    import re

    import psycopg

    import dsa.lineage as lineage
    from dsa.store import Store

    copies = lineage.PARALLEL_VIEWS // len(VIEWS) + 1
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for statement in TABLES:
            conn.execute(statement.format(q='"'))
        for i in range(copies):
            for statement in VIEWS:
                conn.execute(re.sub(r"\b(v_\w+)", rf"\1_{i}", statement.format(q='"')))
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  src: {{type: postgres, dsn: '{pg_database}'}}\n")
    out = dsa_cli("scan", "src", env={"DSA_STORE": str(tmp_path / "cli")})
    assert out.returncode == 0, out.stderr
    forked = Store(tmp_path / "cli")
    forked_run = forked.sql("SELECT run_id FROM sync_runs WHERE run_type = 'scan'").item()
    monkeypatch.setattr(lineage, "PARALLEL_VIEWS", 10**9)
    config = parse_config({"sources": {"src": {"type": "postgres", "dsn": pg_database}}})
    alone = scan(Store(tmp_path / "alone"), config, "src")
    expected = _ordered_edges(Store(tmp_path / "alone"), alone.run_id)
    assert len({d for _, _, d, _, _ in expected if d.count(".") == 2}) == copies * len(VIEWS)
    assert _ordered_edges(forked, forked_run) == expected
