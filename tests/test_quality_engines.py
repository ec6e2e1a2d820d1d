"""Profiles on real engines (SQLite, DuckDB, Parquet through DuckDB) against values computed in Python."""

from __future__ import annotations

import math
import sqlite3
from datetime import date

import duckdb
import polars as pl
import pytest
from sqlglot import exp

from quality_data import (COLUMNS, DISTRIBUTION_COLUMNS, DISTRIBUTIONS, NAMES, TABLE, EngineSource, assert_matches,
                          check_distribution, expected, profile, rows)
from dsa.quality import Sample, TableTimeout


def _frame(data, columns=COLUMNS) -> pl.DataFrame:
    types = {"integer": pl.Int64, "string": pl.Utf8, "float": pl.Float64, "date": pl.Date, "boolean": pl.Boolean}
    return pl.DataFrame([list(r) for r in data], schema={n: types[f] for n, _, f in columns}, orient="row")


def load_sqlite(path, data, table=TABLE, columns=COLUMNS):
    con = sqlite3.connect(path)
    cols = ", ".join(f'"{n.replace(chr(34), chr(34) * 2)}" {t["sqlite"]}' for n, t, _ in columns)
    con.execute(f'CREATE TABLE "{table.replace(chr(34), chr(34) * 2)}" ({cols})')
    marks = ", ".join("?" * len(columns))
    con.executemany(f'INSERT INTO "{table.replace(chr(34), chr(34) * 2)}" VALUES ({marks})',
                    [tuple(v.isoformat() if isinstance(v, date) else v for v in r) for r in data])
    con.commit()
    con.close()
    return EngineSource("sqlite", lambda: sqlite3.connect(path, check_same_thread=False)), "main"


def load_duckdb(path, data, table=TABLE, columns=COLUMNS):
    con = duckdb.connect(str(path))
    frame = _frame(data, columns)
    con.register("f", frame.to_arrow())
    cols = ", ".join(f'"{n.replace(chr(34), chr(34) * 2)}" {t["duckdb"]}' for n, t, _ in columns)
    con.execute(f'CREATE TABLE "{table.replace(chr(34), chr(34) * 2)}" ({cols})')
    con.execute(f'INSERT INTO "{table.replace(chr(34), chr(34) * 2)}" SELECT * FROM f')
    con.close()
    return EngineSource("duckdb", lambda: duckdb.connect(str(path), read_only=True)), "main"


def load_parquet(path, data, table=TABLE, columns=COLUMNS):
    file = path.with_suffix(".parquet")
    _frame(data, columns).write_parquet(file)

    def relation(schema, name):
        return exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(file))]))

    return EngineSource("duckdb", lambda: duckdb.connect(), relation), "files"


LOADERS = {"sqlite": load_sqlite, "duckdb": load_duckdb, "parquet": load_parquet}


@pytest.fixture(params=sorted(LOADERS))
def engine(request, tmp_path):
    def load(data, **kw):
        return LOADERS[request.param](tmp_path / f"db_{request.param}", data, **kw)

    load.name = request.param
    return load


def test_profile_matches_python(engine):
    data = rows(300)
    source, schema = engine(data)
    result = profile(source, schema, top_k=5)
    assert result.table["row_count"] == 300
    assert result.table["sample_method"] == "full" and result.table["approximate"] is False
    assert_matches(result, expected(data, top_k=5))
    by = {c["column_name"]: c for c in result.columns}
    assert by['odd col."q"']["null_count"] == 300 and by['odd col."q"']["null_percentage"] == 100.0
    assert by['odd col."q"']["quality_score"] == 0.0
    # the 250-character value is counted whole but shown truncated to 200 characters
    long = [t for t in result.top if t["column_name"] == "word" and t["value_truncated"]]
    assert all(len(t["value"]) == 200 for t in long)


def test_same_table_same_profile_everywhere(tmp_path):
    data = rows(120, seed=3)
    profiles = {}
    for name, load in LOADERS.items():
        source, schema = load(tmp_path / f"same_{name}", data)
        result = profile(source, schema, top_k=3)
        keep = ("null_count", "distinct_count", "min_value", "max_value", "zero_count", "empty_count", "future_count",
                "true_count", "q1", "median", "q3", "quality_score")
        profiles[name] = ({c["column_name"]: {k: c.get(k) for k in keep} for c in result.columns},
                          sorted((t["column_name"], t["rank"], t["value"], t["count"]) for t in result.top))
    first = next(iter(profiles.values()))
    for name, got in profiles.items():
        assert got == first, name


