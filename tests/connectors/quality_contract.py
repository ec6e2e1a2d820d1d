"""The quality and diff contracts: written once, inherited by every engine's tests.

An engine's test module subclasses `QualityContract` (and `DiffContract`) and provides a `db`
fixture: an `EngineDb` over a fresh database of its real engine, which knows how to create a
table there, run its DDL, and what source settings (`spec`) read it. Every test then profiles
through the engine's own connector (`dsa.connectors.<type>`), so the engine's declared facts
and methods are what is tested, against values computed in Python (`quality_data`).

What an engine cannot hold is declared on the subclass: `specials` (which IEEE float values it
stores), `exotic` (its unusual column types: grouped unless the engine refuses), `slow_view` (whether it can name a
view that takes long to count), `orphans` (whether foreign keys may point nowhere).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from datetime import date

import pytest
from sqlglot import exp

from dsa.config import Config, QualityOptions, parse_source
from dsa.connectors import open_source
from dsa.diff import diff
from dsa.quality import Sample, TableTimeout, quality
from dsa.scan import scan
from dsa.store import Store
from quality_data import (COLUMNS, DISTRIBUTION_COLUMNS, DISTRIBUTIONS, TABLE, assert_matches, check_distribution,
                          expected, profile, rows, task)


class EngineDb(ABC):
    """A writable database of one engine. Subclasses set `engine` (the key of the SQL types in
    `quality_data.COLUMNS`), `dialect`, `spec`, `schema`, and `connect()`."""

    engine: str
    dialect: str
    mark = "?"  # the driver's parameter marker
    spec: dict
    schema: str
    table = TABLE  # the contract's main table; an engine that refuses such a name sets its own

    @abstractmethod
    def connect(self):
        """A DB-API connection that may write."""

    def sql_type(self, types: dict[str, str], family: str) -> str:
        """The engine's type for a test column (`types`: engine -> type, as in `quality_data.COLUMNS`);
        an engine not listed there overrides this: the type given for it, else one for the family."""
        return types[self.engine]

    def quote(self, name: str) -> str:
        return exp.to_identifier(name, quoted=True).sql(self.dialect)

    def value(self, v):
        return v

    def execute(self, *statements: str) -> None:
        conn = self.connect()
        try:
            cur = conn.cursor()
            for sql in statements:
                cur.execute(sql)
            conn.commit()
        finally:
            conn.close()

    def text_facts(self, table: str, column: str, top_k: int) -> dict:
        """A text column's distinct count, min, max and top values, by the engine's own SQL (its
        collation decides which values are equal and how they order)."""
        t, c = self.quote(table), self.quote(column)
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT count(DISTINCT {c}) FROM {t}")
            distinct = cur.fetchone()[0]
            ends = []
            for agg in ("min", "max"):  # every value the engine holds equal to its min (max)
                cur.execute(f"SELECT {c} FROM {t} WHERE {c} = (SELECT {agg}({c}) FROM {t})")
                ends.append({r[0][:201] for r in cur.fetchall()})  # shown: up to 201 characters
            cur.execute(f"SELECT {c}, count(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} "
                        f"ORDER BY count(*) DESC, {c} LIMIT {top_k}")
            top = [(k + 1, v[:200], n) for k, (v, n) in enumerate(cur.fetchall())]
        finally:
            conn.close()
        return {"distinct_count": distinct, "min_values": ends[0], "max_values": ends[1], "top": top}

    def engine_distinct(self, table: str, column: str) -> int | None:
        """The engine's count(DISTINCT column), or None when the engine refuses it."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT count(DISTINCT {self.quote(column)}) FROM {self.quote(table)}")
            return cur.fetchone()[0]
        except Exception:  # noqa: BLE001 - the engine's refusal is the answer
            return None
        finally:
            conn.close()

    def same_text(self, a: str, b: str) -> bool:
        """Does the engine hold the two texts equal (its connection's collation)?"""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT CASE WHEN {self.mark} = {self.mark} THEN 1 ELSE 0 END", (a, b))
            return cur.fetchone()[0] == 1
        finally:
            conn.close()

    def create(self, table: str, columns=COLUMNS, data=()) -> None:
        """CREATE TABLE with the engine's types for `columns`, then insert `data`."""
        defs = ", ".join(f"{self.quote(n)} {self.sql_type(types, family)}" for n, types, family in columns)
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(f"CREATE TABLE {self.quote(table)} ({defs})")
            if data:
                marks = ", ".join([self.mark] * len(columns))
                cur.executemany(f"INSERT INTO {self.quote(table)} VALUES ({marks})",
                                [tuple(self.value(v) for v in r) for r in data])
            conn.commit()
        finally:
            conn.close()


