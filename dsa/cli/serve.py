from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from dsa.cli.common import app, console_err, state
from dsa.config import is_postgres
from dsa.errors import DsaError
from dsa.system import is_loopback


def app_script() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "app" / "streamlit_app.py", here.parent / "streamlit_app.py"):
        if candidate.exists():
            return candidate
    raise DsaError("the Streamlit app files are missing from this installation")


def _without_address(args: list[str]) -> tuple[list[str], str | None]:
    """`streamlit run` options without `--server.address` (`--server.address=A` or `... A`), and A."""
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name == "--server.address":
            if eq:
                return args[:i] + args[i + 1:], value
            return args[:i] + args[i + 2:], (args[i + 1] if i + 1 < len(args) else "")
    return list(args), None


def login_configured() -> bool:
    """Whether Streamlit will ask for a login: an [auth] section in the project's or the user's
    .streamlit/secrets.toml (where `st.secrets` reads it from)."""
    import tomllib

    for path in (Path.cwd() / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"):
        try:
            if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                return True
        except (OSError, ValueError):
            continue
    return False


@app.command("app", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_app(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", help="Port to serve on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on: this machine only, unless you name "
                             "another (0.0.0.0 is every interface; add an [auth] login in .streamlit/secrets.toml)."),
    read_only: bool = typer.Option(False, "--read-only", help="Hide and refuse scans, connection tests and edits."),
) -> None:
    """Start the Streamlit app on this catalog (extra options go to `streamlit run`)."""
    args, given = _without_address(ctx.args)
    host = host if given is None else given  # Streamlit's own option names the address just as well
    if not is_loopback(host) and not login_configured():
        console_err.print(f"warning: serving on {host or 'every interface'} without a login: anyone who can reach "
                          "this port reads the catalog (add an [auth] section to .streamlit/secrets.toml)",
                          soft_wrap=True)
    env = dict(os.environ)
    spec = state.store_spec()
    env["DSA_STORE"] = spec if is_postgres(spec) else str(Path(spec).resolve())
    config = Path(state.config_path or "dsa.yaml")
    if state.config_path or config.exists():
        env["DSA_CONFIG"] = str(config.resolve())
    if read_only:
        env["DSA_READ_ONLY"] = "1"
    script = app_script()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.address", host, "--browser.gatherUsageStats", "false", *args]
    # the user's folder stays the working directory: relative paths in dsa.yaml and a project's
    # .streamlit/secrets.toml resolve as they do for every other command (Streamlit reads the
    # app's own .streamlit/config.toml beside the script). Streamlit replaces this process, so a
    # signal to `dsa app` (Ctrl-C, a service manager's SIGTERM) reaches the server itself and no
    # orphaned server is left behind.
    os.execve(sys.executable, cmd, env)
