"""The same generated table profiled on the real Postgres and MariaDB servers: values computed in Python."""

from __future__ import annotations

from datetime import date

import pytest

from quality_data import (COLUMNS, DISTRIBUTION_COLUMNS, DISTRIBUTIONS, TABLE, EngineSource, assert_matches, check_distribution,
                          expected, profile, rows)
from dsa.config import parse_source
from dsa.connectors import open_source
from dsa.quality import Sample


def _load_pg(dsn, data, table=TABLE, columns=COLUMNS):
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t["postgres"])) for n, t, _ in columns)
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), cols))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {} VALUES ({})").format(
                sql.Identifier(table), sql.SQL(", ").join(sql.Placeholder() * len(columns))), data)
        conn.execute("ANALYZE")
    return open_source("t", parse_source("t", {"type": "postgres", "dsn": dsn})), "public"


def _load_mysql(database, data, table=TABLE, columns=COLUMNS):
    import pymysql

    from conftest import MYSQL

    def q(name):
        return "`" + name.replace("`", "``") + "`"

    conn = pymysql.connect(**MYSQL, database=database, autocommit=True, charset="utf8mb4")
    with conn.cursor() as cur:
        defs = ", ".join(q(n) + " " + t["mysql"] for n, t, _ in columns)
        cur.execute(f"CREATE TABLE {q(table)} ({defs}) CHARACTER SET utf8mb4")
        if data:
            cur.executemany(f"INSERT INTO {q(table)} VALUES ({', '.join(['%s'] * len(columns))})", data)
    conn.close()

    def connect():
        return pymysql.connect(**MYSQL, database=database, autocommit=True, charset="utf8mb4")

    return EngineSource("mysql", connect), database


@pytest.fixture(params=["postgres", "mysql"])
def server(request):
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_database")
        return lambda data, **kw: _load_pg(dsn, data, **kw)
    database = request.getfixturevalue("mysql_database")
    return lambda data, **kw: _load_mysql(database, data, **kw)


def test_profile_matches_python(server):
    data = rows(300)
    source, schema = server(data)
    result = profile(source, schema, top_k=5)
    assert result.table["row_count"] == 300
    assert_matches(result, expected(data, top_k=5))


def test_empty_table(server):
    source, schema = server([])
    result = profile(source, schema)
    assert result.table["row_count"] == 0 and result.top == []


def test_ties_in_code_point_order(server):
    words = ["b", "a", "é", "B", "ab", "Ω", "a "]
    source, schema = server([(i, w, None, None, None, None, None) for i, w in enumerate(words, 1)])
    result = profile(source, schema, top_k=5)
    top = [t["value"] for t in sorted(result.top, key=lambda t: t["rank"]) if t["column_name"] == "word"]
    assert top == sorted(words)[:5]
    word = next(c for c in result.columns if c["column_name"] == "word")
    assert word["distinct_count"] == 7 and (word["min_value"], word["max_value"]) == ("B", "Ω")


def test_sample_keeps_exact_row_count(server):
    data = rows(3000, seed=5)
    source, schema = server(data)
    first = profile(source, schema, sample=Sample(percent=30))
    again = profile(source, schema, sample=Sample(percent=30))
    assert first.table["row_count"] == 3000 and first.table["approximate"]
    assert 0 < first.table["sample_rows"] < 3000
    assert again.table["sample_rows"] == first.table["sample_rows"]  # a repeatable sample


def test_nan_and_infinity_postgres(pg_database):
    data = [(1.0,), (float("nan"),), (float("inf"),), (float("-inf"),), (None,), (2.0,), (float("nan"),), (3.0,)]
    cols = [("x", {"postgres": "double precision"}, "float")]
    source, schema = _load_pg(pg_database, data, table="f", columns=cols)
    c = profile(source, schema, "f", columns=cols, pk=None).columns[0]
    assert (c["nan_count"], c["infinite_count"], c["null_count"], c["distinct_count"]) == (2, 2, 1, 6)
    assert (c["mean"], c["median"], c["min_value"], c["max_value"]) == (2.0, 2.0, "-Infinity", "Infinity")


