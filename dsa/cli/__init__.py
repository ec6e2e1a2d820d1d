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

from dsa.cli.common import app, console_err
from dsa.errors import DsaError, one_line, scrub

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "common":
        importlib.import_module(f"{__name__}.{_module.name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error a user can cause is one line on stderr and a non-zero exit."""
    # The modules imported so far live until exit: moving them out of the collector's sight
    # spares every later collection (and the one at exit) from re-scanning them.
    gc.freeze()
    try:
        result = app(args=argv, prog_name="dsa", standalone_mode=False)
    except DsaError as exc:
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console_err.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if os.environ.get("DSA_DEBUG"):
            import traceback

            sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
        message = scrub(one_line(f"{exc.__class__.__name__}: {exc}"))
        console_err.print(f"[bold red]internal error:[/] {message} (set DSA_DEBUG=1 for details)", highlight=False, soft_wrap=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
