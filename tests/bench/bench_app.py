"""Benchmark: every app page on a large catalog, in headless Chromium (the browser test's method).

Catalog: 10,000 tables and 100,000 columns per scan, 30 runs (25 scans with 1% of columns
changed each time, and 5 quality runs with a profile of every column and 3 top values for
every tenth column), synthesized through the store into /work/benchdata/app_store (built once,
reused; delete the folder to rebuild).

`dsa app` runs as its own process; Debian's /usr/bin/chromium (driven by Playwright) opens each
page in a fresh browser context and the clock runs from navigation until the page is fully
rendered: the script finished (no "Running" indicator), no skeleton or spinner left, every chart
drawn. Then selection changes on a rendered page: a table picked among 10,001 options in the
Quality page's select box, and in Explore. Median of --repeats (default 3). Afterwards the app
process's resident memory. Targets: page 2 s, selection 0.5 s, memory 500 MB.

For scale, the same clock on a bare Streamlit page (a title, nothing else) served by its own
server on this machine at the same time: what loading Streamlit's page costs here and now, which
no page of the app can go below (on a busy machine it alone can exceed the target). Each page's
time over it is what the page itself adds (its script, what it sends and what the browser draws).

    PYTHONPATH=. python tests/bench/bench_app.py [--repeats N]
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dsa.model import CATALOG_TABLES, COLUMNS, SCHEMAS, TABLES  # noqa: E402
from dsa.store import Store  # noqa: E402

DATA = Path(os.environ.get("DSA_BENCH_DATA", "/work/benchdata/app_store"))
TABLES_N, COLS_PER_TABLE, SCANS, QUALITY = 10_000, 10, 25, 5
CONN = "warehouse"
QUALITY_TABLES = {  # the DESIGN.md columns, used when the quality feature is not installed
    "table_quality_metrics": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                              "table_qualified_name": pl.Utf8, "row_count": pl.Int64, "column_count": pl.Int64,
                              "quality_score": pl.Float64},
    "column_quality_metrics": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                               "table_qualified_name": pl.Utf8, "column_name": pl.Utf8, "total_count": pl.Int64,
                               "null_count": pl.Int64, "null_percentage": pl.Float64, "distinct_count": pl.Int64,
                               "distinct_percentage": pl.Float64, "min_value": pl.Utf8, "max_value": pl.Utf8,
                               "quality_score": pl.Float64},
    "column_top_values": {"run_id": pl.Utf8, "connection": pl.Utf8, "qualified_name": pl.Utf8,
                          "column_qualified_name": pl.Utf8, "rank": pl.Int64, "value": pl.Utf8, "count": pl.Int64},
}
for _name, _schema in QUALITY_TABLES.items():
    CATALOG_TABLES.setdefault(_name, _schema)


def build(store: Store) -> None:
    t = pl.DataFrame({"i": range(TABLES_N)}).with_columns(
        schema_name=pl.format("s{}", pl.col("i") // 1000), table_name=pl.format("t{}", pl.col("i")))
    t = t.with_columns(qualified_name=pl.format(CONN + ".{}.{}", "schema_name", "table_name"))
    c = t.join(pl.DataFrame({"ordinal_position": range(1, COLS_PER_TABLE + 1)}), how="cross").with_columns(
        column_name=pl.format("c{}", "ordinal_position"), table_qualified_name=pl.col("qualified_name"))
    c = c.with_columns(qualified_name=pl.format("{}.{}", "table_qualified_name", "column_name"))
    for scan in range(SCANS):
        with store.begin_run(CONN, "scan") as run:
            changed = (pl.col("i") * 7 + pl.col("ordinal_position") * 13 + scan) % 100 == 0
            cols = c.with_columns(
                run_id=pl.lit(run.run_id), connection=pl.lit(CONN),
                data_type=pl.when(changed).then(pl.lit(f"varchar({100 + scan})")).otherwise(pl.lit("integer")),
                type_family=pl.when(changed).then(pl.lit("string")).otherwise(pl.lit("integer")),
                is_nullable=pl.col("ordinal_position") > 1, is_primary_key=pl.col("ordinal_position") == 1,
                indexes=pl.lit("[]"))
            tabs = t.with_columns(run_id=pl.lit(run.run_id), connection=pl.lit(CONN), table_type=pl.lit("table"),
                                  column_count=pl.lit(COLS_PER_TABLE), primary_key=pl.lit('["c1"]'),
                                  custom_attributes=pl.lit('{"foreign_keys":[],"indexes":[]}'),
                                  schema_qualified_name=pl.format(CONN + ".{}", "schema_name"))
            schemas = tabs.select("schema_name").unique().with_columns(
                run_id=pl.lit(run.run_id), connection=pl.lit(CONN),
                qualified_name=pl.format(CONN + ".{}", "schema_name"))
            run.write("normalized_schemas", schemas.select([k for k in SCHEMAS if k in schemas.columns]))
            run.write("normalized_tables", tabs.select([k for k in TABLES if k in tabs.columns]))
            run.write("normalized_columns", cols.select([k for k in COLUMNS if k in cols.columns]))
            run.counts.update(schema_count=schemas.height, table_count=tabs.height, column_count=cols.height)
        if scan >= SCANS - QUALITY:
            with store.begin_run(CONN, "quality") as run:
                q = c.with_columns(run_id=pl.lit(run.run_id), connection=pl.lit(CONN), total_count=pl.lit(1000),
                                   null_count=((pl.col("i") + scan) * pl.col("ordinal_position")) % 300)
                q = q.with_columns(null_percentage=pl.col("null_count") / 10.0,
                                   distinct_count=(pl.col("i") % 1000) + 1, min_value=pl.lit("0"), max_value=pl.lit("999"))
                q = q.with_columns(distinct_percentage=pl.col("distinct_count") / 10.0,
                                   quality_score=100.0 - pl.col("null_percentage") * 2)
                run.write("column_quality_metrics", q)
                run.write("table_quality_metrics", q.group_by("table_qualified_name").agg(
                    pl.col("quality_score").mean(), pl.len().alias("column_count")).with_columns(
                    run_id=pl.lit(run.run_id), connection=pl.lit(CONN), row_count=pl.lit(1000),
                    qualified_name=pl.col("table_qualified_name")))
                top = q.filter(pl.col("i") % 10 == 0).join(pl.DataFrame({"rank": [1, 2, 3]}), how="cross")
                run.write("column_top_values", top.with_columns(
                    column_qualified_name=pl.col("qualified_name"), value=pl.format("v{}", "rank"),
                    count=(100 // pl.col("rank")).cast(pl.Int64)))


PAGE_TARGET, PICK_TARGET, MEMORY_TARGET_MB = 2.0, 0.5, 500
PAGES = [("Overview", ""), ("Explore", "explore"), ("Explore (deep link to a column)", "explore?schema=s4&table=t4321&column=c3"),
         ("Quality", "quality"), ("Changes", "changes"), ("Runs", "runs"), ("Connections", "connections")]
# finished: the script ran to its end, nothing is still a skeleton, and every chart has drawn
RENDERED = """() => {
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  if (status && status.innerText.includes('Running')) return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"]')) return false;
  if (!document.querySelector('h1')) return false;
  return [...document.querySelectorAll('[data-testid="stVegaLiteChart"], .stVegaLiteChart')]
    .every(c => c.querySelector('canvas, svg'));
}"""


def start_app(port: int, bare: Path | None = None) -> subprocess.Popen:
    """`dsa app` on the catalog, or (`bare`) `streamlit run` of that one-title script."""
    env = {**os.environ, "DSA_STORE": str(DATA), "DSA_CONFIG": str(DATA / "none.yaml"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = ([sys.executable, "-m", "streamlit", "run", str(bare), "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false"] if bare else
           [sys.executable, "-m", "dsa", "app", "--port", str(port)])
    proc = subprocess.Popen([*cmd, "--server.address", "127.0.0.1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the app did not start")


def rss_mb(pid: int) -> float:
    """Resident memory of the app process and its children (Streamlit runs in one process)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    return total / 1024