def assert_text_like_engine(db: EngineDb, result, column: str, top_k: int) -> None:
    """A text column's distinct count, min, max and top values are the engine's own: its SQL
    (count(DISTINCT), min, max, GROUP BY ... ORDER BY count DESC, value) under its collation; a
    value the collation merges with others may be shown by any of them."""
    facts = db.text_facts(db.table, column, top_k)
    got = next(c for c in result.columns if c["column_name"] == column)
    assert got["distinct_count"] == facts["distinct_count"]
    assert got["min_value"] in facts["min_values"], (got["min_value"], facts["min_values"])
    assert got["max_value"] in facts["max_values"], (got["max_value"], facts["max_values"])
    top = sorted((t["rank"], t["value"], t["count"]) for t in result.top if t["column_name"] == column)
    assert [(r, n) for r, _, n in top] == [(r, n) for r, _, n in facts["top"]]
    assert all(g == w or db.same_text(g, w) for (_, g, _), (_, w, _) in zip(top, facts["top"]))


class QualityContract:
    """Inherit and provide the `db` fixture; every test below then runs on your engine."""

    specials = ("nan", "inf")  # the IEEE values a float column stores: nan, inf (and -inf)
    exotic: list[tuple[str, str, str]] = []  # (column, SQL type, family) of unusual types
    exotic_rows: list[tuple] = []  # three rows for them: the second all NULL
    exotic_lengths: dict[str, tuple[int, int]] = {}  # column -> (min, max) length of the non-null values
    slow_view = True  # the engine can define a view that takes minutes to count
    orphans = True  # a foreign key may point nowhere (not enforced, or NOT VALID)

    def in_engine_words(self, db, want: dict) -> dict:
        """Python's expected profile with the boolean column in the engine's words (MySQL: 0/1)."""
        words = dict(zip(("false", "true"), self.source(db).BOOLEAN_TEXT))
        flag = want["flag"]
        flag.update(min_value=words.get(flag["min_value"]), max_value=words.get(flag["max_value"]),
                    top=[(k, words[v], n) for k, v, n in flag["top"]])
        return want

    def source(self, db):
        """A fresh connector over the database (the files connector finds its datasets once)."""
        return open_source("t", parse_source("t", db.spec))

    def test_profile_matches_python(self, db):
        data = rows(300)
        db.create(db.table, COLUMNS, data)
        result = profile(self.source(db), db.schema, db.table, top_k=5)
        assert result.table["row_count"] == 300
        assert result.table["sample_method"] == "full" and result.table["approximate"] is False
        want = self.in_engine_words(db, expected(data, top_k=5))
        assert_text_like_engine(db, result, "word", 5)
        for key in ("distinct_count", "min_value", "max_value", "top"):
            del want["word"][key]
        assert_matches(result, want)
        by = {c["column_name"]: c for c in result.columns}
        assert by['odd col."q"']["null_count"] == 300 and by['odd col."q"']["null_percentage"] == 100.0
        assert by['odd col."q"']["quality_score"] == 0.0
        # the 250-character value is counted whole but shown truncated to 200 characters
        long = [t for t in result.top if t["column_name"] == "word" and t["value_truncated"]]
        assert all(len(t["value"]) == 200 for t in long)

    def test_empty_table(self, db):
        db.create(db.table, COLUMNS)
        result = profile(self.source(db), db.schema, db.table)
        assert result.table["row_count"] == 0 and result.table["quality_score"] is None
        assert all(c["total_count"] == 0 and c["null_count"] == 0 and c["distinct_count"] == 0 for c in result.columns)
        assert result.top == []

    def test_one_row_table(self, db):
        data = [(1, "only", 2.5, date(2021, 5, 6), True, None, 9)]
        db.create(db.table, COLUMNS, data)
        result = profile(self.source(db), db.schema, db.table)
        assert_matches(result, self.in_engine_words(db, expected(data)))
        by = {c["column_name"]: c for c in result.columns}
        assert by["amount"].get("stddev") is None and by["amount"]["median"] == 2.5

    def test_ties_in_the_engines_order(self, db):
        words = ["b", "a", "é", "B", "ab", "Ω", "a "]  # each once: every count ties (unless the collation merges)
        db.create(db.table, COLUMNS, [(i, w, None, None, None, None, None) for i, w in enumerate(words, 1)])
        result = profile(self.source(db), db.schema, db.table, top_k=5)
        assert_text_like_engine(db, result, "word", 5)

    def test_sample_keeps_exact_row_count(self, db):
        db.create(db.table, COLUMNS, rows(2000, seed=11))
        first = profile(self.source(db), db.schema, db.table, sample=Sample(percent=50))
        t = first.table
        assert t["row_count"] == 2000
        assert t["approximate"] is True and t["sample_method"] != "full" and t["sample_percent"] == 50
        assert 0 < t["sample_rows"] < 2000
        assert all(c["approximate"] for c in first.columns)
        again = profile(self.source(db), db.schema, db.table, sample=Sample(percent=50))
        assert again.table["sample_rows"] == t["sample_rows"]  # a repeatable sample

    def test_sample_rows_larger_than_table_is_full(self, db):
        db.create(db.table, COLUMNS, rows(50))
        result = profile(self.source(db), db.schema, db.table, sample=Sample(rows=1000))
        assert result.table["sample_method"] == "full" and result.table["row_count"] == 50

    def test_nan_and_infinity(self, db):
        values = [1.0, None, 2.0, 3.0]
        if "nan" in self.specials:
            values += [float("nan"), float("nan")]
        if "inf" in self.specials:
            values += [float("inf"), float("-inf")]
        cols = [("x", {db.engine: db.sql_type(COLUMNS[2][1], "float")}, "float")]
        db.create("f", cols, [(v,) for v in values])
        c = profile(self.source(db), db.schema, "f", columns=cols, pk=None).columns[0]
        nans = sum(1 for v in values if v is not None and math.isnan(v))
        infs = sum(1 for v in values if v is not None and math.isinf(v))
        assert (c["nan_count"] or 0, c["infinite_count"] or 0, c["null_count"]) == (nans, infs, 1)
        assert c["distinct_count"] == 3 + (nans > 0) + infs
        assert (c["mean"], c["median"]) == (2.0, 2.0)
        assert (c["min_value"], c["max_value"]) == (("-Infinity", "Infinity") if infs else ("1.0", "3.0"))
        assert c["invalid_count"] == nans + infs
        assert c["validity_score"] == pytest.approx(100 * 3 / (3 + nans + infs))
        if nans:
            assert {t["value"]: t["count"] for t in profile(self.source(db), db.schema, "f", columns=cols,
                                                               pk=None).top}["NaN"] == nans

    def test_exotic_types_are_grouped_unless_the_engine_refuses(self, db):
        if not self.exotic:
            pytest.skip(f"{db.spec['type']}: no exotic column types declared")
        cols = [("id", {db.engine: db.sql_type(COLUMNS[0][1], "integer")}, "integer")] + [(n, {db.engine: t}, f) for n, t, f in self.exotic]
        self.make_exotic(db, cols)
        result = profile(self.source(db), db.schema, "x", columns=cols)
        by = {c["column_name"]: c for c in result.columns}
        assert result.table["row_count"] == 3 and by["id"]["distinct_count"] == 3
        for name, _, _ in self.exotic:
            assert by[name]["null_count"] == 1, name
            distinct = db.engine_distinct("x", name)  # the engine's count(DISTINCT), or None if it refuses
            if distinct is None:
                assert "top_values" in by[name]["skipped_metrics"] and by[name].get("distinct_count") is None, name
            else:
                assert by[name]["distinct_count"] == distinct, name
                assert "distinct" not in (by[name]["skipped_metrics"] or ""), name
        for name, (lo, hi) in self.exotic_lengths.items():
            assert (by[name]["min_length"], by[name]["max_length"]) == (lo, hi), name

    def make_exotic(self, db, cols) -> None:
        """Table `x`: `id` 1-3 and the `exotic` columns, the second row all NULL."""
        db.create("x", cols, self.exotic_rows)

    def test_timeout_interrupts_the_table(self, db):
        if not self.slow_view:
            pytest.skip(f"{db.spec['type']}: no view can be made slow (the same engine's canceller is tested elsewhere)")
        ten = [("x", {db.engine: db.sql_type(COLUMNS[0][1], "integer")}, "integer")]
        db.create("ten", ten, [(i,) for i in range(10)])
        joined = " CROSS JOIN ".join(f"{db.quote('ten')} t{i}" for i in range(9))
        db.execute(f"CREATE VIEW {db.quote('slow')} AS SELECT t0.x FROM {joined}")  # a billion rows
        with pytest.raises(TableTimeout):
            profile(self.source(db), db.schema, "slow", columns=ten, pk=None, timeout_s=0.5)

    def test_masked_columns_never_return_values(self, db):
        cols = [COLUMNS[0], ("email", COLUMNS[1][1], "string")]
        db.create(db.table, cols, [(i, f"user{i % 3}@example.com") for i in range(10)])
        from datetime import datetime, timezone

        from dsa.quality import profile_table

        result = profile_table(self.source(db), task(db.schema, db.table, columns=cols), QualityOptions(), Sample(), 5, "run",
                               datetime.now(timezone.utc))
        email = next(c for c in result.columns if c["column_name"] == "email")
        assert email["masked"] and email["min_value"] is None and email["max_value"] is None
        assert email["distinct_count"] == 3
        tops = [t for t in result.top if t["column_name"] == "email"]
        assert [t["count"] for t in tops] == [4, 3, 3] and all(t["value"] is None and t["masked"] for t in tops)

    @pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
    def test_quartiles_and_histogram(self, db, name):
        values = DISTRIBUTIONS[name]
        db.create(db.table, DISTRIBUTION_COLUMNS, [(v,) for v in values])
        check_distribution(profile(self.source(db), db.schema, db.table, columns=DISTRIBUTION_COLUMNS, pk=None), values)

    def test_orphaned_foreign_keys(self, db, tmp_path):
        """The scan's foreign keys, checked by an anti-join: values with no referenced row."""
        if not self.orphans:
            pytest.skip(f"{db.spec['type']}: foreign keys cannot point nowhere")
        ids = [None if g % 5 == 0 else g % 13 + 1 for g in range(1, 41)]
        self.make_orphans(db, list(range(1, 11)), ids)
        store = Store(tmp_path / "store")
        config = Config(sources={"t": parse_source("t", db.spec)}, quality={"top_k": 2})
        assert scan(store, config, "t").status == "success"
        assert quality(store, config, "t").status == "success"
        got = store.sql("SELECT null_count, distinct_count, orphan_count, referential_score FROM "
                        "latest_column_quality_metrics WHERE table_name = 'orders' AND column_name = 'customer_id'")
        present = [v for v in ids if v is not None]
        orphans = sum(1 for v in present if v > 10)
        assert got.rows(named=True) == [{"null_count": ids.count(None), "distinct_count": len(set(present)),
                                         "orphan_count": orphans, "referential_score": 100 * (len(present) - orphans) / len(present)}]

    def make_orphans(self, db, customers: list[int], orders: list[int | None]) -> None:
        """customers(id PK), orders(id PK, customer_id FK -> customers) holding `orders` as customer ids."""
        integer = db.sql_type(COLUMNS[0][1], "integer")
        db.execute(f"CREATE TABLE customers (id {integer} PRIMARY KEY)",
                   f"CREATE TABLE orders (id {integer} PRIMARY KEY, customer_id {integer} REFERENCES customers (id))",
                   *[f"INSERT INTO customers VALUES ({c})" for c in customers],
                   *[f"INSERT INTO orders VALUES ({i}, {'NULL' if c is None else c})" for i, c in enumerate(orders, 1)])

    def test_command_end_to_end(self, db, tmp_path, dsa_cli):
        """`dsa scan` then `dsa quality` as a user runs them: the catalog holds the Python-computed profile."""
        data = rows(150, seed=9)
        db.create(db.table, COLUMNS, data)
        (tmp_path / "dsa.yaml").write_text(f"sources:\n  src: {json.dumps(db.spec)}\nquality: {{top_k: 3, mask: {{auto: false}}}}\n")
        assert dsa_cli("scan", "src").returncode == 0
        out = dsa_cli("quality", "src")
        assert out.returncode == 0, out.stderr
        got = json.loads(dsa_cli("query", "SELECT column_name, total_count, null_count, distinct_count, min_value, max_value "
                                          "FROM latest_column_quality_metrics", "--format", "json").stdout)
        want = self.in_engine_words(db, expected(data, top_k=3))
        by = {r["column_name"]: r for r in got}
        facts = db.text_facts(db.table, "word", 3)
        assert by["word"]["distinct_count"] == facts["distinct_count"] and by["word"]["min_value"] in facts["min_values"]
        for name in ("id", "amount", "day", "big"):
            e = want[name]
            assert (by[name]["total_count"], by[name]["null_count"], by[name]["distinct_count"]) == \
                (e["total_count"], e["null_count"], e["distinct_count"]), name
            assert (by[name]["min_value"], by[name]["max_value"]) == (e["min_value"], e["max_value"]), name
        top = json.loads(dsa_cli("query", "SELECT rank, value, count FROM latest_column_top_values WHERE column_name = 'word' "
                                          "ORDER BY rank", "--format", "json").stdout)
        assert [(t["rank"], t["count"]) for t in top] == [(r, n) for r, _, n in facts["top"]]


