"""What dsa asks of the machine it runs on: the clock, who is acting, writing a file whole,
which addresses stay on the machine.

The store, the vault, the audit log, the connection list and the job files all need these; they
live here, below all of those modules, so none of them imports another for a helper.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path


def now() -> datetime:
    """The time, in UTC: every timestamp dsa writes is UTC."""
    return datetime.now(timezone.utc)


def os_user() -> str:
    """The operating system's user running this process."""
    try:
        return getpass.getuser()
    except Exception:  # no name for the uid (a container's arbitrary user)
        return "unknown"


def actor() -> str:
    """Who acts: `DSA_USER` (a deployment sets it to the app's user), else the OS user."""
    return os.environ.get("DSA_USER") or os_user()


def is_loopback(host: str) -> bool:
    """Does a server bound to `host` answer only this machine? (An empty host is every interface.)"""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `path` so that a reader sees the old file or the new one whole, never a part;
    `durable`: on disk before it replaces the old one (not for what is soon written again)."""
    tmp = temp_name(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Temporary files name their writer's process: `.<name>.<pid>[.<hex>].tmp`.
_TMP_PID = re.compile(r"\.(\d+)(?:\.[0-9a-f]+)?\.tmp$")


def temp_name(path: Path) -> Path:
    """Where to write `path` before renaming it into place: beside it, hidden, naming this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")


def clear_stale_temp(files) -> int:
    """Remove the temporary files (of `files`) whose writing process is gone (killed mid-write);
    a live process's are left alone. Returns how many were removed."""
    removed = 0
    for path in files:
        m = _TMP_PID.search(path.name)
        if not m or process_alive(int(m.group(1))):
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def process_start(pid: int) -> str | None:
    """The kernel's start time of a process, so a reused pid is not mistaken for the one meant."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether process `pid` runs (and, given its `start`, is still the same process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return start is None or process_start(pid) in (None, start)
