"""Benchmark: 30 checks over 10 columns of TPC-H lineitem SF1 in Postgres, dsa against Soda Core and GX.

    PYTHONPATH=. python tests/bench/bench_checks.py [--repeats 3] [--skip-soda] [--skip-gx] [--skip-quality]

The checks: row count; missing counts on 10 columns; duplicate counts on l_orderkey, l_partkey and
l_comment; min/max bounds on 7 numeric columns; two date ranges. Contenders, all timed as
processes in this one invocation, round-robin over the repeats:

- `dsa check` (failing samples included, as always);
- Soda Core 3.5 (`soda scan`, soda-core-postgres from PyPI) with its default failing-row samples,
  and with samples off (`samples limit: 0` on every check). Soda lives in its own virtualenv
  (/work/benchdata/venv-soda) so it never touches dsa's dependencies;
- Great Expectations 1.x (`gx_checks.py`: the same checks as expectations, its default result
  format), from its own virtualenv too (/work/benchdata/venv-gx); no target, measured for reference;
- `dsa quality` of the table with and without checks attached.

Printed: median wall seconds per contender and the ratios against their targets (dsa check at
least 2x faster than Soda's default, no slower than Soda without samples; quality with checks at
most 1.15x without). The data is `tests/bench/bench_quality.py`'s (`ensure_data`).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from bench_quality import DATA, PG_DB, PG_DSN, ROOT, ensure_data  # noqa: E402

SODA = DATA / "venv-soda" / "bin" / "soda"
GX = DATA / "venv-gx" / "bin" / "python"
LOCK = Path(str(DATA) + ".lock")
NOT_NULL = ["l_orderkey", "l_partkey", "l_suppkey", "l_quantity", "l_extendedprice", "l_discount", "l_tax",
            "l_shipdate", "l_receiptdate", "l_comment"]
UNIQUE = ["l_orderkey", "l_partkey", "l_comment"]
BOUNDS = {"l_orderkey": (1, 6000000), "l_partkey": (1, 200000), "l_suppkey": (1, 10000), "l_quantity": (1, 50),
          "l_extendedprice": (900, 105000), "l_discount": (0, 0.1), "l_tax": (0, 0.08)}
DATES = {"l_shipdate": ("1992-01-01", "1998-12-31"), "l_receiptdate": ("1992-01-01", "1998-12-31")}


def dsa_checks() -> list[str]:
    checks = ["row_count > 0"]
    checks += [f"missing_count({c}) = 0" for c in NOT_NULL]
    checks += [f"duplicate_count({c}) = 0" for c in UNIQUE]
    for c, (low, high) in BOUNDS.items():
        checks += [f"min({c}) >= {low}", f"max({c}) <= {high}"]
    checks += [f"invalid_count({c}) = 0 between '{a}' and '{b}'" for c, (a, b) in DATES.items()]
    assert len(checks) == 30
    return checks


def soda_checks(samples: bool) -> str:
    """The same 30 checks in SodaCL."""
    extra = {} if samples else {"samples limit": 0}

    def check(text: str, **config) -> dict | str:
        config = {**config, **extra}
        return {text: config} if config else text

    checks = [check("row_count > 0")]
    checks += [check(f"missing_count({c}) = 0") for c in NOT_NULL]
    checks += [check(f"duplicate_count({c}) = 0") for c in UNIQUE]
    for c, (low, high) in BOUNDS.items():
        checks += [check(f"min({c}) >= {low}"), check(f"max({c}) <= {high}")]
    for c, (a, b) in DATES.items():  # Soda's valid min/max take numbers only: an expression metric
        outside = f"SUM(CASE WHEN {c} < DATE '{a}' OR {c} > DATE '{b}' THEN 1 ELSE 0 END)"
        checks.append(check(f"{c}_outside_range = 0", **{f"{c}_outside_range expression": outside}))
    assert len(checks) == 30
    return yaml.safe_dump({"checks for lineitem": checks}, sort_keys=False)


def write_files(folder: Path) -> dict[str, list[str]]:
    """Config files of every contender, and their command lines."""
    dsa_yaml = {"sources": {"bench": {"type": "postgres", "dsn": PG_DSN, "include": {"tables": ["lineitem"]},
                                      "timeout_s": 3600}},
                "quality": {"timeout_s": 3600}}
    with_checks = {**dsa_yaml, "checks": [{"source": "bench", "table": "lineitem", "checks": dsa_checks()}]}
    (folder / "plain.yaml").write_text(yaml.safe_dump(dsa_yaml))
    (folder / "checks.yaml").write_text(yaml.safe_dump(with_checks))
    host = PG_DSN.split("@", 1)[1].split("/", 1)[0]
    # Soda reads ~/.soda/config.yml: its own HOME here, with usage telemetry off (no network wait)
    (folder / ".soda").mkdir(exist_ok=True)
    (folder / ".soda" / "config.yml").write_text("send_anonymous_usage_stats: false\n")
    soda_config = {f"data_source {PG_DB}": {"type": "postgres", "host": host.split(":")[0], "port": host.split(":")[1],
                                          "username": "postgres", "password": "", "database": PG_DB, "schema": "public"}}
    (folder / "soda.yml").write_text(yaml.safe_dump(soda_config))
    (folder / "soda_samples.yml").write_text(soda_checks(True))
    (folder / "soda_no_samples.yml").write_text(soda_checks(False))
    gx_spec = {"url": f"postgresql+psycopg2://postgres@{host}/{PG_DB}", "not_null": NOT_NULL, "unique": UNIQUE,
               "bounds": BOUNDS, "dates": DATES}
    dsa = [sys.executable, "-m", "dsa", "--store", str(folder / "store")]
    soda = [str(SODA), "scan", "-d", PG_DB, "-c", str(folder / "soda.yml")]
    return {
        "dsa check": [*dsa, "--config", str(folder / "checks.yaml"), "check", "bench"],
        "soda default": [*soda, str(folder / "soda_samples.yml")],
        "soda no samples": [*soda, str(folder / "soda_no_samples.yml")],
        "gx": [str(GX), str(Path(__file__).parent / "gx_checks.py"), json.dumps(gx_spec)],
        # the whole table (no sample): a sampled profile cannot stand in for exact check values
        "dsa quality": [*dsa, "--config", str(folder / "plain.yaml"), "quality", "bench", "--sample", "100%"],
        "dsa quality + checks": [*dsa, "--config", str(folder / "checks.yaml"), "quality", "bench", "--sample", "100%"],
    }


def timed(argv: list[str], home: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false",
           **({"HOME": str(home)} if "soda" in argv[0] else {})}
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 5, 2) or (done.returncode == 2 and "soda" not in argv[0]) or (
            "gx_checks.py" in argv[1:2] and done.returncode != 0):
        sys.exit(f"{' '.join(argv[-3:])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-soda", action="store_true")
    parser.add_argument("--skip-gx", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    with open(LOCK, "w") as lock:  # the shared data is built by one process at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_data(pg=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        commands = write_files(folder)
        subprocess.run([sys.executable, "-m", "dsa", "--store", str(folder / "store"), "--config",
                        str(folder / "plain.yaml"), "scan", "bench"], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        names = ["dsa check"]
        if not args.skip_soda:
            if not SODA.exists():
                sys.exit(f"no Soda at {SODA}: python -m venv {SODA.parents[1]} && "
                         f"{SODA.parent}/pip install soda-core-postgres==3.5.6")
            names += ["soda default", "soda no samples"]
        if not args.skip_gx:
            if not GX.exists():
                sys.exit(f"no Great Expectations at {GX}: python -m venv {GX.parents[1]} && "
                         f"{GX.parent}/pip install 'great_expectations>=1,<2' psycopg2-binary")
            names.append("gx")
        if not args.skip_quality:
            names += ["dsa quality", "dsa quality + checks"]
        times: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.repeats):
            for name in names:
                times[name].append(timed(commands[name], folder))
                print(f"  round {r + 1}: {name}: {times[name][-1]:.1f}s", flush=True)
    median = {n: statistics.median(t) for n, t in times.items()}
    print(f"\nmedians of {args.repeats} (shared machine: load from other users shifts every figure)")
    for name, m in median.items():
        print(f"  {name:22} {m:7.1f}s")
    if "soda default" in median:
        print(f"soda default / dsa check:    {median['soda default'] / median['dsa check']:.2f}x  (target >= 2)")
        print(f"soda no samples / dsa check: {median['soda no samples'] / median['dsa check']:.2f}x  (target >= 1)")
    if "gx" in median:
        print(f"gx / dsa check:              {median['gx'] / median['dsa check']:.2f}x  (no target)")
    if "dsa quality" in median:
        print(f"quality with / without checks: {median['dsa quality + checks'] / median['dsa quality']:.2f}x  (target <= 1.15)")


if __name__ == "__main__":
    main()
