"""The app in a real browser: Debian's Chromium driven by Playwright (from PyPI; the browser is
the system one, never downloaded). Opens every page of a demo catalog, presses Scan on the Runs
page, waits for the new run to appear, and saves a screenshot of each page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import IN_CI, free_port

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("DSA_SCREENSHOTS", ROOT / "tests" / "screenshots"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    from dsa.demo import run_demo
    from dsa.store import Store

    base = tmp_path_factory.mktemp("browser")
    store = Store(base / "store")
    run_demo(store)
    env = {**os.environ, "DSA_STORE": str(store.path), "DSA_CONFIG": str(base / "dsa.yaml"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    (base / "dsa.yaml").write_text("sources: {}\n")
    env.pop("DSA_READ_ONLY", None)
    with app_server(env, base) as url:
        yield url, store


@contextmanager
def app_server(env: dict, cwd: Path, port: int | None = None):
    """A real `dsa app` on `port` or a free one (its log in cwd/app-PORT.log); yields its URL."""
    port = port or free_port()
    with open(cwd / f"app-{port}.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dsa", "app", "--port", str(port), "--server.address", "127.0.0.1"],
                                env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError("the app exited at start")
                time.sleep(0.1)
        else:
            raise AssertionError("the app did not start in 30 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.set_default_timeout(20_000)
    yield pg


def settle(page) -> None:
    """Wait until Streamlit finished running the script (no 'Running...' indicator)."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')")
    page.wait_for_timeout(600)  # charts draw after the script ends


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# A deep link comes first: opened before any other page of a fresh server, it must still work.
PAGES = [("explore?conn=demo_shop&schema=main&table=orders", "Explore", "main.orders"), ("", "Overview", "demo_shop"),
         ("quality", "Quality", re.compile("Column scores|No quality run")),
         ("checks?conn=demo_shop", "Checks", "Suggested checks"), ("changes", "Changes", "Renamed"),
         ("runs", "Runs", "Scan a connection"), ("connections", "Connections", "Add or edit a connection")]


@pytest.mark.parametrize("path,title,expected", PAGES)
def test_every_page_opens(server, page, path, title, expected):
    url, _ = server
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    page.get_by_text(expected).first.wait_for()
    settle(page)
    assert not page.locator('[data-testid="stException"]').count()
    shoot(page, title.lower())
    # tables show no "None" cells and no internal field names (glide-data-grid keeps an accessible copy)
    cells = page.locator('[role=gridcell]').all_inner_texts()
    headers = page.locator('[role=columnheader]').all_inner_texts()
    assert "None" not in [c.strip() for c in cells]
    assert not {h.strip() for h in headers} & INTERNAL


INTERNAL = {"run_id", "tenant", "qualified_name", "table_qualified_name", "schema_count", "is_nullable", "None"}


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_theme_follows_the_browser_preference(server, browser, scheme):
    url, _ = server
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 800})
    try:
        pg = context.new_page()
        pg.goto(url)
        pg.get_by_role("heading", name="Overview").first.wait_for(timeout=20_000)
        rgb = pg.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", rgb)[:3])
        dark = (red + green + blue) / 3 < 128
        assert dark == (scheme == "dark"), rgb
    finally:
        context.close()


