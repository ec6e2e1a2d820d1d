"""`dsa app` behind a login: a real server started in a folder whose `.streamlit/secrets.toml`
has an `[auth]` section (Streamlit's `st.login`, Authlib from the `auth` extra), driven in
headless Chromium. Not logged in, every page shows only the login page: no catalog content.
Log in goes to the identity provider the section names (here a local stand-in serving the OIDC
discovery document and recording the authorization request). `dsa app --host 0.0.0.0` warns in
one line without the section and stays quiet with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import ROOT
from tests.test_browser import CHROMIUM, IN_CI, app_server, free_port, settle

pytestmark = pytest.mark.browser
CLIENT_SECRET = "client-secret-" + os.urandom(4).hex()


class Provider(BaseHTTPRequestHandler):
    """An OIDC provider as far as the start of a login goes: discovery, and the authorization page."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the http.server name)
        Provider.requests.append(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path.startswith("/.well-known/openid-configuration"):
            body = json.dumps({"issuer": base, "authorization_endpoint": f"{base}/authorize",
                               "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks",
                               "response_types_supported": ["code"], "subject_types_supported": ["public"],
                               "id_token_signing_alg_values_supported": ["RS256"]}).encode()
            kind = "application/json"
        else:
            body, kind = b"<html><body><h1>Stand-in identity provider</h1></body></html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    Provider.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def dsa_env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "DSA_STORE": str(folder / "store"), "DSA_CONFIG": str(folder / "none.yaml"),
           "DSA_CACHE": str(folder / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("DSA_READ_ONLY", None)
    return env


def write_auth(folder: Path, provider_url: str, app_port: int) -> None:
    (folder / ".streamlit").mkdir(exist_ok=True)
    (folder / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(16).hex()}"\n'
        'client_id = "dsa-test-client"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n')


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("login")
    (folder / "none.yaml").write_text("sources: {}\n")
    done = subprocess.run([sys.executable, "-m", "dsa", "demo"], env=dsa_env(folder), cwd=folder,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return folder


def test_every_page_asks_for_login_and_log_in_goes_to_the_provider(demo_folder, provider):
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    import authlib  # noqa: F401  (st.login needs it: the `auth` extra)
    from playwright.sync_api import sync_playwright

    port = free_port()
    write_auth(demo_folder, provider, port)
    env = dsa_env(demo_folder)
    try:
        with app_server(env, demo_folder, port=port) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--headless", "--no-sandbox", "--disable-gpu",
                                              "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.set_default_timeout(60_000)
            for path in ("", "explore?conn=demo_shop&schema=main&table=orders", "quality", "connections"):
                page.goto(f"{url}/{path}")
                settle(page)
                page.get_by_text("This catalog is private. Log in to continue.").wait_for()
                page.get_by_role("button", name="Log in").wait_for()
                settle(page)  # the script ran to its end: nothing more will come
                text = page.locator('[data-testid="stMain"]').inner_text()
                assert "demo_shop" not in text and "orders" not in text, (path, text)
                assert page.locator('[data-testid="stMetric"], [data-testid="stDataFrame"]').count() == 0
                assert page.get_by_role("button", name="Log in").count() == 1
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{provider}/authorize*")
            asked = parse_qs(urlparse(page.url).query)
            assert asked["client_id"] == ["dsa-test-client"] and asked["response_type"] == ["code"]
            assert asked["redirect_uri"] == [f"http://127.0.0.1:{port}/oauth2callback"]
            assert CLIENT_SECRET not in page.url
            browser.close()
    finally:
        (demo_folder / ".streamlit" / "secrets.toml").unlink()
    assert any(r.startswith("/.well-known/openid-configuration") for r in Provider.requests)


def serve_briefly(folder: Path, *args: str) -> str:
    """Start `dsa app` with `args` until it answers, stop it: its standard error."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dsa", "app", "--port", str(port), *args], cwd=folder,
                            env=dsa_env(folder), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import urllib.request

    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the app did not start: {proc.communicate()[1][-2000:]}")
            time.sleep(0.3)
    proc.terminate()
    try:
        return proc.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1]


def test_every_interface_warns_without_a_login_only(tmp_path, provider):
    (tmp_path / "none.yaml").write_text("sources: {}\n")
    warned = [line for line in serve_briefly(tmp_path, "--host", "0.0.0.0").splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "without a login" in warned[0] and "[auth]" in warned[0]
    write_auth(tmp_path, provider, 8501)
    assert "warning" not in serve_briefly(tmp_path, "--host", "0.0.0.0")
