"""End to end through each real connector: scan, `dsa quality`, and the catalog holds the Python-computed profile."""

from __future__ import annotations

import json

import pytest

from quality_data import TABLE, expected, rows
from test_quality_engines import load_duckdb, load_parquet, load_sqlite
from test_quality_servers import _load_mysql, _load_pg


def _config(kind, tmp_path, request):
    data = rows(150, seed=9)
    if kind == "sqlite":
        load_sqlite(tmp_path / "d.db", data)
        return data, "{type: sqlite, path: d.db}", TABLE
    if kind == "duckdb":
        load_duckdb(tmp_path / "d.duckdb", data)
        return data, "{type: duckdb, path: d.duckdb}", TABLE
    if kind == "files":
        (tmp_path / "lake").mkdir()
        load_parquet(tmp_path / "lake" / "events", data)
        return data, "{type: files, paths: [lake/]}", "events"
    if kind == "postgres":
        dsn = request.getfixturevalue("pg_database")
        _load_pg(dsn, data)
        return data, f"{{type: postgres, dsn: '{dsn}'}}", TABLE
    database = request.getfixturevalue("mysql_database")
    _load_mysql(database, data)
    return data, f"{{type: mysql, dsn: 'mysql://root@127.0.0.1:3306/{database}'}}", TABLE


# sqlite and postgres run end to end in test_quality_cli.py and test_quality_servers.py
@pytest.mark.parametrize("kind", ["duckdb", "files", "mysql"])
def test_connector_profile_in_the_catalog(kind, tmp_path, dsa_cli, request):
    data, spec, table = _config(kind, tmp_path, request)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  src: {spec}\nquality: {{top_k: 3, mask: {{auto: false}}}}\n")
    scan = dsa_cli("scan", "src")
    assert scan.returncode == 0, scan.stderr
    out = dsa_cli("quality", "src")
    assert out.returncode == 0, out.stderr
    got = json.loads(dsa_cli("query", "SELECT column_name, total_count, null_count, distinct_count, min_value, max_value "
                                      "FROM latest_column_quality_metrics", "--format", "json").stdout)
    want = expected(data, top_k=3)
    by = {r["column_name"]: r for r in got}
    for name in ("id", "word", "amount", "day", "big"):
        e = want[name]
        assert (by[name]["total_count"], by[name]["null_count"], by[name]["distinct_count"]) == \
            (e["total_count"], e["null_count"], e["distinct_count"]), (kind, name)
        assert (by[name]["min_value"], by[name]["max_value"]) == (e["min_value"], e["max_value"]), (kind, name)
    top = json.loads(dsa_cli("query", "SELECT rank, value, count FROM latest_column_top_values WHERE column_name = 'word' "
                                      "ORDER BY rank", "--format", "json").stdout)
    assert [(t["rank"], t["value"], t["count"]) for t in top] == want["word"]["top"]
