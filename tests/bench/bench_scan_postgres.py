"""Benchmark: `dsa scan` of a 5,000-table Postgres schema against the usual ways to read it.

    PYTHONPATH=. python tests/bench/bench_scan_postgres.py [--tables 5000] [--repeats 3]

Builds (once; reused while its marker comment matches) database `dsa_bench_scan` with schema
`bench`: N tables x 12 columns, each with a primary key and one extra index, and a foreign key
on every other table. Then times, in this one run:

  dsa scan      the whole command in a subprocess (start-up, extraction, catalog writing)
  raw queries   the connector's five bulk catalog queries alone (connect, execute, fetch)
  pg_dump       pg_dump --schema-only -n bench
  reflect()     SQLAlchemy MetaData.reflect(schema="bench")
  inspector     a per-table SQLAlchemy Inspector loop (columns, pk, fks, indexes, uniques)

and prints each ratio against `dsa scan` and the dsa process's peak RSS. Medians of --repeats
for the cheap contenders; the Inspector loop runs once (it takes minutes).
Needs the `bench` extra (sqlalchemy, psutil). Server: DSA_BENCH_PG (default postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("DSA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "dsa_bench_scan"
SCHEMA = "bench"
TARGETS = {"pg_dump": 1.0, "reflect()": 4.0, "inspector": 15.0}


def dsn(db: str) -> str:
    return f"{SERVER}/{db}"


def build(tables: int, db: str = DB, marker: str = "", extra=None) -> None:
    """Database `db` with the benchmark's tables; `extra(conn)` adds more (another benchmark's
    objects, told apart by its `marker`)."""
    marker = f"dsa bench v1: {tables} tables x 12 columns{marker}"
    with psycopg.connect(dsn("postgres"), autocommit=True) as admin:
        row = admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [db]).fetchone()
        if row and row[0] == marker:
            print(f"reusing database {db} ({marker})")
            return
        print(f"building database {db}: {marker} ...", flush=True)
        started = time.perf_counter()
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    with psycopg.connect(dsn(db)) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        for start in range(0, tables, 250):
            for i in range(start, min(start + 250, tables)):
                t = sql.Identifier(SCHEMA, f"t{i:05d}")
                conn.execute(sql.SQL(
                    "CREATE TABLE {} (id bigint PRIMARY KEY, parent_id bigint, code varchar(40) NOT NULL, "
                    "name text, amount numeric(12,2) DEFAULT 0, qty integer, ratio double precision, "
                    "active boolean DEFAULT true, created_at timestamptz NOT NULL DEFAULT now(), "
                    "day date, payload jsonb, note varchar(200))").format(t))
                conn.execute(sql.SQL("CREATE INDEX {} ON {} (code)").format(sql.Identifier(f"t{i:05d}_code_idx"), t))
                if i % 2 == 1:
                    conn.execute(sql.SQL("ALTER TABLE {} ADD FOREIGN KEY (parent_id) REFERENCES {} (id)").format(
                        t, sql.Identifier(SCHEMA, f"t{i - 1:05d}")))
            conn.commit()
        if extra:
            extra(conn)
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(db), sql.Literal(marker)))
        conn.commit()
    with psycopg.connect(dsn(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"built in {time.perf_counter() - started:.0f}s")


def time_dsa_scan(workdir: Path) -> tuple[float, int, str]:
    """Wall time and peak RSS (bytes) of one `python -m dsa scan` process."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "dsa.yaml"
    config.write_text(f"sources:\n  bench: {{type: postgres, dsn: '{dsn(DB)}', include: {{schemas: [{SCHEMA}]}}}}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DSA_CONFIG": str(config), "DSA_STORE": str(workdir / "store")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dsa", "scan", "bench"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait4 gives this child's own rusage (ru_maxrss in KiB on Linux)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"dsa scan failed ({proc.returncode}): {err.strip()}")
    return elapsed, usage.ru_maxrss * 1024, out.strip()


def time_startup(workdir: Path) -> float:
    """The interpreter and the imports a `dsa scan` needs before it sends its first query (the
    launcher reads the config and starts the reading before Typer, Rich and Polars load)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DSA_STORE": str(workdir / "store")}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", STARTUP_IMPORTS], env=env, check=True)
    return time.perf_counter() - started


STARTUP_IMPORTS = "import dsa.launch, dsa.settings, dsa.sources, dsa.scan, dsa.connectors.postgres"


def time_raw_queries() -> float:
    from dsa import queries

    started = time.perf_counter()
    # the connector's session settings (jit=off matters), one session, rows fetched, nothing else
    with psycopg.connect(dsn(DB), autocommit=True, options="-c default_transaction_read_only=on -c jit=off") as conn:
        for name in ("schemas", "tables", "columns", "constraints", "indexes"):
            conn.execute(queries.text(f"postgres/{name}")).fetchall()
    return time.perf_counter() - started


def time_pg_dump() -> float:
    started = time.perf_counter()
    subprocess.run(["pg_dump", "--schema-only", "-n", SCHEMA, "-d", dsn(DB)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _engine():
    import sqlalchemy as sa

    return sa.create_engine(dsn(DB).replace("postgresql://", "postgresql+psycopg://"))


def time_reflect() -> float:
    import sqlalchemy as sa

    engine = _engine()
    started = time.perf_counter()
    meta = sa.MetaData()
    meta.reflect(bind=engine, schema=SCHEMA)
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert len(meta.tables) > 0
    return elapsed


def time_inspector() -> float:
    import sqlalchemy as sa

    engine = _engine()
    started = time.perf_counter()
    insp = sa.inspect(engine)
    for table in insp.get_table_names(schema=SCHEMA):
        insp.get_columns(table, schema=SCHEMA)
        insp.get_pk_constraint(table, schema=SCHEMA)
        insp.get_foreign_keys(table, schema=SCHEMA)
        insp.get_indexes(table, schema=SCHEMA)
        insp.get_unique_constraints(table, schema=SCHEMA)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-inspector", action="store_true", help="skip the slow per-table loop")
    args = ap.parse_args()
    build(args.tables)
    # an installed dsa has its bytecode compiled (pip does it); a checkout under
    # PYTHONDONTWRITEBYTECODE would compile every module on every start
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "dsa")], check=True, stdout=subprocess.DEVNULL)

    scans, rss, summary, inner = [], [], "", []
    raw, dumps, reflects, startups = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="dsa-bench-") as tmp:
        time_dsa_scan(Path(tmp) / "warm")  # warm the server's catalog caches and the OS page cache
        for i in range(args.repeats):
            work = Path(tmp) / f"run{i}"
            elapsed, peak, summary = time_dsa_scan(work)
            scans.append(elapsed)
            rss.append(peak)
            inner.append(float(re.search(r" in ([0-9.]+)s", summary).group(1)))  # the scan's own timing
            startups.append(time_startup(work))
            raw.append(time_raw_queries())
            dumps.append(time_pg_dump())
            reflects.append(time_reflect())
    inspector = None if args.skip_inspector else time_inspector()

    scan = statistics.median(scans)
    print(f"\ndsa scan output: {summary}")
    print(f"{'contender':<14}{'seconds':>10}   {'ratio':<26}target")
    print(f"{'dsa scan':<14}{scan:>10.3f}")
    rows = [("raw queries", statistics.median(raw)), ("pg_dump", statistics.median(dumps)),
            ("reflect()", statistics.median(reflects))]
    if inspector is not None:
        rows.append(("inspector", inspector))
    ok = True
    for name, seconds in rows:
        ratio = seconds / scan
        if name == "raw queries":
            target, met = "dsa scan <= 2x raw", scan <= 2 * seconds
            shown = f"dsa scan = {scan / seconds:.2f}x raw"
        else:
            target = f"dsa scan >= {TARGETS[name]:g}x faster" if name != "pg_dump" else "dsa scan faster"
            met = ratio >= TARGETS[name] and (name != "pg_dump" or ratio > 1)
            shown = f"{ratio:.2f}x dsa scan's time"
        ok &= met
        print(f"{name:<14}{seconds:>10.3f}   {shown:<26}{target}: {'ok' if met else 'MISSED'}")
    startup, own = statistics.median(startups), statistics.median(inner)
    print(f"\nof which interpreter + imports before the first query: {startup:.3f}s (python -c '{STARTUP_IMPORTS}')")
    print(f"the scan's own timing (connect, queries, normalize, write; printed by dsa scan): {own:.3f}s "
          f"= {own / statistics.median(raw):.2f}x raw queries")
    peak = max(rss)
    ok &= peak < 500 * 2**20
    print(f"dsa peak RSS: {peak / 2**20:.0f} MB (target < 500 MB) {'ok' if peak < 500 * 2**20 else 'MISSED'}")
    print(f"(medians of {args.repeats} runs; inspector loop run once)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
