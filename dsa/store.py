"""The catalog store: immutable runs as Parquet, read through DuckDB views.

Layout of a store folder (default `./.dsa`):

    runs/<run_id>/run.json                 the run's manifest: type, status, times, counts, error
    runs/<run_id>/<table>/part-NNNNN.parquet   the rows the run wrote to a catalog table
    runs/_schema/<table>/<hash>.parquet    an empty file per table, so every view has its columns

Every file is written to a temporary name and renamed into place, so a reader sees a file whole
or not at all, and nothing ever rewrites a run's files. Writers never open a DuckDB database
file, so there is no lock to contend for: any number of scans, quality runs and apps may run in
separate processes at once. A run whose process died (SIGKILL, power loss) keeps status
`running` in its manifest; readers see it as `failed` once its process is gone.
"""

from __future__ import annotations

import logging
import hashlib
import json
import os
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import polars as pl

from dsa import audit, queries, vault
from dsa.errors import DsaError, NotFound, one_line, scrub, scrub_obj
from dsa.model import CATALOG_TABLES, RUN_ERRORS, frame
from dsa.system import actor, clear_stale_temp, now, process_alive, process_start, temp_name, write_atomic

if TYPE_CHECKING:  # DuckDB is loaded by `connect`: a scan only writes Parquet
    import duckdb

RUN_TYPES = ("scan", "quality", "diff", "check")
FINISHED = ("success", "partial", "failed")

SYNC_RUNS = {
    "run_id": pl.Utf8,
    "connection": pl.Utf8,
    "run_type": pl.Utf8,
    "status": pl.Utf8,
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64,
    "error": pl.Utf8,
    "schema_count": pl.Int64,
    "table_count": pl.Int64,
    "column_count": pl.Int64,
    "error_count": pl.Int64,
    "counts": pl.Utf8,  # JSON: everything the run counted
    "details": pl.Utf8,  # JSON: the run's parameters (scan run, sample, compared runs, ...)
    "triggered_by": pl.Utf8,
    "host": pl.Utf8,
    "pid": pl.Int64,
}


def new_run_id() -> str:
    return now().strftime("%Y%m%d-%H%M%S-%f")[:-3] + "-" + secrets.token_hex(2)


@dataclass
class Run:
    """One run being written. Use as a context manager through `Store.begin_run`."""

    store: "Store"
    run_id: str
    connection: str
    run_type: str
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    _parts: dict[str, int] = field(default_factory=dict)
    _errors: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dir(self) -> Path:
        return self.store.runs_dir / self.run_id

    def write(self, table: str, data: pl.DataFrame) -> None:
        """Append rows to one of the run's catalog tables (a new immutable Parquet part)."""
        if table not in CATALOG_TABLES:
            raise ValueError(f"unknown catalog table {table}")
        schema = CATALOG_TABLES[table]
        data = data.select([pl.col(c).cast(t) if c in data.columns else pl.lit(None, t).alias(c) for c, t in schema.items()])
        with self._lock:
            n = self._parts.get(table, 0)
            self._parts[table] = n + 1
        folder = self.dir / table
        folder.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(folder / f"part-{n:05d}.parquet")
        data.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, folder / f"part-{n:05d}.parquet")

    def report_progress(self, done: int, total: int | None, what: str = "") -> None:
        """Publish progress to `progress.json` (read by the app), at most twice a second."""
        t = time.monotonic()
        if done != total and t - getattr(self, "_progress_at", 0.0) < 0.5:
            return
        self._progress_at = t
        data = {"done": done, "total": total, "what": what, "at": now().isoformat()}
        write_atomic(self.dir / "progress.json", json.dumps(data).encode(), durable=False)  # news, not a record

    def record_error(self, qualified_name: str, object_type: str, error: str, phase: str | None = None) -> None:
        """Note an object the run could not read; the run will end `partial`."""
        with self._lock:
            self._errors.append(
                {
                    "run_id": self.run_id,
                    "connection": self.connection,
                    "qualified_name": qualified_name,
                    "object_type": object_type,
                    "phase": phase or self.run_type,
                    "error": scrub(one_line(error)),
                    "recorded_at": now(),
                }
            )

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self._errors)

    def finish(self, status: str | None = None, error: str | None = None) -> None:
        if self._errors:
            self.write("run_errors", frame(self._errors, RUN_ERRORS))
        self.status = status or ("partial" if self._errors else "success")
        # a failed run's own error counts too: "failed, 0 errors" would contradict itself
        counted = len(self._errors) + (1 if error and self.status == "failed" else 0)
        self.counts["error_count"] = max(self.counts.get("error_count") or 0, counted)
        self.error = scrub(one_line(error)) if error else None
        self.store._write_manifest(self)
        self.store._audit("run.finish", self.run_id, self.status, self.error,
                          {"connection": self.connection, "run_type": self.run_type, "counts": self.counts})


