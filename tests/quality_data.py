"""One generated table, the profile Python computes for it, and a way to profile it in any engine.

Every engine's quality contract (tests/connectors/quality_contract.py) loads `rows()` into its
engine and compares dsa's profile with `expected()`, so the same table gives the same profile
everywhere.
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections import Counter
from datetime import date, datetime, timedelta, timezone

from dsa.config import QualityOptions
from dsa.names import qualified_name
from dsa.quality import Sample, TableTask, profile_table

TABLE = 'odd "table".name ü'
WORDS = ["apple", "Banana", "banana", "cherry", "é", "Ω", "日本語", "a b", "", "   ", "12", "-3.5", " 7 ", "x" * 250, "Zebra"]
FLOATS = [-2.5, 0.0, 1.25, 3.0, 1000000.0, -0.75, 42.5]
# (name, sql type per engine, family)
COLUMNS = [
    ("id", {"sqlite": "INTEGER", "duckdb": "INTEGER", "postgres": "integer", "mysql": "INT"}, "integer"),
    ("word", {"sqlite": "TEXT", "duckdb": "VARCHAR", "postgres": "text", "mysql": "VARCHAR(300)"}, "string"),
    ("amount", {"sqlite": "REAL", "duckdb": "DOUBLE", "postgres": "double precision", "mysql": "DOUBLE"}, "float"),
    ("day", {"sqlite": "DATE", "duckdb": "DATE", "postgres": "date", "mysql": "DATE"}, "date"),
    ("flag", {"sqlite": "BOOLEAN", "duckdb": "BOOLEAN", "postgres": "boolean", "mysql": "BOOLEAN"}, "boolean"),
    ('odd col."q"', {"sqlite": "TEXT", "duckdb": "VARCHAR", "postgres": "text", "mysql": "VARCHAR(10)"}, "string"),
    ("big", {"sqlite": "INTEGER", "duckdb": "BIGINT", "postgres": "bigint", "mysql": "BIGINT"}, "integer"),
]
NAMES = [c[0] for c in COLUMNS]
TODAY = datetime.now(timezone.utc).date()


def rows(n: int = 300, seed: int = 7) -> list[tuple]:
    rnd = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        day = rnd.choice([None, date(2020, 1, 1) + timedelta(days=rnd.randrange(1500)), date(1850, 6, 1),
                          TODAY + timedelta(days=400)])
        out.append((
            i,
            rnd.choice(WORDS + [None, "apple"]),
            rnd.choice(FLOATS + [None]),
            day,
            rnd.choice([True, False, None, True]),
            None,
            rnd.choice([None, 2**40 + rnd.randrange(5), -7]),
        ))
    return out


def _sortkey(v):
    return v


def _text(v, family):
    if v is None:
        return None
    if family == "boolean":
        return "true" if v else "false"
    if family == "float":
        return repr(float(v))
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def expected(data: list[tuple], top_k: int = 5) -> dict[str, dict]:
    """The profile of each column, computed in Python."""
    out = {}
    total = len(data)
    for j, (name, _, family) in enumerate(COLUMNS):
        values = [r[j] for r in data]
        present = [v for v in values if v is not None]
        counts = Counter(present)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], _sortkey(kv[0])))[:top_k]
        e = {
            "total_count": total,
            "null_count": total - len(present),
            "distinct_count": len(counts),
            "min_value": _text(min(present), family) if present else None,
            "max_value": _text(max(present), family) if present else None,
            "top": [(k + 1, _text(v, family)[:200], c) for k, (v, c) in enumerate(top)],
        }
        if family in ("integer", "float"):
            nums = sorted(float(v) for v in present)
            e["mean"] = statistics.fmean(nums) if nums else None
            e["stddev"] = statistics.stdev(nums) if len(nums) > 1 else None
            for q, key in ((0.25, "q1"), (0.5, "median"), (0.75, "q3")):
                e[key] = nums[max(0, math.ceil(q * len(nums)) - 1)] if nums else None
            e["zero_count"] = sum(1 for v in present if v == 0)
            e["negative_count"] = sum(1 for v in present if v < 0)
        if family == "string":
            e["min_length"] = min((len(v) for v in present), default=None)
            e["max_length"] = max((len(v) for v in present), default=None)
            e["empty_count"] = sum(1 for v in present if v == "")
            e["whitespace_count"] = sum(1 for v in present if v and not v.strip(" "))
            e["numeric_text_count"] = sum(1 for v in present if re.fullmatch(r"[0-9.+-]*[0-9][0-9.+-]*", v.strip(" ")))
        if family == "date":
            e["future_count"] = sum(1 for v in present if v > TODAY)
            e["invalid_count"] = sum(1 for v in present if v < date(1900, 1, 1))
        if family == "boolean":
            e["true_count"] = sum(1 for v in present if v is True)
            e["false_count"] = sum(1 for v in present if v is False)
        out[name] = e
    return out


def task(schema: str, table: str = TABLE, columns=COLUMNS, pk: str | None = "id", fks=None) -> TableTask:
    cols = [{"column_name": n, "type_family": f, "ordinal_position": k + 1, "data_type": t.get("duckdb"),
             "is_primary_key": n == pk, "is_unique": n == pk, "foreign_key": None}
            for k, (n, t, f) in enumerate(columns)]
    return TableTask(schema, table, qualified_name("t", schema, table), None, None, cols, fks or [])


def profile(source, schema: str, table: str = TABLE, top_k: int = 5, sample: Sample = Sample(), columns=COLUMNS,
            timeout_s: float = 60, **kw):
    options = QualityOptions(timeout_s=timeout_s, mask={"auto": False})
    return profile_table(source, task(schema, table, columns, **kw), options, sample, top_k, "run", datetime.now(timezone.utc))


def assert_matches(result, want: dict[str, dict]) -> None:
    by_name = {c["column_name"]: c for c in result.columns}
    tops: dict[str, list] = {}
    for t in result.top:
        tops.setdefault(t["column_name"], []).append((t["rank"], t["value"], t["count"]))
    for name, e in want.items():
        got = by_name[name]
        for key, value in e.items():
            if key == "top":
                assert sorted(tops.get(name, [])) == value, (name, "top")
            elif isinstance(value, float) and got.get(key) is not None:
                assert math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-9), (name, key, got[key], value)
            else:
                assert got.get(key) == value, (name, key, got.get(key), value)


# one integer column `x`: quartiles where the running count lands exactly on a target, all but
# one value in the first histogram bin, a single value, negatives and NULLs
DISTRIBUTION_COLUMNS = [("x", {"sqlite": "INTEGER", "duckdb": "BIGINT", "postgres": "bigint", "mysql": "BIGINT"}, "integer")]
DISTRIBUTIONS = {
    "spread": [v for v in range(1000) for _ in range(v % 7 + 1)],
    "boundaries": [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10,
    "skewed": [v % 100 for v in range(1000)] + [10**9],
    "constant": [5] * 50,
    "negatives_nulls": [-5, -5, None, 3, None, 8, 8, 8, 100],
}


def check_distribution(result, values: list) -> None:
    """Quartiles (percentile_disc) and the 20-bin histogram of `values`, computed in Python."""
    present = sorted(v for v in values if v is not None)
    c = result.columns[0]
    for key, p in (("q1", 0.25), ("median", 0.5), ("q3", 0.75)):
        assert c[key] == present[math.ceil(p * len(present)) - 1], (key, c[key])
    lo, hi = float(present[0]), float(present[-1])
    bins = Counter(0 if hi == lo else min(19, math.floor((v - lo) * 20 / (hi - lo))) for v in map(float, present))
    assert {h["bin"]: h["count"] for h in result.hist if h["kind"] == "numeric"} == dict(bins)
