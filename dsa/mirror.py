"""The Postgres mirror: the catalog copied into schema `dsa_production`, one run at a time.

Every catalog table (`sync_runs` and each table of `dsa.model.CATALOG_TABLES`, so tables that
features add are mirrored without a change here) becomes a Postgres table of the same name;
JSON text columns become `jsonb`. The `latest_*` views of `queries/views*.sql` are translated
to Postgres by sqlglot (or taken from `queries/mirror/<file>.sql` where one exists).

A run is mirrored in one transaction that first claims it in `mirrored_runs` (primary key
`run_id`): a run is all there or not there, a second mirror of it adds nothing, and two
mirrors racing for the same run serialize on that key. Rows travel as CSV rendered by Polars
(no Python object per row) through `COPY ... FROM STDIN`. Runs still `running` are not
mirrored yet; only their `sync_runs` row is published, so other app instances see them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import polars as pl
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from dsa import queries
from dsa.errors import DsaError, one_line, register_secret, scrub
from dsa.model import CATALOG_TABLES
from dsa.pg_sql import SCHEMA, to_postgres_statements
from dsa.shared import catalog_dsn
from dsa.store import FINISHED, SYNC_RUNS, Store
from dsa.vault import CREDENTIALS, credentials_frame

# Text columns holding JSON; they are jsonb in the mirror.
JSON_COLUMNS = frozenset({"attributes", "custom_attributes", "changes", "counts", "details"})
COPY_CHUNK_ROWS = 20_000  # rows rendered per CSV chunk: small enough to overlap with sending

log = logging.getLogger("dsa.mirror")


class MirrorError(DsaError):
    """The mirror database cannot be reached or refused what we sent."""


def tables() -> dict[str, dict[str, pl.DataType]]:
    """Every mirrored table with its columns: `sync_runs` first, then the catalog tables, then
    `credentials` (ciphertext only: the vault's key never leaves the machine that holds it)."""
    return {"sync_runs": SYNC_RUNS, **CATALOG_TABLES, "credentials": CREDENTIALS}


def mirror_credentials(conn: psycopg.Connection, store: Store) -> int:
    """Replace the mirror's `credentials` rows with the store's, in one transaction."""
    data = credentials_frame(store.path)
    with conn.transaction():
        conn.execute(sql.SQL("LOCK TABLE {}.credentials IN EXCLUSIVE MODE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("DELETE FROM {}.credentials").format(sql.Identifier(SCHEMA)))
        if data.height:
            copy_frame(conn, "credentials", data)
    return data.height


def index_columns(table: str, schema: dict[str, pl.DataType]) -> list[tuple[str, ...]]:
    """Indexes for the app's lookups: a connection's runs, then a run's rows or one object in it.

    The app reaches rows through a run (the latest_* views join on run_id), so one composite
    index per table serves both; an index on qualified_name alone would nearly double a
    mirror's time (random inserts into a large text index) for cross-run history only.
    """
    if table == "sync_runs":
        return [("connection", "started_at")]  # run_id is the primary key
    if "run_id" not in schema:
        return []
    return [("run_id", "qualified_name") if "qualified_name" in schema else ("run_id",)]


def pg_type(column: str, dtype: pl.DataType) -> str:
    if column in JSON_COLUMNS or isinstance(dtype, (pl.List, pl.Struct, pl.Array)):
        return "jsonb"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz" if dtype.time_zone else "timestamp"
    simple = {
        pl.Utf8: "text", pl.Int64: "bigint", pl.Int32: "integer", pl.Int16: "smallint", pl.Int8: "smallint",
        pl.UInt32: "bigint", pl.UInt16: "integer", pl.UInt8: "smallint", pl.UInt64: "numeric",
        pl.Float64: "double precision", pl.Float32: "real", pl.Boolean: "boolean", pl.Date: "date",
        pl.Time: "time", pl.Decimal: "numeric", pl.Binary: "bytea", pl.Duration: "interval",
    }
    for polars_type, name in simple.items():
        if dtype == polars_type or dtype.base_type() == polars_type:
            return name
    return "text"


def describe_dsn(dsn: str) -> str:
    """`postgres at host:port/db`, for messages: never the password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "postgres (unparsable DSN)"
    register_secret(info.get("password"))
    return f"postgres at {info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


def connect(dsn: str, *, read_only: bool = False, what: str = "mirror") -> psycopg.Connection:
    """A psycopg connection in UTC; a reader's session refuses writes (default_transaction_read_only)."""
    where = describe_dsn(dsn)
    options = "-c TimeZone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
    try:
        return psycopg.connect(dsn, connect_timeout=10, options=options, autocommit=True,
                               application_name=f"dsa {what}")
    except psycopg.Error as exc:
        raise MirrorError(f"cannot connect to the {what} ({where}): {one_line(str(exc))}") from None


# -- schema ----------------------------------------------------------------------------------


def _existing_columns(conn: psycopg.Connection) -> dict[str, dict[str, str]]:
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = %s",
        [SCHEMA],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, {})[column] = data_type
    return out


def ensure_schema(conn: psycopg.Connection) -> bool:
    """Create or extend the mirror's schema, tables, indexes and views. Returns whether it changed.

    A newer dsa adds columns (`ALTER TABLE ... ADD COLUMN`); rows already mirrored keep theirs
    and read NULL in the new ones. Columns are never dropped or retyped here.
    """
    with conn.transaction():
        # One schema change at a time across processes; readers are not blocked by this lock.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('dsa_production schema'))")
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        existing = _existing_columns(conn)
        changed = False
        if "mirrored_runs" not in existing:
            conn.execute(queries.text("mirror/bookkeeping"))
            changed = True
        for table, schema in tables().items():
            have = existing.get(table)
            if have is None:
                columns = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_type(c, t))) for c, t in schema.items()]
                if table == "sync_runs":
                    columns.append(sql.SQL("PRIMARY KEY (run_id)"))
                conn.execute(sql.SQL("CREATE TABLE {}.{} ({})").format(
                    sql.Identifier(SCHEMA), sql.Identifier(table), sql.SQL(", ").join(columns)))
                for index in index_columns(table, schema):
                        name = f"{table}_{'_'.join(index)}_idx"
                        conn.execute(sql.SQL("CREATE INDEX {} ON {}.{} ({})").format(
                            sql.Identifier(name), sql.Identifier(SCHEMA), sql.Identifier(table),
                            sql.SQL(", ").join(map(sql.Identifier, index))))
                changed = True
                continue
            for column, dtype in schema.items():
                if column not in have:
                    conn.execute(sql.SQL("ALTER TABLE {}.{} ADD COLUMN {} {}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(table), sql.Identifier(column),
                        sql.SQL(pg_type(column, dtype))))
                    changed = True
        views = view_statements()
        digest = hashlib.sha256(repr(views).encode()).hexdigest()
        old = conn.execute("SELECT value FROM dsa_production.mirror_meta WHERE key = 'views'").fetchone()
        if changed or not old or old[0] != digest:
            # Postgres expands `*` when a view is created, so views are rebuilt after new columns.
            for name in _view_names(conn):
                conn.execute(sql.SQL("DROP VIEW IF EXISTS {}.{} CASCADE").format(sql.Identifier(SCHEMA), sql.Identifier(name)))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(SCHEMA)))
            failed = 0
            for file, statement in views:
                try:
                    with conn.transaction():  # a savepoint: one bad view must not stop the mirror
                        conn.execute(statement)
                except psycopg.Error as exc:
                    failed += 1
                    log.warning("warning: a view of queries/%s.sql cannot be created in the mirror (%s); "
                                "write it for Postgres in queries/mirror/%s.sql", file, one_line(str(exc)), file)
            if not failed:  # otherwise try (and warn) again next time
                conn.execute(
                    "INSERT INTO dsa_production.mirror_meta (key, value) VALUES ('views', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [digest],
                )
            changed = True
    return changed


