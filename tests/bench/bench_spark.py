"""Benchmark: dsa's full exact profile of TPC-H lineitem through Spark, against Spark's own work.

    PYTHONPATH=. python tests/bench/bench_spark.py [--repeats 3] [--sf3-repeats 1]

One Spark (`local[2]`, started here in its own process) serves Spark Connect on a local port;
every contender is a fresh client process reading the same Parquet file through it:
  - `dsa quality` as a user runs it (`--sample 100%`: every metric, exact distincts and the
    top 10 of all 16 columns), timed as the command; the catalog scan before it is not timed;
  - Spark's own `DataFrame.summary()` of the table (count, mean, stddev, min, approximate
    quartiles, max: no distincts, no top values);
  - one bare read: `count(*)` plus a hash of every column.
Repeats go round-robin over the contenders (load from other users of the machine falls on
all alike); ratios are of medians. Peak memory: each client process's own (VmHWM), and the
Spark JVM's, which is separate. SF3 (built once with `tpchgen-cli` under /work/benchdata)
shows how dsa's time grows with the data.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("DSA_BENCHDATA", "/work/benchdata"))
SF1 = DATA / "tpch_sf1" / "lineitem.parquet"
SF3 = DATA / "tpch_sf3" / "lineitem.parquet"

SERVER = """
import sys, time
from pyspark.sql import SparkSession
port, token = sys.argv[1], sys.argv[2]
SparkSession.builder.master("local[2]").config(map={
    "spark.api.mode": "classic", "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
    "spark.connect.grpc.binding.port": port, "spark.connect.authenticate.token": token,
    "spark.driver.memory": "4g", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR"}).getOrCreate()
print("ready", flush=True)
sys.stdin.read()
"""


def ensure_data() -> None:
    for sf, path in ((1, SF1), (3, SF3)):
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["flock", str(DATA.parent / "benchdata.lock"), "tpchgen-cli", "parquet", "-s", str(sf),
                            "--tables=lineitem", f"--output-dir={path.parent}"], check=True)


def peak_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _session(remote: str, token: str):
    from pyspark.sql.connect.session import SparkSession

    return SparkSession.builder.remote(f"{remote}/;token={token}").create()


def run_one(name: str, remote: str, token: str, file: str) -> dict:
    """A Spark-side contender, in this (child) process; the clock starts after the imports."""
    session = _session(remote, token)
    started, cpu = time.perf_counter(), time.process_time()
    df = session.read.parquet(file)
    if name == "summary":
        df.summary().collect()
    elif name == "bare_read":
        # as SQL text: pyspark's `functions` module, imported without a remote configured at
        # import time, fails here with a bare AssertionError on a Spark Connect session
        df.selectExpr("count(1)", "sum(hash(*))").collect()
    else:
        raise SystemExit(f"unknown contender {name}")
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "peak_mb": peak_mb()}


def run_dsa(workdir: Path, env: dict) -> dict:
    """`dsa quality bench --sample 100%` as a user runs it, timed as the command; its peak memory
    from wait4 (the command's own process: the Spark JVM is elsewhere)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dsa", "quality", "bench", "--sample", "100%"], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"error": (stderr.strip().splitlines() or ["failed"])[-1]}
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def dsa_workdir(file: Path, remote: str, token: str) -> tuple[Path, dict]:
    """A folder with dsa.yaml naming the Parquet file through Spark, scanned once (not timed)."""
    work = Path(tempfile.mkdtemp(prefix="dsa-bench-spark-"))
    spec = {"type": "spark", "remote": remote, "password": token, "timeout_s": 7200, "connect_timeout_s": 120,
            "paths": [{"path": str(file), "name": "lineitem"}]}
    (work / "dsa.yaml").write_text(f"sources:\n  bench: {json.dumps(spec)}\nquality: {{timeout_s: 7200, top_k: 10}}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DSA_STORE": str(work / "store"), "DSA_CONFIG": str(work / "dsa.yaml")}
    out = subprocess.run([sys.executable, "-m", "dsa", "scan", "bench"], cwd=work, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"dsa scan failed: {out.stderr.strip()}")
    return work, env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", nargs=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sf3-repeats", type=int, default=1)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(*args.run)))
        return
    ensure_data()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    remote = f"sc://localhost:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), token], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout.readline().strip() == "ready", "the Spark server did not start"
        import psutil

        jvm = next(p for p in psutil.Process(server.pid).children(recursive=True) if "java" in p.name())
        print(f"Spark local[2] serving Spark Connect on port {port} (JVM pid {jvm.pid}); shared machine: "
              f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
        sf1_work, sf1_env = dsa_workdir(SF1, remote, token)
        # one untimed read first: the server's JVM compiles its hot code on the first job, which
        # would otherwise be charged to whichever contender runs first
        subprocess.run([sys.executable, __file__, "--run", "bare_read", remote, token, str(SF1)], capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
        runs: dict[str, list[dict]] = {"dsa_quality": [], "summary": [], "bare_read": []}
        for _ in range(args.repeats):
            for name in runs:
                if name == "dsa_quality":
                    got = run_dsa(sf1_work, sf1_env)
                else:
                    out = subprocess.run([sys.executable, __file__, "--run", name, remote, token, str(SF1)],
                                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
                    got = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else \
                        {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
                if "error" in got:
                    raise SystemExit(f"{name} failed: {got['error']}")
                runs[name].append(got)
                print(f"  {name:12s} {got['seconds']:8.2f} s  peak {got['peak_mb']:6.0f} MB", flush=True)
        med = {name: statistics.median(r["seconds"] for r in got) for name, got in runs.items()}
        sf3_work, sf3_env = dsa_workdir(SF3, remote, token)
        sf3 = [run_dsa(sf3_work, sf3_env) for _ in range(args.sf3_repeats)]
        if any("error" in r for r in sf3):
            raise SystemExit(f"SF3 failed: {sf3}")
        sf3_med = statistics.median(r["seconds"] for r in sf3)
        print(f"\nTPC-H lineitem SF1 ({len(runs['dsa_quality'])} runs each, medians):")
        for name, seconds in med.items():
            print(f"  {name:12s} {seconds:8.2f} s  peak {max(r['peak_mb'] for r in runs[name]):6.0f} MB (client process)")
        speedup = med["summary"] / med["dsa_quality"]
        slowdown = med["dsa_quality"] / med["bare_read"]
        print(f"summary() / dsa quality: {speedup:.2f}x  (target >= 2: {'met' if speedup >= 2 else 'MISSED'})")
        print(f"dsa quality / bare read: {slowdown:.2f}x  (target <= 4: {'met' if slowdown <= 4 else 'MISSED'})")
        dsa_peak = max(r["peak_mb"] for r in runs["dsa_quality"] + sf3)
        print(f"dsa process peak: {dsa_peak:.0f} MB (target < 500: {'met' if dsa_peak < 500 else 'MISSED'}); "
              f"Spark JVM peak: {peak_mb(jvm.pid):.0f} MB")
        print(f"SF3: dsa quality {sf3_med:.2f} s = {sf3_med / med['dsa_quality']:.2f}x SF1 for 3x the rows "
              f"({len(sf3)} run(s)); load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        server.stdin.close()
        server.wait(timeout=120)


if __name__ == "__main__":
    main()
