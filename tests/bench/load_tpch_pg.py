"""Load TPC-H lineitem (Parquet under /work/benchdata) into the Postgres database `dsa_bench_quality`, once.

Run by bench_quality.py when the table is missing; a CSV is streamed through COPY.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import psycopg

DDL = """
CREATE TABLE lineitem (
    l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber integer,
    l_quantity numeric(15,2), l_extendedprice numeric(15,2), l_discount numeric(15,2), l_tax numeric(15,2),
    l_returnflag char(1), l_linestatus char(1), l_shipdate date, l_commitdate date, l_receiptdate date,
    l_shipinstruct varchar(25), l_shipmode varchar(10), l_comment varchar(44)
)
"""


def load(parquet: Path, admin_dsn: str, database: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    dsn = admin_dsn.rsplit("/", 1)[0] + "/" + database
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('public.lineitem')").fetchone()[0]:
            return
        conn.execute(DDL)
        csv = parquet.with_suffix(".csv")
        if not csv.exists():
            duckdb.sql(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{csv}' (HEADER false)")
        with conn.cursor().copy("COPY lineitem FROM STDIN (FORMAT csv)") as copy, open(csv, "rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE lineitem")


if __name__ == "__main__":
    load(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
