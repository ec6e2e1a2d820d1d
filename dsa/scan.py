"""The scan: extract a source's metadata into a new immutable run.

A scan reads the source first and opens the catalog second: `start` connects and sends the
bulk catalog queries from a thread, and while the server answers, the caller loads the catalog
(Polars, the store) and begins the run. Only then are the rows normalized and written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsa.config import Config
from dsa.connectors import open_source
from dsa.connectors.base import Connector, Progress, paused_gc

if TYPE_CHECKING:
    from dsa.store import Store


@dataclass
class ScanResult:
    run_id: str
    connection: str
    status: str
    schema_count: int
    table_count: int
    column_count: int
    error_count: int
    seconds: float
    errors: list[dict]

    def summary(self) -> str:
        text = (
            f"{self.connection}: {self.status}, {self.schema_count} schemas, {self.table_count} tables, "
            f"{self.column_count} columns in {self.seconds:.2f}s"
        )
        if self.error_count:
            text += f", {self.error_count} objects unreadable"
        return text


class Reading:
    """One source's catalog queries (`Connector.read`), running in a thread from the start."""

    def __init__(self, connector: Connector):
        self.connector = connector
        self.started = time.perf_counter()
        self.started_at = datetime.now(timezone.utc)  # the run's start: its work begins here
        self._report: Progress | None = None
        self.connected = threading.Event()  # set at the first progress report: connected, querying
        self._outcome: tuple[Any, BaseException | None] = (None, None)
        # a daemon: Ctrl-C while the server works ends the process at once (and the server's
        # statement_timeout bounds the query anyway)
        self._thread = threading.Thread(target=self._run, name=f"dsa-read-{connector.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = (self.connector.read(self._progress), None)
        except BaseException as exc:  # handed to the waiting thread by result()
            self._outcome = (None, exc)
        finally:
            self.connected.set()

    def _progress(self, done: int, total: int, what: str = "") -> None:
        self.connected.set()
        if self._report:
            self._report(done, total, what)

    def result(self, report: Progress | None = None) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        """Wait for the rows and the database's name (progress goes to `report` meanwhile);
        re-raises what stopped the reading, e.g. a `SourceError`."""
        self._report = report
        self._thread.join()
        rows, error = self._outcome
        if error is not None:
            raise error
        return rows


_early: dict[str, Reading] = {}


def start_early(config: Config, source: str, store_path: str | Path | None = None) -> Reading:
    """Start reading `source` now, for a later `start` of the same source and settings."""
    reading = _early[source] = start(config, source, store_path)
    return reading


def start(config: Config, source: str, store_path: str | Path | None = None) -> Reading:
    """Open a configured source and start reading its catalog, or take the reading `start_early`
    began for it if its settings are the same. With the local store's folder (`store_path`), a
    first scan's lineage begins parsing view SQL as soon as it arrives (`dsa.lineage_early`)."""
    options = config.source(source)
    early = _early.pop(source, None)
    if early is not None and early.connector.options == options:
        return early
    connector = open_source(source, options)
    if config.lineage.enabled and store_path is not None:
        from dsa.lineage_early import EarlyLineage

        connector.on_rows = EarlyLineage(source, connector.dialect, store_path)
    return Reading(connector)


def scan(store: Store, config: Config, source: str, progress: Progress | None = None,
         reading: Reading | None = None) -> ScanResult:
    """Scan one configured source (its `reading` if already started). Raises `DsaError` (run
    recorded as failed) if it cannot be read."""
    with paused_gc():
        reading = reading or start(config, source, getattr(store, "path", None))
        connector = reading.connector
        details = {"source_type": connector.type, "target": connector.describe()}
        with store.begin_run(source, "scan", details, started_at=reading.started_at) as run:

            def report(done: int, total: int, what: str = "") -> None:
                run.report_progress(done, total, what)
                if progress:
                    progress(done, total, what)

            raw, database = reading.result(report)
            extraction = connector.build(raw, database, run.run_id, report)
            run.write("normalized_schemas", extraction.schemas)
            run.write("normalized_tables", extraction.tables)
            run.write("normalized_columns", extraction.columns)
            for err in extraction.errors:
                run.record_error(err["qualified_name"], err["object_type"], err["error"], "extract")
            if config.lineage.enabled:
                # here, not at the top: sqlglot is a large import the reading must not wait for
                from dsa.lineage import write_lineage

                write_lineage(run, connector, extraction, raw.get("dependencies"))
            run.counts.update(
                schema_count=extraction.schemas.height,
                table_count=extraction.tables.height,
                column_count=extraction.columns.height,
            )
            run.finish()
    return ScanResult(
        run_id=run.run_id,
        connection=source,
        status=run.status,
        schema_count=extraction.schemas.height,
        table_count=extraction.tables.height,
        column_count=extraction.columns.height,
        error_count=len(run.errors),
        seconds=time.perf_counter() - reading.started,
        errors=run.errors,
    )
