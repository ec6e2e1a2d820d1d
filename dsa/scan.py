"""The scan: extract a source's metadata into a new immutable run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dsa.config import Config
from dsa.connectors import open_source
from dsa.connectors.base import Progress
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


def scan(store: Store, config: Config, source: str, progress: Progress | None = None) -> ScanResult:
    """Scan one configured source. Raises `DsaError` (run recorded as failed) if it cannot be read."""
    options = config.source(source)
    connector = open_source(source, options)
    started = time.perf_counter()
    details = {"source_type": options.type, "target": connector.describe()}
    with store.begin_run(source, "scan", details) as run:

        def report(done: int, total: int, what: str = "") -> None:
            run.report_progress(done, total, what)
            if progress:
                progress(done, total, what)

        extraction = connector.extract(run.run_id, report)
        run.write("normalized_schemas", extraction.schemas)
        run.write("normalized_tables", extraction.tables)
        run.write("normalized_columns", extraction.columns)
        for err in extraction.errors:
            run.record_error(err["qualified_name"], err["object_type"], err["error"], "extract")
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
        seconds=time.perf_counter() - started,
        errors=run.errors,
    )
