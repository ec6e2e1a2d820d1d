"""What dsa asks of the machine it runs on: the clock, who is acting, writing a file whole.

The store, the vault, the audit log, the connection list and the job files all need these; they
live here, below all of those modules, so none of them imports another for a helper.
"""

from __future__ import annotations

import getpass
import os
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


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` so that a reader sees the old file or the new one whole, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
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