class Store:
    """A catalog folder. Writers call `begin_run`; readers call `connect` or `sql`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        # Called as hook(event, store, run_id) with event "start" (manifest written) and "finish"
        # (the run ended, whatever its status): how the Postgres mirror follows every run.
        self.run_hooks: list[Callable[[str, "Store", str], None]] = []

    @property
    def label(self) -> str:
        """Where the catalog is, for messages."""
        return str(self.path)

    # -- writing -----------------------------------------------------------------------

    def init(self) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._ensure_schema_files()

    def _ensure_schema_files(self) -> None:
        for table, schema in CATALOG_TABLES.items():
            digest = hashlib.sha1(repr(sorted((k, str(v)) for k, v in schema.items())).encode()).hexdigest()[:12]
            folder = self.runs_dir / "_schema" / table
            target = folder / f"{digest}.parquet"
            if target.exists():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            tmp = temp_name(target)
            pl.DataFrame(schema=schema).write_parquet(tmp)
            os.replace(tmp, target)
            for old in folder.glob("*.parquet"):
                if old != target:
                    old.unlink(missing_ok=True)

    @contextmanager
    def begin_run(self, connection: str, run_type: str, details: dict[str, Any] | None = None,
                  started_at: datetime | None = None) -> Iterator[Run]:
        """Open a run; it ends `success`, `partial` (errors recorded) or `failed` (exception).
        `started_at`: when its work began, if before now (a scan starts reading its source first)."""
        assert run_type in RUN_TYPES
        self.init()
        self.clear_leftovers()
        run = Run(self, new_run_id(), connection, run_type, dict(details or {}))
        run.dir.mkdir(parents=True)
        run.started_at = started_at or now()
        self._write_manifest(run)
        self._audit("run.start", run.run_id, "started", None,
                    {"connection": connection, "run_type": run_type, "details": run.details})
        self._notify("start", run, quiet=True)
        try:
            yield run
        except KeyboardInterrupt:
            run.finish("partial" if run.counts.get("table_count") else "failed", "interrupted by the user")
            self._notify("finish", run, quiet=True)
            raise
        except DsaError as exc:
            run.finish("failed", str(exc))
            self._notify("finish", run, quiet=True)
            raise
        except Exception as exc:  # a bug or a driver error: keep the run honest, then re-raise
            run.finish("failed", f"{exc.__class__.__name__}: {exc}")
            self._notify("finish", run, quiet=True)
            raise
        else:
            if run.status == "running":
                run.finish()
            self._notify("finish", run, quiet=False)

    def clear_leftovers(self) -> int:
        """Remove the temporary files a killed process left (a run's half-written Parquet part,
        a manifest, connections or credentials never renamed into place). Only those whose process
        is gone: a live writer's are its own. Runs that ended normally left none, so only the store's
        own folder, the schema files and failed runs are looked at. Returns how many went."""
        folders = [self.path, *self.runs_dir.glob("_schema/*")]
        folders += [self.runs_dir / m["run_id"] for m in self.manifests() if m["status"] == "failed"]
        # a run killed before its manifest was in place: a folder no reader lists
        folders += [d for d in self.runs_dir.glob("*/") if d.name != "_schema" and not (d / "run.json").exists()]
        files = [f for folder in folders for f in (folder.rglob(".*.tmp") if folder.parent == self.runs_dir
                                                   else folder.glob(".*.tmp"))]
        return clear_stale_temp(files)

    def _notify(self, event: str, run: Run, quiet: bool) -> None:
        """Run the hooks; `quiet` (a run start, or a run already failing) only logs their errors."""
        for hook in self.run_hooks:
            try:
                hook(event, self, run.run_id)
            except Exception as exc:
                if not quiet:
                    raise
                logging.getLogger("dsa.store").warning("warning: %s", scrub(one_line(str(exc))))

    def _write_manifest(self, run: Run) -> None:
        finished = now() if run.status in FINISHED else None
        started = getattr(run, "started_at", None) or now()
        manifest = {
            "run_id": run.run_id,
            "connection": run.connection,
            "run_type": run.run_type,
            "status": run.status,
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat() if finished else None,
            "error": run.error,
            "counts": run.counts,
            "details": scrub_obj(run.details),  # a driver's DSN or message must not carry a password here
            "triggered_by": actor(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_start": process_start(os.getpid()),
        }
        write_atomic(run.dir / "run.json", json.dumps(manifest, default=str, indent=1).encode())

    def _audit(self, action: str, target: str, outcome: str, error: str | None, details: dict[str, Any]) -> None:
        audit.record(self.path, action, target, outcome, error, details)

    # -- reading -----------------------------------------------------------------------

    def manifests(self) -> list[dict[str, Any]]:
        """Every run's manifest, with runs whose process died reported as failed."""
        out = []
        if not self.runs_dir.exists():
            return out
        host = socket.gethostname()
        for path in self.runs_dir.glob("*/run.json"):
            m = _manifest(path, host)
            if m is not None:
                out.append(m)
        out.sort(key=lambda m: (m["started_at"], m["run_id"]))
        return out

    def sync_runs(self) -> pl.DataFrame:
        rows = []
        for m in self.manifests():
            counts = m.get("counts") or {}
            started = datetime.fromisoformat(m["started_at"])
            finished = datetime.fromisoformat(m["finished_at"]) if m.get("finished_at") else None
            rows.append(
                {
                    **m,
                    "started_at": started,
                    "finished_at": finished,
                    "duration_s": (finished - started).total_seconds() if finished else None,
                    "schema_count": counts.get("schema_count"),
                    "table_count": counts.get("table_count"),
                    "column_count": counts.get("column_count"),
                    "error_count": counts.get("error_count"),
                    "counts": json.dumps(counts),
                    "details": json.dumps(m.get("details") or {}),
                }
            )
        return frame(rows, SYNC_RUNS)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory DuckDB connection with every catalog table and view defined, which
        sees the catalog and nothing else of the machine (`duck.confine`)."""
        from dsa import duck  # DuckDB is loaded here, not at the top: a scan only writes Parquet

        self.init()
        con = duck.connect()
        self.refresh(con)
        duck.confine(con, [self.runs_dir, audit.audit_dir(self.path)])
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        """Reload run statuses into `con` (the Parquet views pick up new files by themselves).
        The work goes through a cursor of its own: a result the caller holds open on `con` stays."""
        cursor = con.cursor()
        try:
            self._define(cursor)
        finally:
            cursor.close()

    def _define(self, con: duckdb.DuckDBPyConnection) -> None:
        runs = self.sync_runs()
        con.register("_sync_runs_frame", runs.to_arrow())
        con.execute("CREATE OR REPLACE TABLE sync_runs AS SELECT * FROM _sync_runs_frame")
        con.unregister("_sync_runs_frame")
        con.register("_credentials_frame", vault.credentials_frame(self.path).to_arrow())
        con.execute("CREATE OR REPLACE TABLE credentials AS SELECT * FROM _credentials_frame")
        con.unregister("_credentials_frame")
        audit.define_view(con, self.path)
        for table in CATALOG_TABLES:
            glob = (self.runs_dir / "*" / table / "*.parquet").as_posix().replace("'", "''")
            con.execute(
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{glob}', union_by_name = true)"
            )
        for name in queries.view_files():
            con.execute(queries.text(name))

    def run_table(self, run_id: str, table: str) -> pl.DataFrame:
        """One catalog table's rows of one run, read from its Parquet parts: no DuckDB connection
        (which would first define every view of the catalog)."""
        parts = sorted((self.runs_dir / run_id / table).glob("part-*.parquet"))
        return pl.read_parquet(parts) if parts else frame([], CATALOG_TABLES[table])

    def sql(self, query: str, params: list | None = None) -> pl.DataFrame:
        con = self.connect()
        try:
            return con.sql(query, params=params or []).pl()
        finally:
            con.close()

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """The newest progress a running run published: done, total, what, at."""
        try:
            return json.loads((self.runs_dir / run_id / "progress.json").read_text())
        except (OSError, ValueError):
            return None

    def run(self, run_id: str) -> dict[str, Any]:
        """One run's manifest, read from its own folder (not every run's)."""
        if run_id and "/" not in run_id and "\\" not in run_id and "\0" not in run_id and run_id not in (".", ".."):
            m = _manifest(self.runs_dir / run_id / "run.json", socket.gethostname())
            if m is not None and m.get("run_id") == run_id:
                return m
        raise NotFound(f"no run '{run_id}' in the catalog at {self.path}")


def _manifest(path: Path, host: str) -> dict[str, Any] | None:
    """A run's manifest (None if unreadable), a running run whose process died reported as failed."""
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if m.get("status") == "running" and m.get("host") == host and not process_alive(m["pid"], m.get("pid_start")):
        m["status"] = "failed"
        m["error"] = "the run's process ended before it finished (killed or crashed)"
    return m
