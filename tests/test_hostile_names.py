"""Identifiers are data, never SQL: hostile table and column names on the real engines.

Hypothesis generates names with quotes, semicolons, backticks, comment openers, Unicode and
`"; DROP TABLE` payloads; each example creates a table so named (plus a `sentinel` table with
3 rows) on the engine, scans and profiles it through the public API and checks that the
catalog holds exactly those names, in order, that qualified names split back into them, that
every column was profiled with exact counts, and that nothing else changed on the source (the
sentinel is intact, no other table appeared).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from itertools import count

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlglot import exp

from dsa.config import Config, parse_source
from dsa.names import split_name
from dsa.quality import quality
from dsa.scan import scan
from dsa.store import Store

PAYLOADS = [
    '"; DROP TABLE sentinel; --', "Robert'); DROP TABLE sentinel;--", "a'b", 'a"b', "a`b", "a;b", "-- x", "/* x",
    "x */", "a.b", "a b", " lead", "[x]", "%s", "?", "$1", ":name", "\\", "\\'", "ü", "名前", "Ελλάδα", "😀x",
    "select", "NULL", "`; DROP TABLE sentinel; #", "a\u00a0b", "e\u0301", "ß",
]
EXAMPLES = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def names(max_bytes: int, bmp_only: bool = False):
    """One identifier: a payload, random Unicode, or both glued together."""
    top = 0xFFFF if bmp_only else 0x10FFFF
    chars = st.characters(min_codepoint=1, max_codepoint=top, blacklist_categories=("Cs", "Cc", "Co", "Cn"))
    random = st.text(alphabet=chars, min_size=1, max_size=12)
    payload = st.sampled_from(PAYLOADS)
    if bmp_only:
        payload = payload.filter(lambda p: all(ord(c) <= 0xFFFF for c in p))
    name = st.one_of(payload, random, st.tuples(payload, random).map("".join))
    return name.filter(lambda n: len(n.encode()) <= max_bytes and n.strip() == n and n.strip())


def table_and_columns(max_bytes: int, bmp_only: bool = False):
    """A table name and 1-4 column names, distinct under any case or accent folding an engine may do."""
    name = names(max_bytes - 3, bmp_only)
    return st.tuples(name, st.lists(name, min_size=1, max_size=4)).map(
        lambda tc: (tc[0], [f"{c}_{i}" for i, c in enumerate(tc[1])])
    ).filter(lambda tc: _fold(tc[0]) not in ("sentinel",) and not _fold(tc[0]).startswith("sqlite_"))


def _fold(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


class HostileNames:
    """Engine-specific: `dialect`, `max_bytes`, `new_container()` -> spec, `execute(spec, sql)`,
    `tables(spec)`, `sentinel_rows(spec)`, `schema_name(spec)`."""

    dialect = "sqlite"
    max_bytes = 200
    bmp_only = False

    def ident(self, name: str) -> str:
        # the test's own DDL quotes names with sqlglot, as the product does
        return exp.to_identifier(name, quoted=True).sql(dialect=self.dialect)

    def qualify(self, spec, name: str) -> str:
        return self.ident(name)

    def check(self, tmp_path, table: str, columns: list[str]) -> None:
        spec = self.new_container()
        cols = ", ".join(f"{self.ident(c)} INTEGER" for c in columns)
        self.execute(spec, f"CREATE TABLE {self.qualify(spec, 'sentinel')} (x INTEGER)")
        self.execute(spec, f"INSERT INTO {self.qualify(spec, 'sentinel')} VALUES (1), (2), (3)")
        self.execute(spec, f"CREATE TABLE {self.qualify(spec, table)} ({cols})")
        self.execute(spec, f"INSERT INTO {self.qualify(spec, table)} VALUES ({', '.join('1' for _ in columns)})")

        store = Store(tmp_path / f"store{next(self.counter)}")
        config = Config(sources={"src": parse_source("src", spec)})
        result = scan(store, config, "src")
        assert result.status == "success", result.errors
        con = store.connect()
        schema = self.schema_name(spec)
        got = con.execute("SELECT table_name, qualified_name FROM normalized_tables WHERE schema_name = ? ORDER BY 1",
                          [schema]).fetchall()
        assert sorted(t for t, _ in got) == sorted([table, "sentinel"])
        assert {split_name(q)[-1] for _, q in got} == {table, "sentinel"}
        got_qn = dict(got)
        rows = con.execute("SELECT column_name, qualified_name FROM normalized_columns WHERE schema_name = ? "
                           "AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
        assert [c for c, _ in rows] == columns
        assert [split_name(q)[-2:] for _, q in rows] == [[table, c] for c in columns]

        # profiling builds SQL from these names (sqlglot): every column profiled, exact counts
        profiled = quality(store, config, "src")
        assert profiled.status == "success" and profiled.table_count == 2, profiled.failed
        con = store.connect()
        counts = dict(con.execute("SELECT table_qualified_name, row_count FROM table_quality_metrics").fetchall())
        assert sorted((split_name(q)[-1], n) for q, n in counts.items()) == sorted([(table, 1), ("sentinel", 3)])
        metrics = con.execute("SELECT column_name, total_count, null_count, min_value FROM column_quality_metrics "
                              "WHERE table_qualified_name = ?", [got_qn[table]]).fetchall()
        assert sorted(metrics) == sorted((c, 1, 0, "1") for c in columns)
        con.close()
        assert self.sentinel_rows(spec) == 3
        assert sorted(self.tables(spec)) == sorted([table, "sentinel"])


class TestSqlite(HostileNames):
    counter = count()

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path):
        self.folder = tmp_path

    def new_container(self):
        return {"type": "sqlite", "path": str(self.folder / f"db{next(self.counter)}.db")}

    def execute(self, spec, sql):
        with sqlite3.connect(spec["path"]) as con:
            con.execute(sql)

    def tables(self, spec):
        with sqlite3.connect(spec["path"]) as con:
            return [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]

    def sentinel_rows(self, spec):
        with sqlite3.connect(spec["path"]) as con:
            return con.execute("SELECT count(*) FROM sentinel").fetchone()[0]

    def schema_name(self, spec):
        return "main"

    @EXAMPLES
    @given(tc=table_and_columns(200))
    @example(tc=('"; DROP TABLE sentinel; --', ["a'b_0", "/* x_1", "-- x_2"]))
    @example(tc=("名前 [x]", ["`; DROP TABLE sentinel; #_0", 'a"b_1']))
    def test_names_round_trip(self, tmp_path, tc):
        self.check(tmp_path, *tc)


class TestPostgres(HostileNames):
    dialect = "postgres"
    max_bytes = 63  # longer names are truncated by the server
    counter = count()

    @pytest.fixture(autouse=True)
    def _database(self, pg_database):
        self.dsn = pg_database

    def _con(self):
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def new_container(self):
        schema = f"h_{next(self.counter)}"
        with self._con() as con:
            con.execute(f"CREATE SCHEMA {schema}")
        return {"type": "postgres", "dsn": self.dsn, "include": {"schemas": [schema]}}

    def qualify(self, spec, name):
        return f"{self.ident(self.schema_name(spec))}.{self.ident(name)}"

    def execute(self, spec, sql):
        with self._con() as con:
            con.execute(sql)

    def tables(self, spec):
        with self._con() as con:
            return [r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                                              [self.schema_name(spec)])]

    def sentinel_rows(self, spec):
        with self._con() as con:
            return con.execute(f"SELECT count(*) FROM {self.qualify(spec, 'sentinel')}").fetchone()[0]

    def schema_name(self, spec):
        return spec["include"]["schemas"][0]

    @EXAMPLES
    @given(tc=table_and_columns(63))
    @example(tc=('"; DROP TABLE sentinel; --', ["a'b_0", "/* x_1", "$1_2"]))
    @example(tc=("Ελλάδα %s", ["`; DROP TABLE sentinel; #_0", 'a"b_1', "A\\'b_2"]))
    def test_names_round_trip(self, tmp_path, tc):
        self.check(tmp_path, *tc)


class TestMariaDB(HostileNames):
    dialect = "mysql"
    max_bytes = 64  # characters, in fact; a UTF-8 byte bound is stricter
    bmp_only = True  # identifiers are utf8mb3: no characters beyond U+FFFF
    counter = count()

    @pytest.fixture(autouse=True)
    def _server(self, mysql_admin, mysql_database):
        self.admin, self.prefix, self.created = mysql_admin, mysql_database, []
        yield
        with mysql_admin.cursor() as cur:
            for db in self.created:
                cur.execute(f"DROP DATABASE IF EXISTS {self.ident(db)}")

    def new_container(self):
        db = f"{self.prefix}_h{next(self.counter)}"
        self.created.append(db)
        self.execute(None, f"CREATE DATABASE {self.ident(db)} CHARACTER SET utf8mb4")
        return {"type": "mysql", "host": "127.0.0.1", "port": 3306, "user": "root", "database": db}

    def qualify(self, spec, name):
        return f"{self.ident(spec['database'])}.{self.ident(name)}"

    def execute(self, spec, sql):
        with self.admin.cursor() as cur:
            cur.execute(sql)

    def tables(self, spec):
        with self.admin.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [spec["database"]])
            return [r[0] for r in cur.fetchall()]

    def sentinel_rows(self, spec):
        with self.admin.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {self.qualify(spec, 'sentinel')}")
            return cur.fetchone()[0]

    def schema_name(self, spec):
        return spec["database"]

    @EXAMPLES
    @given(tc=table_and_columns(64, bmp_only=True))
    @example(tc=("`; DROP TABLE sentinel; #", ["a'b_0", "/* x_1", "-- x_2", "a`b_3"]))
    @example(tc=('"; DROP TABLE sentinel; --', ["\\\\_0", "%s_1", "Ελλάδα_2"]))
    def test_names_round_trip(self, tmp_path, tc):
        self.check(tmp_path, *tc)


class TestDuckDB(HostileNames):
    dialect = "duckdb"
    counter = count()

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path):
        self.folder = tmp_path

    def new_container(self):
        return {"type": "duckdb", "path": str(self.folder / f"db{next(self.counter)}.duckdb")}

    def execute(self, spec, sql):
        import duckdb

        with duckdb.connect(spec["path"]) as con:
            con.execute(sql)

    def _query(self, spec, sql):
        import duckdb

        with duckdb.connect(spec["path"], read_only=True) as con:
            return con.execute(sql).fetchall()

    def tables(self, spec):
        return [r[0] for r in self._query(spec, "SELECT table_name FROM duckdb_tables()")]

    def sentinel_rows(self, spec):
        return self._query(spec, "SELECT count(*) FROM sentinel")[0][0]

    def schema_name(self, spec):
        return "main"

    @EXAMPLES
    @given(tc=table_and_columns(200))
    @example(tc=('"; DROP TABLE sentinel; --', ["a'b_0", "/* x_1", "$1_2"]))
    def test_names_round_trip(self, tmp_path, tc):
        self.check(tmp_path, *tc)
