"""Benchmark: mirroring a run of 100,000 columns with its quality metrics, against a bare COPY.

Contenders, timed in the same run on fresh Postgres databases (median of REPEATS):
  mirror     `dsa.mirror.mirror(store, dsn)` into a mirror whose schema exists: reads the runs'
             Parquet files, COPYs every table (indexes maintained), bookkeeping, one transaction
             per run.
  bare COPY  psycopg `cursor.copy(...).write_row(row)` of the same rows, already in memory as
             Python tuples, into empty tables of the same columns and types without indexes,
             one transaction.
Target: mirror / bare COPY <= 2.

The store is built once under /work/benchdata/mirror (or $DSA_BENCH_DIR) and reused. If the
quality feature has not declared its tables yet, synthetic `table_quality_metrics` and
`column_quality_metrics` shaped as in DESIGN.md are registered here.

    PYTHONPATH=. python tests/bench/bench_mirror.py [--columns 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

from dsa.mirror import SCHEMA, ensure_schema, mirror, pg_type
from dsa.model import CATALOG_TABLES
from dsa.store import Store

PG = os.environ.get("DSA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
S, I, F, T = pl.Utf8, pl.Int64, pl.Float64, pl.Datetime("us", "UTC")

QUALITY_TABLES = {
    "table_quality_metrics": {"run_id": S, "connection": S, "qualified_name": S, "table_qualified_name": S,
                              "row_count": I, "column_count": I, "quality_score": F},
    "column_quality_metrics": {"run_id": S, "connection": S, "qualified_name": S, "table_qualified_name": S,
                               "column_name": S, "total_count": I, "null_count": I, "null_percentage": F,
                               "distinct_count": I, "distinct_percentage": F, "min_value": S, "max_value": S,
                               "quality_score": F},
}


def declare_quality_tables() -> None:
    for name, schema in QUALITY_TABLES.items():
        if name not in CATALOG_TABLES:
            CATALOG_TABLES[name] = schema


def columns_frame(run_id: str, n: int, per_table: int = 50) -> pl.DataFrame:
    i = pl.int_range(0, n, eager=True)
    table = "t" + (i // per_table).cast(pl.Utf8)
    column = "c" + (i % per_table).cast(pl.Utf8)
    tqn = "bench.public." + table
    df = pl.DataFrame({"i": i, "table_name": table, "column_name": column, "tqn": tqn})
    return df.select(
        run_id=pl.lit(run_id), connection=pl.lit("bench"), tenant=pl.lit("default"),
        qualified_name=pl.col("tqn") + "." + pl.col("column_name"), table_qualified_name=pl.col("tqn"),
        schema_name=pl.lit("public"), table_name=pl.col("table_name"), column_name=pl.col("column_name"),
        ordinal_position=pl.col("i") % per_table + 1,
        data_type=pl.when(pl.col("i") % 3 == 0).then(pl.lit("numeric(12,2)")).otherwise(pl.lit("text")),
        type_family=pl.when(pl.col("i") % 3 == 0).then(pl.lit("decimal")).otherwise(pl.lit("string")),
        is_nullable=pl.col("i") % 4 != 0, column_default=pl.lit(None, S), is_identity=pl.lit(False),
        is_generated=pl.lit(False), generation_expression=pl.lit(None, S), comment=pl.lit("a column"),
        is_primary_key=pl.col("i") % per_table == 0, is_unique=pl.col("i") % per_table == 0,
        foreign_key=pl.lit(None, S), indexes=pl.lit("[]"),
        attributes=pl.format('{{"qualified_name":"{}","nullable":{}}}', pl.col("tqn") + "." + pl.col("column_name"),
                             pl.when(pl.col("i") % 4 != 0).then(pl.lit("true")).otherwise(pl.lit("false"))),
        custom_attributes=pl.format('{{"ordinal_position":{},"default":null}}', pl.col("i") % per_table + 1),
    )


def build(path: Path, n: int) -> Store:
    store = Store(path)
    if store.runs_dir.exists() and len(store.manifests()) == 2:
        return store
    with store.begin_run("bench", "scan") as scan:
        cols = columns_frame(scan.run_id, n)
        tables_ = cols.group_by("table_qualified_name", "table_name", maintain_order=True).agg(pl.len().alias("column_count"))
        scan.write("normalized_schemas", pl.DataFrame({"run_id": [scan.run_id], "connection": ["bench"],
                                                        "qualified_name": ["bench.public"], "schema_name": ["public"]}))
        scan.write("normalized_tables", tables_.select(
            run_id=pl.lit(scan.run_id), connection=pl.lit("bench"), qualified_name=pl.col("table_qualified_name"),
            schema_name=pl.lit("public"), table_name="table_name", table_type=pl.lit("table"),
            column_count=pl.col("column_count").cast(I), attributes=pl.lit("{}"), custom_attributes=pl.lit("{}")))
        scan.write("normalized_columns", cols)
        scan.counts.update(schema_count=1, table_count=tables_.height, column_count=n)
    with store.begin_run("bench", "quality", {"scan_run": scan.run_id}) as quality:
        cols = columns_frame(quality.run_id, n)
        total = 1_000_000
        nulls = (pl.col("ordinal_position") * 7919 % 1000).cast(I)
        metrics = cols.select(
            "run_id", "connection", "qualified_name", "table_qualified_name", "column_name",
            total_count=pl.lit(total, I), null_count=nulls, null_percentage=nulls * 100.0 / total,
            distinct_count=(pl.col("ordinal_position") * 104729 % total).cast(I),
            distinct_percentage=(pl.col("ordinal_position") * 104729 % total) * 100.0 / total,
            min_value=pl.lit("0"), max_value=pl.col("qualified_name"), quality_score=pl.lit(100.0) - nulls / 10.0)
        quality.write("column_quality_metrics", metrics)
        tq = metrics.group_by("table_qualified_name", maintain_order=True).agg(
            pl.len().cast(I).alias("column_count"), pl.col("quality_score").mean())
        quality.write("table_quality_metrics", tq.select(
            run_id=pl.lit(quality.run_id), connection=pl.lit("bench"), qualified_name="table_qualified_name",
            table_qualified_name="table_qualified_name", row_count=pl.lit(total, I), column_count="column_count",
            quality_score="quality_score"))
    return store


def fresh_database(admin: psycopg.Connection) -> tuple[str, str]:
    name = f"dsa_bench_{secrets.token_hex(4)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, PG.rsplit("/", 1)[0] + "/" + name


def time_mirror(store: Store, dsn: str) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_schema(conn)  # an existing mirror: its schema is there
    started = time.perf_counter()
    result = mirror(store, dsn)
    seconds = time.perf_counter() - started
    assert len(result.mirrored) == 2, result
    return seconds


def bare_rows(store: Store) -> dict[str, tuple[list[str], list[tuple]]]:
    out = {}
    for table in CATALOG_TABLES:
        files = sorted(store.runs_dir.glob(f"*/{table}/part-*.parquet"))
        if files:
            # the table's full current schema (columns the files lack are NULL), as the mirror copies it
            schema = CATALOG_TABLES[table]
            df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
            df = df.select([pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c) for c, t in schema.items()])
            out[table] = (df.columns, df.rows())
    return out


def time_bare_copy(rows: dict[str, tuple[list[str], list[tuple]]], dsn: str) -> float:
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        for table, (columns, _) in rows.items():
            schema = CATALOG_TABLES[table]
            conn.execute(sql.SQL("CREATE TABLE {}.{} ({})").format(
                sql.Identifier(SCHEMA), sql.Identifier(table),
                sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_type(c, schema[c]))) for c in columns)))
        conn.commit()
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            for table, (columns, data) in rows.items():
                statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
                    sql.Identifier(SCHEMA), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
                with cur.copy(statement) as copy:
                    for row in data:
                        copy.write_row(row)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    declare_quality_tables()
    base = Path(os.environ.get("DSA_BENCH_DIR", "/work/benchdata/mirror")) / f"store_{args.columns}"
    store = build(base, args.columns)
    rows = bare_rows(store)
    print(f"rows (columns) per table: { {t: f'{len(r)} ({len(c)})' for t, (c, r) in rows.items()} }")
    admin = psycopg.connect(PG, autocommit=True)
    mirror_s, bare_s = [], []
    try:
        for _ in range(args.repeats):
            for contender, times in (("mirror", mirror_s), ("bare", bare_s)):
                name, dsn = fresh_database(admin)
                try:
                    times.append(time_mirror(store, dsn) if contender == "mirror" else time_bare_copy(rows, dsn))
                finally:
                    admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            print(f"  mirror {mirror_s[-1]:.3f}s   bare COPY {bare_s[-1]:.3f}s")
    finally:
        admin.close()
    m, b = statistics.median(mirror_s), statistics.median(bare_s)
    print(f"mirror of {args.columns} columns + quality metrics: median {m:.3f}s")
    print(f"bare psycopg COPY of the same rows:               median {b:.3f}s")
    print(f"ratio mirror / bare COPY = {m / b:.2f} (target <= 2)")
    sys.exit(0 if m / b <= 2 else 1)


if __name__ == "__main__":
    main()