def test_no_request_leaves_the_machine(server, browser):
    """Every page, a table pick and a search: each request goes to the app itself."""
    url, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        for path, title, expected in PAGES:
            pg.goto(f"{url}/{path}")
            pg.get_by_role("heading", name=title).first.wait_for()
            pg.get_by_text(expected).first.wait_for()
            settle(pg)
        pg.get_by_placeholder("e.g. email").fill("email")
        pg.keyboard.press("Enter")
        pg.get_by_text("1 matches").wait_for()
        settle(pg)
    finally:
        context.close()
    hosts = {urlsplit(u).hostname for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert requests and hosts <= {"127.0.0.1", "localhost"}, sorted(u for u in requests if "127.0.0.1" not in u)


def test_explore_link_follows_a_foreign_key(server, page):
    url, _ = server
    page.goto(f"{url}/explore?conn=demo_shop&schema=main&table=orders")
    settle(page)
    page.get_by_text("Keys", exact=True).click()
    page.get_by_text("main.customers (customer_id)").click()
    page.get_by_role("heading", name="main.customers").wait_for()
    assert "table=customers" in page.url
    # picking from the list twice in a row: each pick shows its table and lands in the URL
    for table in ("products", "returns"):
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Table").click()
        page.get_by_role("option", name=table, exact=True).click()
        page.get_by_role("heading", name=f"main.{table}").wait_for()
        page.wait_for_function(f"() => location.search.includes('table={table}')")


def test_scan_button_adds_a_run(server, page):
    url, store = server
    before = store.sync_runs().height
    page.goto(f"{url}/runs")
    settle(page)
    page.get_by_role("button", name="Scan").click()
    page.get_by_text("Finished: scan of demo_shop").wait_for(timeout=30_000)
    runs = store.sync_runs().sort("started_at")
    # the scan, and its diff against the scan before it (as `dsa demo` does)
    assert runs.height == before + 2 and runs.select("run_type", "status").rows()[-2:] == [("scan", "success"),
                                                                                           ("diff", "success")]
    started = f"{runs['started_at'][-2]:%Y-%m-%d %H:%M:%S}"
    # the history reran by itself: its grid (glide-data-grid keeps an accessible copy) shows the run
    page.wait_for_function("t => [...document.querySelectorAll('td,[role=gridcell]')].some(c => c.textContent.includes(t))",
                           arg=started)
    settle(page)
    shoot(page, "runs_after_scan")
    if os.environ.get("DSA_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture on request
        page.goto(f"{url}/quality?conn=demo_shop&column=main.customers.country")
        settle(page)
        page.wait_for_timeout(1500)
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))