def test_empty_and_one_row_tables(engine):
    source, schema = engine([])
    result = profile(source, schema)
    assert result.table["row_count"] == 0 and result.table["quality_score"] is None
    assert all(c["total_count"] == 0 and c["null_count"] == 0 and c["distinct_count"] == 0 for c in result.columns)
    assert result.top == []


def test_one_row_table(engine):
    data = [(1, "only", 2.5, date(2021, 5, 6), True, None, 9)]
    source, schema = engine(data)
    result = profile(source, schema)
    assert_matches(result, expected(data))
    by = {c["column_name"]: c for c in result.columns}
    assert by["amount"].get("stddev") is None and by["amount"]["median"] == 2.5


def test_top_values_ties_are_ordered_by_value(engine):
    words = ["b", "a", "é", "B", "ab", "Ω"]  # each once: every count ties
    data = [(i, w, None, None, None, None, None) for i, w in enumerate(words, 1)]
    source, schema = engine(data)
    result = profile(source, schema, top_k=4)
    top = [t["value"] for t in sorted(result.top, key=lambda t: t["rank"]) if t["column_name"] == "word"]
    assert top == sorted(words)[:4] == ["B", "a", "ab", "b"]  # code point order


def test_sample_percent_keeps_exact_row_count(engine):
    data = rows(2000, seed=11)
    source, schema = engine(data)
    result = profile(source, schema, sample=Sample(percent=50))
    t = result.table
    assert t["row_count"] == 2000
    assert t["approximate"] is True and t["sample_method"] != "full" and t["sample_percent"] == 50
    assert 0 < t["sample_rows"] < 2000
    assert all(c["approximate"] for c in result.columns)
    again = profile(source, schema, sample=Sample(percent=50))
    if engine.name != "parquet" or True:
        assert again.table["sample_rows"] == t["sample_rows"]  # repeatable seed


def test_sample_rows_larger_than_table_is_full(engine):
    data = rows(50)
    source, schema = engine(data)
    result = profile(source, schema, sample=Sample(rows=1000))
    assert result.table["sample_method"] == "full" and result.table["row_count"] == 50


def test_nan_and_infinity_duckdb(tmp_path):
    con = duckdb.connect(str(tmp_path / "f.duckdb"))
    con.execute("CREATE TABLE f (x DOUBLE)")
    values = [1.0, float("nan"), float("inf"), float("-inf"), None, 2.0, float("nan"), 3.0]
    con.executemany("INSERT INTO f VALUES (?)", [(v,) for v in values])
    con.close()
    source = EngineSource("duckdb", lambda: duckdb.connect(str(tmp_path / "f.duckdb"), read_only=True))
    cols = [("x", {"duckdb": "DOUBLE"}, "float")]
    result = profile(source, "main", "f", columns=cols, pk=None)
    c = result.columns[0]
    assert (c["nan_count"], c["infinite_count"], c["null_count"], c["distinct_count"]) == (2, 2, 1, 6)
    assert c["mean"] == 2.0 and c["median"] == 2.0 and c["min_value"] == "-Infinity" and c["max_value"] == "Infinity"
    assert c["invalid_count"] == 4 and c["validity_score"] == pytest.approx(100 * 3 / 7)
    top = {t["value"]: t["count"] for t in result.top}
    assert top["NaN"] == 2


def test_infinity_sqlite(tmp_path):
    path = tmp_path / "f.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE f (x REAL)")
    con.executemany("INSERT INTO f VALUES (?)", [(v,) for v in [1.0, float("inf"), float("-inf"), None, 2.0]])
    con.commit()
    con.close()
    source = EngineSource("sqlite", lambda: sqlite3.connect(path, check_same_thread=False))
    c = profile(source, "main", "f", columns=[("x", {}, "float")], pk=None).columns[0]
    assert (c["infinite_count"], c["null_count"], c["mean"], c["max_value"]) == (2, 1, 1.5, "Infinity")