def _view_names(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.views WHERE table_schema = %s", [SCHEMA])
    return [r[0] for r in rows]


def view_statements() -> list[tuple[str, str]]:
    """The catalog's views as (file, Postgres statement), in the order DuckDB creates them."""
    out = []
    for name in queries.view_files():
        if queries.exists(f"mirror/{name}"):
            out.append((f"mirror/{name}", queries.text(f"mirror/{name}")))
            continue
        try:
            out.extend((name, statement) for statement in to_postgres_statements(queries.text(name)))
        except Exception as exc:  # sqlglot cannot read it: the file's views are missing, said once per mirror
            log.warning("warning: queries/%s.sql cannot be translated for the mirror (%s); "
                        "write it for Postgres in queries/mirror/%s.sql", name, one_line(str(exc)), name)
    return out


# -- runs ------------------------------------------------------------------------------------


@dataclass
class MirrorResult:
    target: str
    mirrored: list[str] = field(default_factory=list)
    already: int = 0
    running: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    credentials: int = 0  # secrets (ciphertext) in the mirror's credentials table

    def summary(self) -> str:
        rows = sum(self.rows.values())
        text = f"mirrored {len(self.mirrored)} runs ({rows} rows) into {self.target} schema {SCHEMA}"
        text += f"; {self.already} already there"
        if self.running:
            text += f"; {len(self.running)} still running (status only)"
        return text


def _sync_row(store: Store, run_id: str) -> dict[str, Any] | None:
    runs = store.sync_runs().filter(pl.col("run_id") == run_id)
    return runs.row(0, named=True) if runs.height else None


def _upsert_sync_run(conn: psycopg.Connection, row: dict[str, Any], *, only_if_running: bool) -> None:
    columns = [c for c in SYNC_RUNS if c in row]
    values = [psycopg.types.json.Jsonb(json.loads(row[c])) if c in JSON_COLUMNS and row[c] is not None else row[c]
              for c in columns]
    statement = sql.SQL(
        "INSERT INTO {schema}.sync_runs ({cols}) VALUES ({vals}) ON CONFLICT (run_id) DO UPDATE SET {sets}"
    ).format(
        schema=sql.Identifier(SCHEMA),
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        sets=sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in columns if c != "run_id"),
    )
    if only_if_running:  # a finished row never goes back to `running`
        statement += sql.SQL(" WHERE sync_runs.status = 'running'")
    conn.execute(statement, values)


