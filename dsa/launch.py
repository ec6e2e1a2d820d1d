"""The `dsa` command: `dsa scan` sends its first source's catalog queries before the command line loads.

Typer, Rich and the command modules take about 50 ms to import; a scan's queries can run on
the server meanwhile. Only the plain forms are recognised here (`dsa [--config F] [--store S]
scan NAME... | --all`); anything else, and any error, is left to the command line, which
reports it as always. The command uses the early reading only if it resolves the same source
with the same settings (`dsa.scan.start`).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsa.scan import Reading

_GLOBAL_OPTIONS = ("--config", "--store")


def main() -> None:
    gc.disable()  # importing creates long-lived objects and no garbage (see dsa.cli)
    try:
        reading = head_start(sys.argv[1:])
        if reading is not None:
            # Connecting is a series of short round trips, each waiting for this thread to hand
            # over the interpreter lock while it imports: let the handshake finish first (it takes
            # milliseconds here; never more than a tenth of a second is spent waiting).
            reading.connected.wait(0.1)
        from dsa.cli import main as cli_main
    finally:
        gc.enable()
    cli_main()


def head_start(args: list[str]) -> Reading | None:
    """If `args` are a plain `scan`, start reading its first source (and return the reading)."""
    given: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i].startswith("--"):
        name, eq, value = args[i].partition("=")
        if name not in _GLOBAL_OPTIONS:
            return None
        if not eq:
            if i + 1 == len(args):
                return None
            i += 1
            value = args[i]
        given[name] = value
        i += 1
    if args[i:i + 1] != ["scan"]:
        return None
    rest = args[i + 1:]
    if any(a.startswith("-") and a != "--all" for a in rest):
        return None
    try:
        from dsa.config import is_postgres
        from dsa.scan import start_early
        from dsa.settings import State

        state = State(config_path=given.get("--config") or os.environ.get("DSA_CONFIG") or None,
                      store_path=given.get("--store") or os.environ.get("DSA_STORE") or None)
        if is_postgres(state.store_spec()):
            return None  # finding its sources means opening that catalog: the command does it
        config = state.config()
        names = sorted(config.sources) if "--all" in rest else rest
        if not names:
            return None
        for name in names:  # the command checks them all before it starts one
            config.source(name)
        if config.lineage.enabled:
            # the scan's views are resolved in processes forked now, while this one has one thread
            from dsa import workers

            workers.fork_idle(workers.COUNT)
        return start_early(config, names[0], state.store_folder())
    except Exception:
        return None  # the command line meets the same problem and reports it
