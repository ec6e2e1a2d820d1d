"""A first scan's views start parsing while the source is still being read.

Parsing view SQL is most of lineage's cost, and it needs only the SQL: the columns that resolve
the names come later. A scan that has idle workers (`dsa.workers`, forked by `dsa scan`) hands
them the views as soon as the rows holding their SQL arrive (`Connector.arrived`), while the
server still answers the other catalog queries; `dsa.lineage` later posts each worker the
columns its views may read and takes back the resolutions.

Only a first scan of the source does this: a rescan takes most resolutions from the store's
cache (`dsa.lineage.LineageCache`) and parses the few views that changed. This module imports
no parser, so the reading thread that calls it does not wait for one to load.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dsa import workers

PARALLEL_VIEWS = 200  # views to resolve before a second process pays for itself


def cache_path(store_path: str | Path, connection: str) -> Path:
    """Where `dsa.lineage.LineageCache` keeps a connection's resolutions."""
    name = hashlib.blake2b(connection.encode(), digest_size=12).hexdigest()
    return Path(store_path) / "cache" / "lineage" / f"{name}.parquet"


class EarlyLineage:
    """A connector's `on_rows`: sends the views of the 'tables' rows to the idle workers."""

    def __init__(self, connection: str, dialect: str, store_path: str | Path | None):
        self.connection = connection
        self.dialect = dialect
        self.store_path = store_path
        # (worker, its views as (schema, name, sql)) for each worker parsing
        self.jobs: list[tuple[workers.Worker, list[tuple[str, str, str]]]] = []
        # the columns posted to each job's worker already (see `post_columns`); None: not yet
        self.posted: list[dict[tuple[str, str], list[str]]] | None = None

    def __call__(self, query: str, rows: Any) -> None:
        if query == "columns" and self.jobs and self.posted is None and hasattr(rows, "group_by"):
            self.post_columns(rows)
            return
        if query != "tables" or self.jobs or self.store_path is None:
            return
        if cache_path(self.store_path, self.connection).exists():
            return  # a rescan: the cache has most views
        views = [(r["schema_name"], r["table_name"], r["view_definition"]) for r in rows
                 if r.get("view_definition")]
        if len(views) < PARALLEL_VIEWS:
            return
        taken = workers.take(workers.COUNT)
        for i, worker in enumerate(taken):
            chunk = views[i::len(taken)]  # every other view: shapes spread evenly
            if worker.send("dsa.lineage_sql", "_parse_then_resolve", self.dialect, chunk, more=True):
                self.jobs.append((worker, chunk))
            else:
                worker.close()

    def post_columns(self, frame: Any) -> None:
        """The source's columns have arrived (a frame of schema_name, table_name, column_name,
        ordinal_position): post each worker those of the relations its views may read, so it
        resolves them while the scan builds its frames. `dsa.lineage` checks them against the
        scan's own columns before it uses a result."""
        from dsa.lineage import SchemaIndex, _columns_read, View

        index = SchemaIndex.from_frame(frame)
        posted = []
        for worker, chunk in self.jobs:
            columns = _columns_read(index, [View(s, n, sql) for s, n, sql in chunk])
            posted.append(columns if worker.post(columns) else {})
        self.posted = posted

    def release(self) -> None:
        """Let workers whose parses were not used go."""
        for worker, _ in self.jobs:
            worker.close(kill=True)
        self.jobs = []