def _pg_columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position",
        [SCHEMA, table],
    )
    return [r[0] for r in rows]


def run_frame(files: Iterable[Path], schema: dict[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
    """A run's rows of one table, shaped to the mirror's columns (missing ones are NULL)."""
    parts = [pl.read_parquet(f) for f in files]
    data = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
    exprs = []
    for c in columns:
        dtype = schema.get(c, data.schema.get(c, pl.Utf8))
        expr = pl.col(c).cast(dtype) if c in data.columns else pl.lit(None, dtype).alias(c)
        if isinstance(dtype, (pl.List, pl.Struct, pl.Array)):  # as JSON text, for jsonb
            encoded = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
            expr = pl.when(expr.is_null()).then(None).otherwise(encoded).alias(c)
        exprs.append(expr)
    data = data.select(exprs)
    if "qualified_name" in data.columns:
        # Rows in index order let Postgres append to the (run_id, qualified_name) index's rightmost
        # page instead of inserting all over it: the index then costs little more than the rows.
        data = data.sort("qualified_name", nulls_last=True, maintain_order=True)
    # Postgres text cannot hold NUL, jsonb not even as \u0000: both become U+FFFD. One read-only
    # pass finds the columns that have any, as rewriting every string column would cost time.
    text = [c for c, t in data.schema.items() if t == pl.Utf8]
    if not text or data.height == 0:
        return data
    found = data.select(
        *[pl.col(c).str.contains("\x00", literal=True).any().alias(f"nul:{c}") for c in text],
        *[pl.col(c).str.contains("\\u0000", literal=True).any().alias(f"esc:{c}") for c in text if c in JSON_COLUMNS],
    ).row(0, named=True)
    dirty = [c for c in text if found[f"nul:{c}"]]
    if dirty:
        data = data.with_columns(pl.col(dirty).str.replace_all("\x00", "\ufffd", literal=True))
    for c in text:
        if found.get(f"esc:{c}"):
            data = data.with_columns(pl.col(c).map_elements(_without_nul, return_dtype=pl.Utf8))
    return data


def _without_nul(text: str) -> str:
    """Rare path: JSON holding NUL characters, which jsonb refuses, re-encoded with U+FFFD."""

    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return v.replace("\x00", "\ufffd")
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, dict):
            return {clean(k): clean(x) for k, x in v.items()}
        return v

    return json.dumps(clean(json.loads(text)), ensure_ascii=False, separators=(",", ":"))


def copy_frame(conn: psycopg.Connection, table: str, data: pl.DataFrame) -> None:
    """COPY a frame into a mirror table as CSV chunks rendered by Polars."""
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(SCHEMA), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, data.columns)))
    with conn.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        # The queued writer sends from its own thread, so Polars renders the next chunk meanwhile.
        for chunk in data.iter_slices(COPY_CHUNK_ROWS):
            # `necessary` quoting writes "" for an empty string and nothing for NULL, as COPY reads them.
            copy.write(chunk.write_csv(include_header=False, quote_style="necessary",
                                       datetime_format="%Y-%m-%dT%H:%M:%S%.f%z"))


