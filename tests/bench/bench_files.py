"""Benchmark: the files connector on a hive-partitioned Parquet folder of 1,000 files.

Contenders, timed in the same run (median of REPEATS):
  raw:  DuckDB's own parquet_schema() and parquet_metadata() over the same glob (the floor);
  dsa:  `dsa scan` of a files source on the folder, in process (discovery, schema, row counts,
        compression, sizes, normalization and writing the run).
Target: dsa <= 2x raw. Data is built once under /work/benchdata/files_hive (reused).

    PYTHONPATH=. python tests/bench/bench_files.py
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path("/work/benchdata/files_hive")
DATASET = ROOT / "events"
FILES = 1000
REPEATS = 5


def build() -> None:
    if (ROOT / ".done").exists():
        return
    shutil.rmtree(ROOT, ignore_errors=True)
    con = duckdb.connect()
    n = 0
    for year in range(2015, 2025):
        for month in range(1, 13):
            folder = DATASET / f"year={year}" / f"month={month}"
            folder.mkdir(parents=True)
            for part in range(9 if (year * 12 + month) % 3 else 8):
                if n == FILES:
                    break
                con.execute(
                    f"COPY (SELECT range AS id, {n} AS part, 'user_' || (range % 97) AS user_name, range * 1.5 AS amount, "
                    f"TIMESTAMP '2024-01-01' + INTERVAL (range) MINUTE AS at, range % 2 = 0 AS flag, "
                    f"[range, range + 1] AS tags, {{'k': range, 'v': 'x'}} AS meta FROM range(200)) "
                    f"TO '{folder}/part-{part}.parquet' (FORMAT parquet, COMPRESSION zstd)")
                n += 1
    con.close()
    assert n == FILES, n
    (ROOT / ".done").touch()


def raw_floor() -> float:
    con = duckdb.connect()
    glob = f"{DATASET}/**/*.parquet"
    start = time.perf_counter()
    con.execute("SELECT count(*) FROM parquet_schema(?)", [glob]).fetchall()
    con.execute("SELECT count(*) FROM parquet_metadata(?)", [glob]).fetchall()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def dsa_scan() -> float:
    from dsa.config import Config, parse_source
    from dsa.scan import scan
    from dsa.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        config = Config(sources={"lake": parse_source("lake", {"type": "files", "paths": [str(ROOT)]})})
        start = time.perf_counter()
        result = scan(store, config, "lake")
        elapsed = time.perf_counter() - start
        assert result.status == "success" and result.table_count == 1, result.summary()
    return elapsed


def main() -> None:
    build()
    raw_floor(), dsa_scan()  # warm the OS file cache and imports alike for both
    raws, dsas = [], []
    for _ in range(REPEATS):
        raws.append(raw_floor())
        dsas.append(dsa_scan())
    raw, ds = statistics.median(raws), statistics.median(dsas)
    print(f"files: {FILES} parquet files, hive-partitioned (year/month)")
    print(f"  duckdb parquet_schema+parquet_metadata (glob): {raw:.3f}s median of {REPEATS}")
    print(f"  dsa scan (files connector):                    {ds:.3f}s median of {REPEATS}")
    print(f"  ratio dsa / raw = {ds / raw:.2f}x (target <= 2.00x)")
    sys.exit(0 if ds <= 2 * raw else 1)


if __name__ == "__main__":
    main()