def test_download_report_is_the_cli_file(server, page, tmp_path):
    """Changes page: the copy link holds the view's query parameters, and Download report gives
    byte for byte what `dsa report` writes for the same runs."""
    url, store = server
    scans = [m["run_id"] for m in store.manifests() if m["run_type"] == "scan" and m["status"] == "success"]
    old, new = scans[0], scans[1]
    page.goto(f"{url}/changes?conn=demo_shop&from={old}&to={new}")
    settle(page)
    box = page.get_by_label("Link to this view", exact=True)
    page.wait_for_function("([el, run]) => el.value.includes('from=' + run)", arg=[box.element_handle(), old])
    link = box.input_value()
    assert link.startswith(f"{url}/changes?") and f"from={old}" in link and f"to={new}" in link
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download report").click()
    downloaded = Path(info.value.path()).read_bytes()
    env = {**os.environ, "DSA_STORE": str(store.path), "DSA_CONFIG": str(store.path.parent / "dsa.yaml")}
    cli = subprocess.run([sys.executable, "-m", "dsa", "report", "demo_shop", "--run", new, "--against", old,
                          "--out", "-"], capture_output=True, env=env, timeout=120, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert info.value.suggested_filename == "report-demo_shop.html"
    assert downloaded == cli.stdout


def test_fresh_server_names_pages_by_title_and_a_failed_scan_looks_failed(tmp_path, browser):
    """A server's very first page lists the pages by title (Streamlit's own menu, which showed
    the files' names before the entry script had run once, never appears); a scan of a source
    that cannot be reached, started on the Runs page, is shown failed, open, with its error."""
    (tmp_path / "dsa.yaml").write_text("sources:\n  badpg: {type: postgres, dsn: 'postgresql://nobody@127.0.0.1:9/none'}\n")
    env = {**os.environ, "DSA_STORE": str(tmp_path / "store"), "DSA_CONFIG": str(tmp_path / "dsa.yaml"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("DSA_READ_ONLY", None)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # from the first byte on: note whether Streamlit's file-name menu is ever drawn
    context.add_init_script("""new MutationObserver(() => {
        if (document.querySelector('[data-testid="stSidebarNav"]')) window.__fileMenu = true;
    }).observe(document, {childList: true, subtree: true});""")
    with app_server(env, tmp_path) as url:
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        pg.goto(f"{url}/runs")
        pg.get_by_role("heading", name="Runs").first.wait_for()
        settle(pg)
        links = pg.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').all_inner_texts()
        assert [link.split("\n")[-1].strip() for link in links] == [
            "Overview", "Explore", "Quality", "Checks", "Changes", "Runs", "Connections"]
        assert not pg.evaluate("window.__fileMenu === true")
        pg.get_by_role("button", name="Scan").click()
        failed = pg.locator('[data-testid="stExpander"]').filter(has_text="Failed: scan of badpg")
        failed.wait_for()
        assert "badpg" in failed.locator('[data-testid="stAlertContentError"]').first.inner_text()
        settle(pg)
        shoot(pg, "runs_failed_scan")
    context.close()


def flag_demo(store) -> None:
    """A third quality run of the demo's customers whose score dropped and whose monitors
    flagged it (as `dsa.monitors` writes them)."""
    import polars as pl

    t = "demo_shop.main.customers"
    with store.begin_run("demo_shop", "quality") as run:
        run.write("table_quality_metrics", pl.DataFrame({
            "run_id": [run.run_id], "connection": ["demo_shop"], "qualified_name": [t], "table_qualified_name": [t],
            "status": ["profiled"], "row_count": [40], "column_count": [8], "quality_score": [40.0]}))
        run.write("anomalies", pl.DataFrame({
            "run_id": [run.run_id], "connection": ["demo_shop"], "qualified_name": [t], "table_qualified_name": [t],
            "metric": ["quality_score"], "value": [40.0], "expected": [85.0], "score": [-9.0], "history": [7],
            "explanation": ["customers.quality_score 40 is 9.0 MADs below its 7-run median 85"]}))


def red_pixels(png: bytes) -> int:
    """Pixels of the anomaly marks' red (#c62828) in a screenshot."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if abs(r - 198) < 20 and g < 70 and b < 70)


def test_overview_leads_with_attention_and_marks_anomalies(browser, tmp_path_factory):
    from dsa.demo import run_demo
    from dsa.store import Store

    base = tmp_path_factory.mktemp("flagged")
    store = Store(base / "store")
    run_demo(store)
    flag_demo(store)
    (base / "dsa.yaml").write_text("sources: {}\n")
    env = {**os.environ, "DSA_STORE": str(store.path), "DSA_CONFIG": str(base / "dsa.yaml"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("DSA_READ_ONLY", None)
    with app_server(env, base) as url:
        pg = browser.new_page(viewport={"width": 1400, "height": 1400})
        pg.set_default_timeout(30_000)
        try:
            pg.goto(url)
            pg.get_by_role("heading", name="Needs attention").wait_for()
            settle(pg)
            pg.wait_for_timeout(1500)
            shoot(pg, "overview_attention")
            # the list leads the page: above the connection's own section
            top = {name: pg.get_by_role("heading", name=name).first.bounding_box()["y"]
                   for name in ("Needs attention", "demo_shop")}
            assert top["Needs attention"] < top["demo_shop"]
            metrics = [" ".join(m.split()) for m in pg.locator('[data-testid="stMetric"]').all_inner_texts()]
            assert metrics[:4] == ["Failed checks 4", "Anomalies 1", "Score drops 1", "Schema changes 26"], metrics
            assert metrics[4].startswith("Schema findings "), metrics
            # the grid draws the rows in view: the most pressing ones, first
            pg.wait_for_function("() => [...document.querySelectorAll('[role=gridcell]')]"
                                 ".some(c => c.textContent.trim() === 'score drop')")
            cells = [c.strip() for c in pg.locator('[role=gridcell]').all_inner_texts()]
            assert {"failed check", "anomaly", "score drop", "schema change"} <= set(cells)
            assert "customers.quality_score 40 is 9.0 MADs below its 7-run median 85" in cells
            # the score trend carries a red diamond on the run that flagged it; before it, none
            charts = pg.locator('[data-testid="stVegaLiteChart"]')
            assert charts.count() >= 1
            for _ in range(20):  # vega draws after the element appears (and again if the script reruns)
                pg.wait_for_timeout(750)
                settle(pg)
                shot = charts.first.screenshot()
                if red_pixels(shot) > 20:
                    break
            (SHOTS / "overview_trend.png").write_bytes(shot)
            assert red_pixels(shot) > 20
        finally:
            pg.close()