def _run_frames(run_dir: Path, pg_columns: dict[str, list[str]]) -> Iterator[tuple[str, pl.DataFrame]]:
    """The run's frame of each table; the next one is read while the current one is copied."""
    jobs = [(table, schema, files) for table, schema in CATALOG_TABLES.items()
            if (files := sorted((run_dir / table).glob("part-*.parquet")))]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(run_frame, jobs[0][2], jobs[0][1], pg_columns[jobs[0][0]]) if jobs else None
        for i, (table, _, _) in enumerate(jobs):
            data = pending.result()
            if i + 1 < len(jobs):
                nxt = jobs[i + 1]
                pending = pool.submit(run_frame, nxt[2], nxt[1], pg_columns[nxt[0]])
            yield table, data


def mirror_run(conn: psycopg.Connection, store: Store, run: dict[str, Any], pg_columns: dict[str, list[str]]) -> dict[str, int] | None:
    """Mirror one finished run in one transaction. None if another mirror already has it."""
    counts: dict[str, int] = {}
    run_dir = store.runs_dir / run["run_id"]
    with conn.transaction():
        claimed = conn.execute(
            "INSERT INTO dsa_production.mirrored_runs (run_id, connection, run_type, status) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
            [run["run_id"], run["connection"], run["run_type"], run["status"]],
        ).fetchone()
        if not claimed:
            return None
        for table, data in _run_frames(run_dir, pg_columns):
            if data.height:
                copy_frame(conn, table, data)
            counts[table] = data.height
        _upsert_sync_run(conn, run, only_if_running=False)
        conn.execute(
            "UPDATE dsa_production.mirrored_runs SET row_counts = %s, mirrored_at = now() WHERE run_id = %s",
            [psycopg.types.json.Jsonb(counts), run["run_id"]],
        )
    return counts


def mirror(store: Store, dsn: str, progress: Callable[[int, int, str], None] | None = None) -> MirrorResult:
    """Mirror every finished run of `store` not yet in the mirror; publish running runs' status."""
    result = MirrorResult(target=describe_dsn(dsn))
    conn = connect(dsn)
    try:
        try:
            ensure_schema(conn)
            done = {r[0] for r in conn.execute("SELECT run_id FROM dsa_production.mirrored_runs")}
            pg_columns = {t: _pg_columns(conn, t) for t in CATALOG_TABLES}
            runs = store.sync_runs()
            todo = [r for r in runs.iter_rows(named=True) if r["run_id"] not in done]
            result.already = runs.height - len(todo)
            for i, run in enumerate(todo):
                if progress:
                    progress(i, len(todo), run["run_id"])
                if run["status"] not in FINISHED:
                    _upsert_sync_run(conn, run, only_if_running=True)
                    result.running.append(run["run_id"])
                    continue
                counts = mirror_run(conn, store, run, pg_columns)
                if counts is None:
                    result.already += 1
                    continue
                result.mirrored.append(run["run_id"])
                for table, n in counts.items():
                    result.rows[table] = result.rows.get(table, 0) + n
            if catalog_dsn(store.path) != dsn:  # a Postgres catalog's cache keeps its vault rows there already
                result.credentials = mirror_credentials(conn, store)
            if progress:
                progress(len(todo), len(todo), "")
        except psycopg.Error as exc:
            raise MirrorError(f"mirror to {result.target} failed: {one_line(str(exc))}") from None
    finally:
        conn.close()
    return result


def publish_running(store: Store, dsn: str, run_id: str) -> None:
    """Show a run that just started in the mirror's `sync_runs` (its rows follow when it ends)."""
    row = _sync_row(store, run_id)
    if row is None:
        return
    conn = connect(dsn)
    try:
        try:
            ensure_schema(conn)
            _upsert_sync_run(conn, row, only_if_running=True)
        except psycopg.Error as exc:
            raise MirrorError(f"mirror to {describe_dsn(dsn)} failed: {one_line(str(exc))}") from None
    finally:
        conn.close()


class MirrorHook:
    """A `Store` run hook: publish a run's status when it starts, mirror it when it ends.

    `strict` hooks (the catalog itself is Postgres) raise `MirrorError` from the run's end, since
    the run is not in the catalog people read; others (a `mirror:` copy) log a warning, and the
    next `dsa mirror` or run catches up.
    """

    def __init__(self, dsn: str, strict: bool = False):
        self.dsn = dsn
        self.strict = strict

    def __call__(self, event: str, store: Store, run_id: str) -> None:
        try:
            if event == "start":
                publish_running(store, self.dsn, run_id)
            else:
                mirror(store, self.dsn)
        except DsaError as exc:
            if self.strict and event == "finish":
                raise MirrorError(f"run {run_id} is kept in {store.path} but not in the catalog: {exc}") from None
            log.warning("warning: %s (run `dsa mirror` to catch up)", scrub(str(exc)))
