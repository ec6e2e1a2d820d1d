from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List

import typer

from dsa.cli.common import app, state
from dsa.errors import DsaError
from dsa.config import is_postgres


def app_script() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "app" / "streamlit_app.py", here.parent / "streamlit_app.py"):
        if candidate.exists():
            return candidate
    raise DsaError("the Streamlit app files are missing from this installation")


@app.command("app", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_app(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", help="Port to serve on."),
    read_only: bool = typer.Option(False, "--read-only", help="Hide and refuse scans and connection edits."),
) -> None:
    """Start the Streamlit app on this catalog (extra options go to `streamlit run`)."""
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
           "--browser.gatherUsageStats", "false", *ctx.args]
    # the user's folder stays the working directory: relative paths in dsa.yaml and a project's
    # .streamlit/secrets.toml resolve as they do for every other command (Streamlit reads the
    # app's own .streamlit/config.toml beside the script). Streamlit replaces this process, so a
    # signal to `dsa app` (Ctrl-C, a service manager's SIGTERM) reaches the server itself and no
    # orphaned server is left behind.
    os.execve(sys.executable, cmd, env)
