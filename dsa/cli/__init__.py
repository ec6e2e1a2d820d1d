"""The `dsa` command line: a thin layer over the library.

Each command lives in its own module of this package and registers itself on `app`; modules
are found by walking the package, so adding a command is adding a file.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import sys

# Importing the command modules and their libraries creates many long-lived objects and no
# garbage: the cyclic collector would only re-scan them (~10% of start-up CPU). Paused meanwhile.
_gc_was_enabled = gc.isenabled()
gc.disable()
try:
    from dsa.cli.common import app, console_err, print_error
    from dsa.errors import DsaError, one_line, scrub

    for _module in pkgutil.iter_modules(__path__):
        if _module.name != "common":
            importlib.import_module(f"{__name__}.{_module.name}")
finally:
    if _gc_was_enabled:
        gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error a user can cause is one line on stderr and a non-zero exit.

    Without `argv` this is the `dsa` process itself, which ends with `exit_now`."""
    try:
        _main(argv)
    except SystemExit as exc:
        if argv is None:
            exit_now(exc.code)
        raise


def exit_now(code: object) -> None:
    """End the process without tearing it down: atexit handlers run and output is flushed, but
    the interpreter does not free every module and object one by one first (about 60 ms after
    a scan, whose process ends right after). Only when no other thread is left, since their
    joining is part of the teardown skipped; otherwise (or for a message as exit code) Python
    exits normally."""
    import atexit
    import threading

    if not (code is None or isinstance(code, int)) or threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can be said
            pass
    os._exit(code or 0)


def _main(argv: list[str] | None) -> None:
    # The modules imported so far live until exit: moving them out of the collector's sight
    # spares every later collection (and the one at exit) from re-scanning them.
    gc.freeze()
    try:
        result = app(args=argv, prog_name="dsa", standalone_mode=False)
    except DsaError as exc:
        print_error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console_err.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        # typer >= 0.2x raises its own copy of click's exceptions: match them by class name
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "Abort" in kinds:
            sys.exit(130)
        if "NoArgsIsHelpError" in kinds:  # `dsa` or `dsa connections` alone: the help, as --help prints it
            sys.stdout.write(exc.ctx.get_help() + "\n")
            sys.exit(0)
        if "UsageError" in kinds:  # one line naming the command, not click's usage block
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx else "dsa"
            message = scrub(one_line(exc.format_message()))
            print_error(f"{where}: {message} (see {where} --help)")
            sys.exit(2)
        if "ClickException" in kinds:
            print_error(scrub(one_line(exc.format_message())))
            sys.exit(getattr(exc, "exit_code", 1))
        if "Exit" in kinds:
            sys.exit(getattr(exc, "exit_code", 0))
        if os.environ.get("DSA_DEBUG"):
            import traceback

            sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
        message = scrub(one_line(f"{exc.__class__.__name__}: {exc}"))
        print_error(f"{message} (set DSA_DEBUG=1 for details)", "internal error:")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
