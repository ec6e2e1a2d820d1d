"""Running `dsa` in-process (fast, for many examples) and comparing store folders."""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
from pathlib import Path

from dsa.cli import main


def fresh_process() -> None:
    """Forget what an earlier command of this process learned (secrets to scrub, warnings given),
    as a new `dsa` process would: a leak must not hide behind another command's registry."""
    import dsa.config
    import dsa.errors
    import dsa.vault

    dsa.errors._SECRETS.clear()
    dsa.config._warned.clear()
    dsa.vault._warned.clear()


def run_cli(argv: list[str], stdin: str = "", env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    """`dsa ARGV` in this process: (exit code, stdout, stderr). `env` values of None unset a variable."""
    import os

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    saved = {k: os.environ.get(k) for k in (env or {})}
    for k, v in (env or {}).items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = old_stdin
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


def snapshot(store: Path) -> dict[str, str]:
    """Every file of the store but the audit log and lock files, by content."""
    files = {}
    for path in sorted(store.rglob("*")):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and not rel.startswith("audit/") and not path.name.endswith(".lock"):
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def audit_text(store: Path) -> str:
    return "".join(p.read_text() for p in sorted((store / "audit").glob("*.jsonl")))