class DiffContract:
    """Scan, change the source's structure, scan again: `dsa diff` finds exactly those columns.

    `change(db)` runs the engine's DDL: on table `t(id, a, b)` it drops `b` and adds `c`."""

    def change(self, db) -> None:
        integer = db.sql_type(COLUMNS[0][1], "integer")
        db.execute(f"ALTER TABLE t ADD COLUMN c {integer}", "ALTER TABLE t DROP COLUMN b")

    def test_diff_finds_exactly_the_changed_columns(self, db, tmp_path):
        integer, text = db.sql_type(COLUMNS[0][1], "integer"), db.sql_type(COLUMNS[1][1], "string")
        db.create("t", [("id", {db.engine: integer}, "integer"), ("a", {db.engine: text}, "string"),
                        ("b", {db.engine: text}, "string")], [(1, "x", "y")])
        store = Store(tmp_path / "store")
        config = Config(sources={"s": parse_source("s", db.spec)})
        first = scan(store, config, "s")
        unchanged = scan(store, config, "s")
        assert diff(store, config, "s", from_run=first.run_id, to_run=unchanged.run_id).change_count == 0
        self.change(db)
        second = scan(store, config, "s")
        assert first.status == second.status == "success"
        result = diff(store, config, "s", from_run=unchanged.run_id, to_run=second.run_id)
        columns = {r["qualified_name"].rsplit(".", 1)[-1]: r["change_type"] for r in result.changes["column"].iter_rows(named=True)}
        assert columns == {"b": "removed", "c": "added"}
        assert result.exit_code == 4
