"""Benchmark: what lineage adds to `dsa scan`, and `dsa lint` against the scan, on Postgres.

    PYTHONPATH=. python tests/bench/bench_lineage.py [--tables 5000] [--views 2000] [--repeats 3]

Builds (once; reused while its marker comment matches) database `dsa_bench_lineage`: the
5,000-table schema of `bench_scan_postgres.py` plus N views over it, in eight shapes taken in
turn (a filter, a join, a CTE with an aggregate, `SELECT *`, a union, a subquery, a window
function, a view over an earlier view). Then times, in this one run, each as a process:

  scan, no lineage   `dsa scan` with `lineage: {enabled: false}` in the config
  scan               `dsa scan` (lineage on, the default) into a new catalog: every view parsed
  rescan             `dsa scan` again into that catalog: views unchanged since, resolutions reused
  lint               `dsa lint` of the scanned source (its implied-FK orphan queries included)

and prints lineage's share (scan / scan-no-lineage - 1, target <= 50%) for the first scan and the
rescan, and lint / scan (target < 1). Medians of --repeats, the commands taking turns in each
repeat. The machine may be shared: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scan_postgres as base  # noqa: E402  (a sibling script, not a package)

ROOT = Path(__file__).resolve().parents[2]
DB = "dsa_bench_lineage"
SCHEMA = base.SCHEMA


def view_sql(i: int, tables: int) -> str:
    """The i-th view's query, one of eight shapes, over tables spread across the schema."""
    a, b = f"{SCHEMA}.t{(i * 2) % tables:05d}", f"{SCHEMA}.t{(i * 2 + 1) % tables:05d}"
    shape = i % 8
    if shape == 0:
        return f"SELECT id, code, amount FROM {a} WHERE active"
    if shape == 1:
        return (f"SELECT x.id, x.code, y.name AS parent_name, x.amount + y.amount AS total "
                f"FROM {a} x JOIN {b} y ON x.parent_id = y.id")
    if shape == 2:
        return (f"WITH daily AS (SELECT day, sum(amount) AS amount, count(*) AS n FROM {a} GROUP BY day) "
                f"SELECT day, amount, n FROM daily WHERE n > 1")
    if shape == 3:
        return f"SELECT * FROM {a}"
    if shape == 4:
        return f"SELECT id, code FROM {a} UNION ALL SELECT id, code FROM {b}"
    if shape == 5:
        return (f"SELECT s.id, s.big FROM (SELECT id, qty * 2 AS big FROM {a} WHERE qty > 0) s "
                f"WHERE s.id IN (SELECT parent_id FROM {b})")
    if shape == 6:
        return f"SELECT id, code, row_number() OVER (PARTITION BY code ORDER BY created_at) AS rn FROM {a}"
    return f"SELECT id, code FROM {SCHEMA}.v{i - 7:05d} WHERE id > 0"


def add_views(count: int, tables: int):
    def extra(conn) -> None:
        for i in range(count):
            conn.execute(sql.SQL("CREATE VIEW {} AS {}").format(
                sql.Identifier(SCHEMA, f"v{i:05d}"), sql.SQL(view_sql(i, tables))))
            if i % 250 == 249:
                conn.commit()
    return extra


CPU: dict[str, list[float]] = {}  # per command: the CPU seconds of the dsa process and its workers


def timed(args: list[str], env: dict[str, str], label: str = "") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dsa", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"dsa {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", type=int, default=5000)
    ap.add_argument("--views", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    base.build(args.tables, db=DB, marker=f" + {args.views} views (lineage v1)",
               extra=add_views(args.views, args.tables))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "dsa")], check=True, stdout=subprocess.DEVNULL)
    source = f"{{type: postgres, dsn: '{base.dsn(DB)}', include: {{schemas: [{SCHEMA}]}}}}"
    plain, lineage, rescan, lint = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="dsa-bench-lineage-") as tmp:
        work = Path(tmp)
        on, off = work / "on.yaml", work / "off.yaml"
        on.write_text(f"sources:\n  bench: {source}\n")
        off.write_text(f"lineage: {{enabled: false}}\nsources:\n  bench: {source}\n")

        def env(config: Path, store: str) -> dict[str, str]:
            return {**os.environ, "PYTHONPATH": str(ROOT), "DSA_CONFIG": str(config), "DSA_STORE": str(work / store)}

        timed(["scan", "bench"], env(on, "warm"))  # the server's catalog caches, the page cache
        for i in range(args.repeats):
            plain.append(timed(["scan", "bench"], env(off, f"off{i}"), "scan, no lineage"))
            lineage.append(timed(["scan", "bench"], env(on, f"on{i}"), "scan (with lineage)"))
            rescan.append(timed(["scan", "bench"], env(on, f"on{i}"), "rescan"))
            lint.append(timed(["lint", "bench"], env(on, f"on{i}"), "lint"))
    off_s, on_s, again_s, lint_s = (statistics.median(x) for x in (plain, lineage, rescan, lint))
    share, again = on_s / off_s - 1, again_s / off_s - 1
    print(f"\n{args.tables} tables, {args.views} views; medians of {args.repeats} (shared machine)")
    cpu = {name: statistics.median(v) for name, v in CPU.items()}
    print(f"{'command':<22}{'seconds':>9}{'CPU s':>9}   (CPU: the dsa process and its workers, user + system)")
    for name, value in (("scan, no lineage", off_s), ("scan (with lineage)", on_s), ("rescan", again_s),
                        ("lint", lint_s)):
        print(f"{name:<22}{value:>9.3f}{cpu[name]:>9.3f}")
    base_cpu = cpu["scan, no lineage"]
    print(f"in CPU time: lineage adds {(cpu['scan (with lineage)'] / base_cpu - 1) * 100:.0f}% to a first scan, "
          f"{(cpu['rescan'] / base_cpu - 1) * 100:.0f}% to a rescan; lint / scan {cpu['lint'] / cpu['scan (with lineage)']:.2f} "
          "(the server's own work is in neither)")
    print(f"lineage adds {share * 100:.0f}% to a first scan (target <= 50%): {'ok' if share <= 0.5 else 'MISSED'}")
    print(f"lineage adds {again * 100:.0f}% to a rescan, views unchanged (target <= 50%): "
          f"{'ok' if again <= 0.5 else 'MISSED'}")
    print(f"lint / scan = {lint_s / on_s:.2f} (target < 1): {'ok' if lint_s < on_s else 'MISSED'}")
    sys.exit(0 if share <= 0.5 and again <= 0.5 and lint_s < on_s else 1)


if __name__ == "__main__":
    main()