def test_exotic_types_are_measured_and_skipped_with_reasons(tmp_path):
    path = tmp_path / "x.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE x (id INTEGER, j JSON, l INTEGER[], b BLOB, s STRUCT(a INT), m MAP(VARCHAR, INT))")
    con.execute("""INSERT INTO x VALUES
        (1, '{"a": 1}', [1, 2], 'ab'::BLOB, {'a': 1}, MAP {'k': 1}),
        (2, NULL, NULL, NULL, NULL, NULL),
        (3, '[1,2,3]', [], '\\xAA\\xBB\\xCC'::BLOB, {'a': NULL}, MAP {})""")
    con.close()
    source = EngineSource("duckdb", lambda: duckdb.connect(str(path), read_only=True))
    cols = [("id", {}, "integer"), ("j", {}, "json"), ("l", {}, "array"), ("b", {}, "binary"), ("s", {}, "struct"), ("m", {}, "map")]
    result = profile(source, "main", "x", columns=cols)
    by = {c["column_name"]: c for c in result.columns}
    assert result.table["row_count"] == 3
    for name in ("j", "l", "b", "s", "m"):
        assert by[name]["null_count"] == 1, name
        assert "top_values" in by[name]["skipped_metrics"], name
        assert by[name].get("distinct_count") is None
    assert (by["b"]["min_length"], by["b"]["max_length"]) == (2, 3)
    assert (by["j"]["min_length"], by["j"]["max_length"]) == (7, 8)
    assert by["id"]["distinct_count"] == 3


def test_a_column_the_engine_rejects_does_not_fail_the_table(tmp_path):
    """A family the profiler believes groupable but the engine cannot compare is demoted, not fatal."""
    path = tmp_path / "y.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE y (id INTEGER, u UNION(num INT, str VARCHAR))")
    con.execute("INSERT INTO y VALUES (1, 1::INT), (2, 'a'), (3, NULL)")
    con.close()
    source = EngineSource("duckdb", lambda: duckdb.connect(str(path), read_only=True))
    # claim the union is a string column: its length() and regexp fail in the engine
    result = profile(source, "main", "y", columns=[("id", {}, "integer"), ("u", {}, "string")])
    by = {c["column_name"]: c for c in result.columns}
    assert by["id"]["distinct_count"] == 3
    assert by["u"]["null_count"] == 1 and by["u"]["skipped_metrics"]


def test_timeout_interrupts_the_table(tmp_path):
    def relation(schema, name):
        return exp.Table(this=exp.Anonymous(this="range", expressions=[exp.Literal.number(300_000_000)]))

    source = EngineSource("duckdb", lambda: duckdb.connect(), relation)
    with pytest.raises(TableTimeout):
        profile(source, "x", "range", columns=[("range", {}, "integer")], pk=None, timeout_s=0.2)


def test_masked_columns_never_return_values(tmp_path):
    data = [(i, f"user{i % 3}@example.com", None, None, None, None, None) for i in range(10)]
    cols = [("id", {"sqlite": "INTEGER"}, "integer"), ("email", {"sqlite": "TEXT"}, "string")] + COLUMNS[2:]
    source, schema = load_sqlite(tmp_path / "m.db", data, columns=cols)
    from datetime import datetime, timezone

    from dsa.config import QualityOptions
    from quality_data import task
    from dsa.quality import profile_table

    result = profile_table(source, task(schema, columns=cols), QualityOptions(), Sample(), 5, "run", datetime.now(timezone.utc))
    email = next(c for c in result.columns if c["column_name"] == "email")
    assert email["masked"] and email["min_value"] is None and email["max_value"] is None
    assert email["distinct_count"] == 3
    tops = [t for t in result.top if t["column_name"] == "email"]
    assert [t["count"] for t in tops] == [4, 3, 3] and all(t["value"] is None and t["masked"] for t in tops)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_quartiles_and_histogram(engine, name):
    values = DISTRIBUTIONS[name]
    source, schema = engine([(v,) for v in values], columns=DISTRIBUTION_COLUMNS)
    check_distribution(profile(source, schema, columns=DISTRIBUTION_COLUMNS, pk=None), values)
