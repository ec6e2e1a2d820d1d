"""The audit log: who did what, when, to which run or connection, and how it ended.

Records are JSON lines in `<store>/audit/<YYYY-MM-DD>.jsonl` (UTC day). Every process appends
with `O_APPEND` and one `write()` per record, so concurrent writers never interleave or
overwrite each other and nothing ever rewrites a line. The catalog view `audit_log` reads them.

Fields: recorded_at (UTC), actor (`DSA_USER` or the OS user), os_user, host, pid, action, target,
outcome, details (JSON object), error. Actions: run.start / run.finish (target: run id),
connection.add / connection.update / connection.remove / connection.test / connection.secret
(target: connection name), key.create / key.rotate (target: credentials).
Text passes through `scrub`, so no secret reaches the log. For the cache of a Postgres catalog the
records go to `dsa_production.audit_log` (`dsa.shared`), one log for every instance; `dsa query`
on the Postgres catalog reads it there.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any


from dsa import shared
from dsa.errors import DsaError, one_line, scrub_obj
from dsa.system import actor, now, os_user

COLUMNS = {
    "recorded_at": "TIMESTAMPTZ",
    "actor": "VARCHAR",
    "os_user": "VARCHAR",
    "host": "VARCHAR",
    "pid": "BIGINT",
    "action": "VARCHAR",
    "target": "VARCHAR",
    "outcome": "VARCHAR",
    "details": "JSON",
    "error": "VARCHAR",
}


def audit_dir(store_path: str | os.PathLike) -> Path:
    return Path(store_path) / "audit"


def record(store_path: str | os.PathLike, action: str, target: str | None, outcome: str,
           error: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append one record. Auditing never breaks the work it records: I/O errors are ignored."""
    at = now()
    line = {
        "recorded_at": at.isoformat(),
        "actor": actor(),
        "os_user": os_user(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "action": action,
        "target": target,
        "outcome": outcome,
        "details": details or {},
        "error": one_line(error) if error else None,
    }
    dsn = shared.catalog_dsn(store_path)
    if dsn:
        import psycopg  # a Postgres catalog's log; local stores never load the driver

        try:
            shared.append_audit(dsn, {**scrub_obj({**line, "recorded_at": None}), "recorded_at": at})
            return
        except (DsaError, OSError, psycopg.Error):
            pass  # Postgres unreachable: the record is kept in the cache folder's log instead
    text = json.dumps(scrub_obj(line), default=str, ensure_ascii=False) + "\n"
    folder = audit_dir(store_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / f"{at:%Y-%m-%d}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError:
        pass


def define_view(con, store_path: str | os.PathLike) -> None:
    """Define `audit_log` on a DuckDB connection (an empty table while there is no record)."""
    folder = audit_dir(store_path)
    if not any(folder.glob("*.jsonl")):
        # a view either way, so a later refresh can replace it with the one over the files
        nulls = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in COLUMNS.items())
        con.execute(f"CREATE OR REPLACE VIEW audit_log AS SELECT {nulls} WHERE false")
        return
    glob = (folder / "*.jsonl").as_posix().replace("'", "''")
    spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items()) + "}"
    # a line being appended right now may be read half-written: ignore_errors makes it a row of
    # nulls, which the WHERE drops
    con.execute(
        f"CREATE OR REPLACE VIEW audit_log AS SELECT * FROM read_json('{glob}', format = 'newline_delimited', "
        f"columns = {spec}, ignore_errors = true) WHERE action IS NOT NULL"
    )
