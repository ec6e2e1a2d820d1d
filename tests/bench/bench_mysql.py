"""Benchmark: the mysql connector on MariaDB with 2,000 tables x 12 columns, keys and indexes.

Contenders, each timed in the same run (median of REPEATS):
  raw:        the connector's own bulk information_schema queries (queries/mysql/*.sql) run with
              a bare PyMySQL cursor, rows fetched, nothing else (the floor);
  dsa scan:   the `dsa scan` command in a subprocess (start-up, queries, normalization, writing
              the run) and, for reference, the same scan in process;
  inspector:  a per-table SQLAlchemy Inspector loop (pymysql dialect): columns, primary key,
              foreign keys, indexes and unique constraints of every table.
Targets: dsa scan <= 2x raw; inspector >= 10x dsa scan.

The database `dsa_bench_conn_2000` is built once on the server at 127.0.0.1:3306 and reused;
`--drop` removes it.

    PYTHONPATH=. python tests/bench/bench_mysql.py [--repeats N] [--drop]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymysql

DB = "dsa_bench_conn_2000"
TABLES = 2000
REPEATS = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 5
SERVER = dict(host="127.0.0.1", port=3306, user="root", password="")
QUERIES = ("schemas", "tables", "columns", "constraints", "indexes", "checks", "partitions", "views", "references")


def admin():
    return pymysql.connect(**SERVER, autocommit=True)


def build() -> None:
    con = admin()
    with con.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (DB,))
        if cur.fetchone()[0] == TABLES:
            return
        cur.execute(f"DROP DATABASE IF EXISTS `{DB}`")
        cur.execute(f"CREATE DATABASE `{DB}`")
        cur.execute(f"USE `{DB}`")
        started = time.perf_counter()
        for i in range(TABLES):
            parent = f", CONSTRAINT fk_t{i:04d} FOREIGN KEY (parent_id) REFERENCES t{i - 1:04d} (id)" if i else ""
            cur.execute(
                f"CREATE TABLE t{i:04d} ("
                " id INT UNSIGNED NOT NULL AUTO_INCREMENT, parent_id INT UNSIGNED NULL, code VARCHAR(32) NOT NULL,"
                " name VARCHAR(100), amount DECIMAL(12,2) DEFAULT 0, qty INT NOT NULL DEFAULT 1, ratio DOUBLE,"
                " status ENUM('new','done') DEFAULT 'new', created_at DATETIME NOT NULL, updated_at TIMESTAMP NULL,"
                " note TEXT, flag BOOLEAN DEFAULT FALSE,"
                f" PRIMARY KEY (id), UNIQUE KEY uq_code_t{i:04d} (code), KEY ix_name_t{i:04d} (name, created_at){parent}"
                ") ENGINE=InnoDB")
        print(f"built {TABLES} tables in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    con.close()


def raw() -> float:
    from dsa import queries
    from dsa.connectors.mysql import COLUMNS_PER_ROW, GROUP_CONCAT_MAX_LEN

    con = pymysql.connect(**SERVER, database=DB)
    params = {"database": DB, "schemas": [DB], "columns_per_row": COLUMNS_PER_ROW}
    start = time.perf_counter()
    with con.cursor() as cur:
        cur.execute("SET SESSION group_concat_max_len = %s", (GROUP_CONCAT_MAX_LEN,))  # as the connector does
        for name in QUERIES:
            cur.execute(queries.text(f"mysql/{name}"), params)
            cur.fetchall()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def dsa_cli(tmp: Path) -> float:
    config = tmp / "dsa.yaml"
    config.write_text(f"sources:\n  bench: {{type: mysql, dsn: 'mysql://root@127.0.0.1:3306/{DB}'}}\n")
    env = {**os.environ, "DSA_CONFIG": str(config), "DSA_STORE": str(tmp / "store")}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dsa", "scan", "bench"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stderr + out.stdout
    return elapsed


def dsa_in_process(tmp: Path) -> float:
    from dsa.config import Config, parse_source
    from dsa.scan import scan
    from dsa.store import Store

    store = Store(tmp / "store_inproc")
    config = Config(sources={"bench": parse_source("bench", {"type": "mysql", "dsn": f"mysql://root@127.0.0.1:3306/{DB}"})})
    start = time.perf_counter()
    result = scan(store, config, "bench")
    elapsed = time.perf_counter() - start
    assert result.status == "success" and result.table_count == TABLES and result.column_count == TABLES * 12
    return elapsed


def inspector() -> float:
    import sqlalchemy as sa

    engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{DB}")
    start = time.perf_counter()
    insp = sa.inspect(engine)
    n = 0
    for table in insp.get_table_names(schema=DB):
        n += len(insp.get_columns(table, schema=DB))
        insp.get_pk_constraint(table, schema=DB)
        insp.get_foreign_keys(table, schema=DB)
        insp.get_indexes(table, schema=DB)
        insp.get_unique_constraints(table, schema=DB)
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert n == TABLES * 12
    return elapsed


def main() -> None:
    if "--drop" in sys.argv:
        with admin().cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{DB}`")
        return
    build()
    # an installed dsa has its bytecode compiled (pip does it); a checkout under
    # PYTHONDONTWRITEBYTECODE would compile every module on every start
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[2] / "dsa")],
                   check=True, stdout=subprocess.DEVNULL)
    raws, clis, inprocs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        raw(), dsa_in_process(Path(tmp))  # warm the server's table cache for everyone alike
        for _ in range(REPEATS):
            raws.append(raw())
            clis.append(dsa_cli(Path(tmp)))
            inprocs.append(dsa_in_process(Path(tmp)))
    insp = statistics.median([inspector() for _ in range(2)])
    r, c, p = statistics.median(raws), statistics.median(clis), statistics.median(inprocs)
    print(f"mysql: MariaDB, {TABLES} tables x 12 columns, PK + unique + index + FK each")
    print(f"  raw bulk information_schema queries: {r:.3f}s (median of {REPEATS})")
    print(f"  dsa scan command (subprocess):       {c:.3f}s (median of {REPEATS})")
    print(f"  dsa scan in process:                 {p:.3f}s (median of {REPEATS})")
    print(f"  SQLAlchemy Inspector loop:           {insp:.3f}s (median of 2)")
    print(f"  ratio dsa scan command / raw      = {c / r:.2f}x (target <= 2.00x)")
    print(f"  ratio dsa scan in process / raw   = {p / r:.2f}x")
    print(f"  ratio inspector / dsa scan command = {insp / c:.1f}x (target >= 10x)")
    print(f"  ratio inspector / dsa in process  = {insp / p:.1f}x")
    sys.exit(0 if c <= 2 * r and insp >= 10 * c else 1)


if __name__ == "__main__":
    main()
