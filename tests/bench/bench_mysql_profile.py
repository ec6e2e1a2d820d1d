"""Benchmark: `dsa quality` on a 2.7M-row MariaDB table against one hand-written aggregate.

    PYTHONPATH=. python tests/bench/bench_mysql_profile.py [--repeats 3]

Data (built once, kept in the server, never in git): database `dsa_bench_mysql_profile`, table
`salaries` shaped like the employees sample schema's (emp_no, salary, from_date, to_date, primary
key (emp_no, from_date)) plus a text column, 2,700,000 rows made with MariaDB's `seq_0_to_N`
sequence table. Built under an exclusive lock on /work/benchdata.lock, so two runs never build it
at once.

Contenders, each timed as a process, round-robin over `--repeats`:
  - aggregate: one statement of count, nulls, count(DISTINCT), min and max of every column (the
    pymysql client in a fresh Python, the time a user would wait for it);
  - full:      `dsa quality` with `--sample 100%` (the exact profile);
  - sample:    `dsa quality` with `--sample 10%`.
Printed: the medians and the ratios full / aggregate (target < 1) and full / sample (target >= 4).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parents[2]
HOST, PORT, USER = "127.0.0.1", int(os.environ.get("DSA_TEST_MYSQL_PORT", "3306")), "root"
DB, TABLE, ROWS = "dsa_bench_mysql_profile", "salaries", 2_700_000
LOCK = Path(os.environ.get("DSA_BENCHDATA_LOCK", "/work/benchdata.lock"))
COLUMNS = ("emp_no", "salary", "from_date", "to_date", "title")

BUILD = [
    f"CREATE DATABASE IF NOT EXISTS {DB}",
    f"USE {DB}",  # the seq_ tables are found in the current database
    f"CREATE TABLE {DB}.{TABLE}_new (emp_no INT NOT NULL, salary INT NOT NULL, from_date DATE NOT NULL, "
    "to_date DATE NOT NULL, title VARCHAR(40), PRIMARY KEY (emp_no, from_date)) ENGINE=InnoDB",
    # nine salary rows per employee, a year apart; titles repeat, a quarter of them missing
    f"INSERT INTO {DB}.{TABLE}_new SELECT 10001 + seq DIV 9, 38000 + (seq * 7919) % 90000, "
    "DATE '1985-01-01' + INTERVAL ((seq DIV 9) % 3000) DAY + INTERVAL (seq % 9) YEAR, "
    "DATE '1986-01-01' + INTERVAL ((seq DIV 9) % 3000) DAY + INTERVAL (seq % 9) YEAR, "
    "CASE WHEN seq % 4 = 0 THEN NULL ELSE ELT(1 + seq % 7, 'Engineer', 'Senior Engineer', 'Staff', "
    "'Senior Staff', 'Assistant Engineer', 'Technique Leader', 'Manager') END "
    f"FROM seq_0_to_{ROWS - 1}",
    f"ANALYZE TABLE {DB}.{TABLE}_new",
    f"RENAME TABLE {DB}.{TABLE}_new TO {DB}.{TABLE}",
]


def ensure_data() -> None:
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = pymysql.connect(host=HOST, port=PORT, user=USER, autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                        (DB, TABLE))
            if cur.fetchone()[0]:
                return
            cur.execute(f"DROP TABLE IF EXISTS {DB}.{TABLE}_new")
            for statement in BUILD:
                cur.execute(statement)
        conn.close()


def aggregate_sql() -> str:
    parts = ["count(*)"]
    for c in COLUMNS:
        parts += [f"count(*) - count({c})", f"count(DISTINCT {c})", f"min({c})", f"max({c})"]
    return f"SELECT {', '.join(parts)} FROM {DB}.{TABLE}"


AGGREGATE = f"""
import pymysql
conn = pymysql.connect(host={HOST!r}, port={PORT}, user={USER!r})
with conn.cursor() as cur:
    cur.execute({aggregate_sql()!r})
    cur.fetchall()
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=env["BENCH_DIR"], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ensure_data()
    work = Path(tempfile.mkdtemp(prefix="bench_mysql_profile_"))
    (work / "dsa.yaml").write_text(
        f"sources:\n  emp:\n    type: mysql\n    dsn: mysql://{USER}@{HOST}:{PORT}/{DB}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DIR": str(work)}
    dsa = [sys.executable, "-m", "dsa"]
    timed(dsa + ["scan", "emp"], env)
    contenders = {
        "aggregate": [sys.executable, "-c", AGGREGATE],
        "full": dsa + ["quality", "emp", "--sample", "100%"],
        "sample": dsa + ["quality", "emp", "--sample", "10%"],
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, argv in contenders.items():
            times[name].append(timed(argv, env))
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:9s} median {med[name]:7.2f} s  ({', '.join(f'{x:.2f}' for x in t)})")
    print(f"full profile / aggregate = {med['full'] / med['aggregate']:.2f}  (target < 1)")
    print(f"full profile / 10% sample = {med['full'] / med['sample']:.2f}  (target >= 4)")


if __name__ == "__main__":
    main()
