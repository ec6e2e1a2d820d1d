"""Benchmark: the full exact quality profile (exact distincts, top-10 on every column) of TPC-H lineitem.

    PYTHONPATH=. python tests/bench/bench_quality.py [--repeats 3] [--pg-repeats 1] [--skip-pg] [--skip-ydata]

Data (built once, kept under /work/benchdata, never in git): lineitem at scale factor 1 (6,001,215
rows, 16 columns) from `tpchgen-cli` (PyPI) as Parquet, its first 1,000,000 rows as a second file,
and the table loaded into the Postgres database `dsa_bench_quality` with COPY.

Every contender runs in its own subprocess, so its peak memory (ru_maxrss) is its own; all run in
this one invocation, repeats round-robin over the contenders of a group, and each ratio is
printed with its target: of median wall times, and of median CPU times (all threads; library
imports excluded everywhere) which load from other users of the machine disturbs far less.
ydata-profiling needs pandas < 3,
so it runs from its own virtualenv (/work/benchdata/ydata_venv) and never touches the shared one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("DSA_BENCHDATA", "/work/benchdata"))
PARQUET = DATA / "tpch_sf1" / "lineitem.parquet"
PARQUET_1M = DATA / "tpch_sf1" / "lineitem_1m.parquet"
PG_ADMIN = os.environ.get("DSA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_DB = "dsa_bench_quality"
PG_DSN = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
YDATA_PY = DATA / "ydata_venv" / "bin" / "python"


def ensure_data(pg: bool) -> None:
    if not PARQUET.exists():
        PARQUET.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tpchgen-cli", "parquet", "-s", "1", "--tables=lineitem", f"--output-dir={PARQUET.parent}"], check=True)
    if not PARQUET_1M.exists():
        import duckdb

        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{PARQUET}') LIMIT 1000000) TO '{PARQUET_1M}' (FORMAT parquet)")
    if pg:
        sys.path.insert(0, str(Path(__file__).parent))
        from load_tpch_pg import load

        load(PARQUET, PG_ADMIN, PG_DB)


# -- contenders (each runs in a child process) ------------------------------------------------

def _duckdb_columns(file: Path) -> list[tuple[str, str]]:
    import duckdb

    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{file}')").fetchall()]


def parquet_source(file: Path):
    """Parquet through a plain DuckDB connection, as the files connector reads it."""
    from sqlglot import exp

    from dsa.config import SourceOptions
    from dsa.connectors.duckdb import DuckdbEngine

    class ParquetSource(DuckdbEngine):
        def connect(self):
            import duckdb

            return duckdb.connect()

        def describe(self) -> str:
            return f"parquet {file.name}"

        def profile_relation(self, schema, table):
            return exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(file))]))

    return ParquetSource("bench", SourceOptions(type="files"))


def _dsa_profile(source, schema: str, table: str, columns: list[tuple[str, str]], dialect: str, sample=None) -> dict:
    from dsa.config import QualityOptions
    from dsa.quality import Sample, TableTask, profile_table
    from dsa.types import type_family

    cols = [{"column_name": n, "type_family": type_family(t, dialect), "ordinal_position": i + 1, "data_type": t}
            for i, (n, t) in enumerate(columns)]
    task = TableTask(schema, table, f"bench.{table}", None, None, cols, [])
    # the full exact profile unless a sample is asked for (without one, tables over 1M rows are sampled)
    result = profile_table(source, task, QualityOptions(timeout_s=3600), sample or Sample(percent=100), 10, "bench",
                           datetime.now(timezone.utc))
    return {"rows": result.table["row_count"], "profiled": result.table["sample_rows"], "top": len(result.top)}


def run_one(name: str) -> dict:
    import duckdb

    if name == "duckdb_summarize":
        duckdb.connect().execute(f"SUMMARIZE SELECT * FROM read_parquet('{PARQUET}')").fetchall()
    elif name == "duckdb_bare_read":
        cols = ", ".join(f'"{n}"' for n, _ in _duckdb_columns(PARQUET))
        duckdb.connect().execute(f"SELECT count(*), sum(hash({cols})) FROM read_parquet('{PARQUET}')").fetchall()
    elif name == "dsa_parquet":
        return _dsa_profile(parquet_source(PARQUET), "files", "lineitem", _duckdb_columns(PARQUET), "duckdb")
    elif name == "dsa_parquet_1m":
        return _dsa_profile(parquet_source(PARQUET_1M), "files", "lineitem_1m", _duckdb_columns(PARQUET_1M), "duckdb")
    elif name in ("dsa_pg_full", "dsa_pg_sample10"):
        import psycopg

        from dsa.config import parse_source
        from dsa.connectors import open_source
        from dsa.quality import Sample

        with psycopg.connect(PG_DSN) as conn:
            columns = conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                   "WHERE table_name = 'lineitem' ORDER BY ordinal_position").fetchall()
        source = open_source("bench", parse_source("bench", {"type": "postgres", "dsn": PG_DSN, "timeout_s": 3600}))
        sample = Sample(percent=10) if name == "dsa_pg_sample10" else None
        return _dsa_profile(source, "public", "lineitem", columns, "postgres", sample)
    elif name == "pg_handwritten":
        import psycopg
        from psycopg import sql

        with psycopg.connect(PG_DSN) as conn:
            cols = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                                "WHERE table_name = 'lineitem' ORDER BY ordinal_position").fetchall()]
            parts = [sql.SQL("count(*)")]
            for c in cols:
                i = sql.Identifier(c)
                parts += [sql.SQL("count(*) - count({})").format(i), sql.SQL("count(DISTINCT {})").format(i),
                          sql.SQL("min({})").format(i), sql.SQL("max({})").format(i)]
            conn.execute("SET statement_timeout = 0")
            conn.execute(sql.SQL("SELECT {} FROM lineitem").format(sql.SQL(", ").join(parts))).fetchall()
    else:
        raise SystemExit(f"unknown contender {name}")
    return {}


YDATA_SCRIPT = """
import sys, time, resource, json
import pandas as pd
from ydata_profiling import ProfileReport
t, c = time.perf_counter(), time.process_time()
df = pd.read_parquet(sys.argv[1])
ProfileReport(df, minimal=True, progress_bar=False).get_description()
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "peak_mb": hwm / 1024}))
"""


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it is not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(name: str) -> dict:
    if name == "ydata_1m":
        cmd = [str(YDATA_PY), "-c", YDATA_SCRIPT, str(PARQUET_1M)]
    else:
        cmd = [sys.executable, __file__, "--run", name]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(names: list[str], repeats: int) -> dict[str, dict]:
    """Median wall and CPU seconds and the largest peak memory over `repeats` runs in fresh processes.

    The repeats go round-robin over `names`, so a burst of load from other users of the machine
    falls on every contender alike. CPU seconds (all threads of the contender's process) are
    printed too: on a shared 2-core machine they vary far less than wall time.
    """
    runs: dict[str, list[dict]] = {n: [] for n in names}
    errors: dict[str, dict] = {}
    for _ in range(repeats):
        for name in names:
            if name in errors:
                continue
            data = run_child(name)
            if "error" in data:
                errors[name] = data
            else:
                runs[name].append(data)
    result: dict[str, dict] = {}
    for name in names:
        if name in errors:
            result[name] = errors[name]
            print(f"  {name:18s} failed: {errors[name]['error']}", flush=True)
            continue
        got = runs[name]
        info = got[-1].get("info", {})
        res = {"seconds": statistics.median(d["seconds"] for d in got), "cpu": statistics.median(d.get("cpu", 0) for d in got),
               "peak_mb": max(d["peak_mb"] for d in got), "runs": len(got), **info}
        print(f"  {name:18s} {res['seconds']:8.2f} s wall {res['cpu']:7.2f} s CPU (medians of {len(got)})  "
              f"peak {res['peak_mb']:7.0f} MB  {info or ''}", flush=True)
        result[name] = res
    return result


def ratio(label: str, num: dict, den: dict, target: str, ok, cpu: bool = True) -> None:
    """Wall-time ratio against its target; with `cpu`, the CPU-time ratio too (local engines only:
    for Postgres the work is in the server, not in the measured process)."""
    if "error" in num or "error" in den:
        print(f"{label}: not measured ({num.get('error') or den.get('error')})")
        return
    r = num["seconds"] / den["seconds"]
    extra = f", CPU-time ratio {num['cpu'] / den['cpu']:.2f}" if cpu and num.get("cpu") and den.get("cpu") else ""
    print(f"{label}: {r:.2f}  (target {target}: {'met' if ok(r) else 'MISSED'}{extra})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg-repeats", type=int, default=1)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-ydata", action="store_true")
    args = parser.parse_args()
    if args.run:
        # library imports stay outside every contender's time, as in the ydata-profiling script
        import duckdb  # noqa: F401

        if args.run.startswith("dsa"):
            import dsa.config, dsa.connectors, dsa.quality, dsa.types  # noqa: F401, E401
        t, c = time.perf_counter(), time.process_time()
        info = run_one(args.run)
        print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "peak_mb": peak_mb(),
                          "info": info}))
        return
    ensure_data(pg=not args.skip_pg)
    print(f"lineitem SF1: {PARQUET} ({PARQUET.stat().st_size / 1e6:.0f} MB), 1M rows: {PARQUET_1M}")
    r: dict[str, dict] = {}
    print("Parquet through DuckDB:")
    # interleaved so that load from other users of the machine falls on every contender alike
    r.update(measure(["duckdb_bare_read", "dsa_parquet", "duckdb_summarize"], args.repeats))
    ratio("SUMMARIZE / dsa (>= 2)", r["duckdb_summarize"], r["dsa_parquet"], ">= 2x faster", lambda x: x >= 2)
    ratio("dsa / bare read (<= 6)", r["dsa_parquet"], r["duckdb_bare_read"], "within 6x", lambda x: x <= 6)
    print("1,000,000 rows:")
    r.update(measure(["dsa_parquet_1m"], args.repeats))
    if args.skip_ydata or not YDATA_PY.exists():
        print("  ydata-profiling: not measured (%s)" % ("--skip-ydata" if args.skip_ydata else f"no virtualenv at {YDATA_PY}"))
    else:
        r.update(measure(["ydata_1m"], 1))
        ratio("ydata / dsa time (>= 20)", r["ydata_1m"], r["dsa_parquet_1m"], ">= 20x faster", lambda x: x >= 20)
        if "error" not in r["ydata_1m"]:
            m = r["dsa_parquet_1m"]["peak_mb"] / r["ydata_1m"]["peak_mb"]
            print(f"dsa / ydata peak memory: {m:.2f}  (target <= 0.25: {'met' if m <= 0.25 else 'MISSED'})")
    if not args.skip_pg:
        print("Postgres (table lineitem, database %s):" % PG_DB)
        r.update(measure(["pg_handwritten", "dsa_pg_full", "dsa_pg_sample10"], args.pg_repeats))
        ratio("dsa full / hand-written aggregate (< 1)", r["dsa_pg_full"], r["pg_handwritten"], "less time", lambda x: x < 1, cpu=False)
        ratio("dsa full / dsa 10% sample (>= 4)", r["dsa_pg_full"], r["dsa_pg_sample10"], ">= 4x faster", lambda x: x >= 4, cpu=False)
    peaks = {k: v["peak_mb"] for k, v in r.items() if k.startswith("dsa") and "peak_mb" in v}
    worst = max(peaks.values()) if peaks else 0
    print(f"dsa peak memory: {worst:.0f} MB  (target < 500 MB: {'met' if worst < 500 else 'MISSED'})")


if __name__ == "__main__":
    main()