def test_exotic_postgres_types(pg_database):
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE x (id int, j json, jb jsonb, a int[], b bytea, x xml, p point, r int4range)")
        conn.execute("""INSERT INTO x VALUES
            (1, '{"a":1}', '{"a":1}', '{1,2}', '\\xabcd', '<a/>', '(1,2)', '[1,3)'),
            (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (3, '[1]', '[1]', '{}', '\\x00', '<b>t</b>', '(0,0)', 'empty')""")
    source = open_source("t", parse_source("t", {"type": "postgres", "dsn": pg_database}))
    cols = [("id", {}, "integer"), ("j", {}, "json"), ("jb", {}, "json"), ("a", {}, "array"), ("b", {}, "binary"),
            ("x", {}, "xml"), ("p", {}, "geometry"), ("r", {}, "other")]
    result = profile(source, "public", "x", columns=cols)
    by = {c["column_name"]: c for c in result.columns}
    assert result.table["row_count"] == 3
    for name in ("j", "jb", "a", "b", "x", "p", "r"):
        assert by[name]["null_count"] == 1, name
        assert "top_values" in by[name]["skipped_metrics"], name
    assert (by["b"]["min_length"], by["b"]["max_length"]) == (1, 2)
    assert (by["x"]["min_length"], by["x"]["max_length"]) == (4, 8)


def test_cli_scan_then_quality_on_postgres(pg_database, dsa_cli, tmp_path):
    """End to end through the Postgres connector: orphans of a NOT VALID foreign key, found by the anti-join."""
    import json

    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.customers (id int PRIMARY KEY, email text)")
        conn.execute("CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int, note text)")
        conn.execute("INSERT INTO shop.customers SELECT g, 'c' || g || '@x.org' FROM generate_series(1, 10) g")
        conn.execute("INSERT INTO shop.orders SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE g % 13 + 1 END, "
                     "repeat('n', g % 3) FROM generate_series(1, 40) g")
        conn.execute("ALTER TABLE shop.orders ADD FOREIGN KEY (customer_id) REFERENCES shop.customers NOT VALID")
    ids = [None if g % 5 == 0 else g % 13 + 1 for g in range(1, 41)]
    orphans = sum(1 for v in ids if v is not None and v > 10)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  pg: {{type: postgres, dsn: '{pg_database}', include: {{schemas: [shop]}}}}\n")
    assert dsa_cli("scan", "pg").returncode == 0
    out = dsa_cli("quality", "pg", "--top-k", "2")
    assert out.returncode == 0, out.stderr
    got = json.loads(dsa_cli("query", "SELECT column_name, null_count, distinct_count, orphan_count, referential_score "
                                      "FROM latest_column_quality_metrics WHERE table_name = 'orders' "
                                      "AND column_name = 'customer_id'", "--format", "json").stdout)
    present = [v for v in ids if v is not None]
    assert got == [{"column_name": "customer_id", "null_count": ids.count(None), "distinct_count": len(set(present)),
                    "orphan_count": orphans, "referential_score": 100 * (len(present) - orphans) / len(present)}]


def test_postgres_sample_matches_python_on_the_same_rows(pg_database):
    """Each column's statement draws the seeded sample again: every one must see the same rows."""
    import psycopg
    from psycopg import sql

    data = rows(3000, seed=11)
    source, schema = _load_pg(pg_database, data)
    result = profile(source, schema, sample=Sample(percent=30))
    assert result.table["sample_method"] == "bernoulli"
    with psycopg.connect(pg_database) as conn:
        drawn = conn.execute(sql.SQL("SELECT * FROM {} TABLESAMPLE BERNOULLI (30) REPEATABLE (42)").format(
            sql.Identifier(TABLE))).fetchall()
    assert result.table["sample_rows"] == len(drawn)
    assert_matches(result, expected(drawn, top_k=5))


def test_postgres_columns_read_one_snapshot(pg_database):
    """The column statements run on two sessions; rows committed meanwhile are seen by none of them."""
    import threading

    import psycopg
    from psycopg import sql

    data = rows(20000, seed=3)
    source, schema = _load_pg(pg_database, data)
    stop = threading.Event()

    def insert() -> None:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute(sql.SQL("INSERT INTO {} (id, word) VALUES (0, 'new')").format(sql.Identifier(TABLE)))

    writer = threading.Thread(target=insert)
    writer.start()
    try:
        result = profile(source, schema, top_k=5)
    finally:
        stop.set()
        writer.join()
    totals = {c["column_name"]: c["total_count"] for c in result.columns}
    nulls = {c["column_name"]: c["null_count"] for c in result.columns}
    rows_seen = result.table["row_count"]
    assert rows_seen >= 20000 and set(totals.values()) == {rows_seen}
    # the columns the writer leaves NULL count every inserted row as a null: the same rows everywhere
    assert nulls["amount"] - nulls["word"] == rows_seen - 20000 + sum(1 for r in data if r[2] is None) \
        - sum(1 for r in data if r[1] is None)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_quartiles_and_histogram(server, name):
    values = DISTRIBUTIONS[name]
    source, schema = server([(v,) for v in values], columns=DISTRIBUTION_COLUMNS)
    check_distribution(profile(source, schema, columns=DISTRIBUTION_COLUMNS, pk=None), values)
