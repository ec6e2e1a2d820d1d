"""Benchmark: the diff of two 100,000-column runs against just reading their column rows.

Two synthetic scan runs of 10,000 tables x 10 columns, written through the store, the second
with 1% of its columns changed (types, nullability, defaults, renames, drops, additions). The
data is built once under /work/benchdata/diff (or $DSA_BENCH_DIR) and reused.

Contenders, each in the same run, median of REPEATS (wall clock, and CPU seconds of the process,
which the load of a shared machine distorts less):
  read   store.connect() + SELECT * of both runs' normalized_columns rows into memory (Arrow)
  diff   dsa.diff.diff(...): the whole diff, including storing its result as a run
Peak memory of one diff is measured in a child process (its maximum resident set size).
Target: diff / read <= 3, peak memory < 500 MB.

    PYTHONPATH=. python tests/bench/bench_diff.py
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(os.environ.get("DSA_BENCH_DIR", "/work/benchdata/diff"))
TABLES, COLUMNS_PER_TABLE, SCHEMAS = 10_000, 10, 10
REPEATS = 5
TYPES = ["integer", "varchar(40)", "numeric(12,2)", "text", "timestamp", "boolean", "bigint", "date", "varchar(255)", "real"]


def build_frames(run_id: str, changed: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Schemas, tables and columns of one run; `changed` applies the 1% of column changes."""
    n = TABLES * COLUMNS_PER_TABLE
    cols = pl.DataFrame({"t": pl.int_range(0, n, eager=True) // COLUMNS_PER_TABLE,
                         "j": pl.int_range(0, n, eager=True) % COLUMNS_PER_TABLE})
    cols = cols.with_columns(
        schema_name=pl.format("s{}", pl.col("t") % SCHEMAS),
        table_name=pl.format("t{}", pl.col("t")),
        column_name=pl.format("c{}", pl.col("j")),
        data_type=pl.col("j").map_elements(lambda j: TYPES[j], return_dtype=pl.Utf8),
        is_nullable=pl.col("j") != 0,
        column_default=pl.when(pl.col("j") == 5).then(pl.lit("false")).otherwise(None),
    )
    if changed:
        # 1,000 of 100,000 columns: tables 0..999 each get one change, chosen by table number
        kind = pl.col("t") % 10
        first = pl.col("t") < 1000
        cols = cols.with_columns(
            data_type=pl.when(first & (kind < 4) & (pl.col("j") == 1)).then(pl.lit("varchar(80)")).otherwise("data_type"),
            is_nullable=pl.when(first & kind.is_in([4, 5]) & (pl.col("j") == 3)).then(False).otherwise("is_nullable"),
            column_default=pl.when(first & (kind == 6) & (pl.col("j") == 5)).then(pl.lit("true")).otherwise("column_default"),
            column_name=pl.when(first & (kind == 7) & (pl.col("j") == 4)).then(pl.lit("c4_renamed")).otherwise("column_name"),
        )
        cols = cols.filter(~(first & (kind == 8) & (pl.col("j") == 9)))  # dropped
        added = cols.filter(first & (kind == 9) & (pl.col("j") == 0)).with_columns(
            j=pl.lit(COLUMNS_PER_TABLE, pl.Int64), column_name=pl.lit("c_new"), data_type=pl.lit("text"),
            is_nullable=pl.lit(True), column_default=pl.lit(None, pl.Utf8))
        cols = pl.concat([cols, added.select(cols.columns)])
    tq = pl.format("bench.{}.{}", "schema_name", "table_name")
    cols = cols.with_columns(
        run_id=pl.lit(run_id), connection=pl.lit("bench"), tenant=pl.lit("default"),
        table_qualified_name=tq, qualified_name=pl.format("bench.{}.{}.{}", "schema_name", "table_name", "column_name"),
        ordinal_position=pl.col("j") + 1, type_family=pl.lit("other"), is_identity=pl.lit(False),
        is_generated=pl.lit(False), is_primary_key=pl.col("j") == 0, is_unique=pl.col("j") == 0,
        foreign_key=pl.lit(None, pl.Utf8),
        indexes=pl.when(pl.col("j") == 0).then(pl.concat_str(pl.lit('["'), "table_name", pl.lit('_pkey"]'))).otherwise(pl.lit("[]")),
    ).with_columns(
        attributes=pl.concat_str(pl.lit('{"qualified_name":"'), "qualified_name", pl.lit('","data_type":"'), "data_type",
                                 pl.lit('","nullable":'), pl.col("is_nullable").cast(pl.Utf8).str.to_lowercase(), pl.lit("}")),
        custom_attributes=pl.concat_str(pl.lit('{"ordinal_position":'), "ordinal_position", pl.lit(',"default":null}')),
    ).drop("t", "j")
    tables = cols.group_by("schema_name", "table_name").agg(pl.len().alias("column_count")).with_columns(
        run_id=pl.lit(run_id), connection=pl.lit("bench"), tenant=pl.lit("default"),
        qualified_name=pl.format("bench.{}.{}", "schema_name", "table_name"),
        schema_qualified_name=pl.format("bench.{}", "schema_name"), table_type=pl.lit("table"),
        primary_key=pl.lit('["c0"]'),
        custom_attributes=pl.concat_str(
            pl.lit('{"foreign_keys":[],"unique_constraints":[],"check_constraints":[],"indexes":[{"name":"'), "table_name",
            pl.lit('_pkey","columns":["c0"],"unique":true,"primary":true,"method":"btree","predicate":null}],'
                   '"primary_key_name":"'), "table_name", pl.lit('_pkey"}')),
    )
    schemas = pl.DataFrame({"schema_name": [f"s{i}" for i in range(SCHEMAS)]}).with_columns(
        run_id=pl.lit(run_id), connection=pl.lit("bench"), qualified_name=pl.format("bench.{}", "schema_name"))
    return schemas, tables, cols