def rendered(page, since: float) -> float:
    page.wait_for_function(RENDERED, polling=20, timeout=60_000)
    return time.perf_counter() - since


def open_page(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("h1", timeout=60_000)
        return rendered(page, t0)
    finally:
        context.close()


def pick(browser, url: str, label: str, options: list[str]) -> list[float]:
    """Pick each of `options` in the select box `label` of a rendered page: seconds per pick."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    out = []
    try:
        page = context.new_page()
        page.goto(url)
        rendered(page, time.perf_counter())
        for option in options:
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
            box.click()
            page.keyboard.type(option)
            page.get_by_role("option", name=option, exact=True).wait_for()
            t0 = time.perf_counter()
            page.get_by_role("option", name=option, exact=True).click()
            page.wait_for_function(f"() => location.search.includes('table={option}')", polling=20)
            out.append(rendered(page, t0))
    finally:
        context.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bare_page(browser, repeats: int) -> float:
    """Median seconds to a rendered bare Streamlit page (a title only), on its own server."""
    script = DATA / "bare_page.py"
    script.write_text('import streamlit as st\n\nst.title("A bare page")\n')
    port = free_port()
    proc = start_app(port, bare=script)
    try:
        url = f"http://127.0.0.1:{port}"
        open_page(browser, url)
        return statistics.median(open_page(browser, url) for _ in range(repeats))
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 3
    store = Store(DATA)
    if not (DATA / "runs").exists() or store.sync_runs().height != SCANS + QUALITY:
        import shutil

        shutil.rmtree(DATA, ignore_errors=True)
        t0 = time.perf_counter()
        build(store)
        print(f"built {SCANS + QUALITY} runs in {time.perf_counter() - t0:.1f} s at {DATA}")
    (DATA / "none.yaml").write_text("sources: {}\n")
    cols = store.sql("SELECT count(*) FROM latest_column_metadata").item()
    print(f"catalog: {store.sync_runs().height} runs, {cols:,} columns in the newest scan")
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_app(port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            bare = bare_page(browser, repeats)
            print(f"{'a bare Streamlit page, for scale':<34}{'':>12}{bare:>8.2f} s")
            open_page(browser, url)  # the server's first script run registers the pages
            print(f"{'page':<34}{'first visit':>12}{'median':>10}   median/{PAGE_TARGET:.0f}s   over the bare page")
            worst = 0.0
            for name, path in PAGES:
                times = [open_page(browser, f"{url}/{path}") for _ in range(repeats + 1)]
                median = statistics.median(times[1:])
                worst = max(worst, median / PAGE_TARGET)
                print(f"{name:<34}{times[0]:>10.2f} s{median:>8.2f} s   {median / PAGE_TARGET:>9.2f}"
                      f"   {median - bare:+8.2f} s")
            tables = [f"t{i}" for i in (4321, 4999, 4002, 4777, 4100)][:max(2, repeats)]
            for name, path in (("Quality: pick a table", "quality?schema=s4"), ("Explore: pick a table", "explore?schema=s4")):
                times = pick(browser, f"{url}/{path}", "Table", tables)
                median = statistics.median(times)
                worst = max(worst, median / PICK_TARGET)
                print(f"{name:<34}{'':>12}{median:>8.2f} s   {median / PICK_TARGET:>9.2f} (of {PICK_TARGET} s)")
            browser.close()
        memory = rss_mb(proc.pid)
        worst = max(worst, memory / MEMORY_TARGET_MB)
        print(f"app process after every page: {memory:,.0f} MB ({memory / MEMORY_TARGET_MB:.2f} of {MEMORY_TARGET_MB} MB)")
        print(f"worst ratio to target: {worst:.2f} ({'within' if worst <= 1 else 'OVER'} target)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