def build(store) -> tuple[str, str]:
    marker = ROOT / "runs.json"
    if marker.exists():
        return tuple(json.loads(marker.read_text()))
    shutil.rmtree(ROOT, ignore_errors=True)
    store.init()
    ids = []
    for changed in (False, True):
        with store.begin_run("bench", "scan", {"source_type": "postgres"}) as run:
            schemas, tables, columns = build_frames(run.run_id, changed)
            run.write("normalized_schemas", schemas)
            run.write("normalized_tables", tables)
            run.write("normalized_columns", columns)
            run.counts.update(schema_count=schemas.height, table_count=tables.height, column_count=columns.height)
        ids.append(run.run_id)
    marker.write_text(json.dumps(ids))
    return tuple(ids)


def read_rows(store, a: str, b: str) -> int:
    con = store.connect()
    try:
        return con.execute("SELECT * FROM normalized_columns WHERE run_id IN (?, ?)", [a, b]).to_arrow_table().num_rows
    finally:
        con.close()


def run_diff(store, a: str, b: str):
    from dsa.diff import diff

    result = diff(store, None, "bench", from_run=a, to_run=b)
    shutil.rmtree(store.runs_dir / result.run_id)  # keep the bench store as built
    return result


def main() -> None:
    from dsa.store import Store

    store = Store(ROOT / "store")
    a, b = build(store)
    if sys.argv[1:] == ["--child"]:
        run_diff(store, a, b)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
        return
    result = run_diff(store, a, b)  # warm up (file cache, imports) and check the result
    counts = {r["entity_type"]: {k: v for k, v in r.items() if isinstance(v, int) and v} for r in result.summary.iter_rows(named=True)}
    print("diff summary:", json.dumps(counts))
    changed = result.summary.filter(pl.col("entity_type") == "column").select(
        pl.sum_horizontal("added", "removed", "modified", "renamed", "moved")).item()
    assert changed == 1000, changed  # 1% of 100,000 columns
    print(f"rows read: {read_rows(store, a, b)}")
    reads, diffs, read_cpu, diff_cpu = [], [], [], []
    for _ in range(REPEATS):
        t, c = time.perf_counter(), time.process_time()
        read_rows(store, a, b)
        reads.append(time.perf_counter() - t)
        read_cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        run_diff(store, a, b)
        diffs.append(time.perf_counter() - t)
        diff_cpu.append(time.process_time() - c)
    read_s, diff_s = statistics.median(reads), statistics.median(diffs)
    child = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    peak_mb = int(child.stdout.split()[-1]) / 1024
    print(f"read both runs' column rows: median {read_s:.3f}s of {REPEATS}")
    print(f"diff (incl. storing the result): median {diff_s:.3f}s of {REPEATS}")
    print(f"ratio diff/read: {diff_s / read_s:.2f} (target <= 3)")
    # CPU seconds (all threads of this process) depend less on what else runs on the machine
    print(f"cpu ratio diff/read: {statistics.median(diff_cpu) / statistics.median(read_cpu):.2f} "
          f"(read {statistics.median(read_cpu):.3f}s, diff {statistics.median(diff_cpu):.3f}s cpu)")
    print(f"peak memory of one diff process: {peak_mb:.0f} MB (target < 500)")


if __name__ == "__main__":
    main()
