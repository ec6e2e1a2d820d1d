"""What every connector shares: the class contract and the normalizer.

A connector says how to open a read-only connection and which bulk catalog queries to run
(`queries/<type>/{schemas,tables,columns,constraints,indexes}.sql`); each query returns rows
with the standard keys below, and `normalize` turns them into the catalog's frames. So a new
engine is a small class plus a few SQL files.

Standard row keys (missing keys are null; `columns`/`ref_columns` are lists or JSON arrays;
`extra` is a dict or JSON object merged into `custom_attributes`):
  schemas:     schema_name, owner, comment, extra
  tables:      schema_name, table_name, table_type, owner, comment, row_estimate, size_bytes,
               view_definition, parent_schema, parent_table, extra
  columns:     schema_name, table_name, column_name, ordinal_position, data_type, type_family,
               is_nullable, column_default, is_identity, is_generated, generation_expression,
               comment, extra
  constraints: schema_name, table_name, constraint_name, constraint_type (primary_key | unique |
               foreign_key | check), columns, ref_schema, ref_table, ref_columns, definition,
               on_update, on_delete, extra
  indexes:     schema_name, table_name, index_name, is_unique, is_primary, method, columns
               (names or expressions), predicate, definition, extra
Any row of schemas/tables may also carry `database_name`, for sources that hold several
databases (DuckDB's attached databases): it becomes the entity's `attributes.database`.

Engines whose catalog lists one row per key column (MySQL's information_schema) group those rows
into the list form (the mysql connector does it with a Polars group_by). Constraint, index and
column rows may be given as Polars frames with these keys instead of dicts. Server engines may
share `ServerOptions` (a `dsn` URL or host/port/user/password/database keys). A connector
declares what its engine can express in `features`, so the conformance suite checks exactly those
things and says which it leaves out.

Profiling (`dsa.quality`) asks the connector everything engine-specific, the way sqlglot asks a
dialect: declared facts (the upper-case class attributes: how it samples, whether its sample is
seeded, whether a table's statements may run on several sessions, how the profile SQL is shaped)
and small methods with defaults for a plain SQL engine (session setup, statement timeout,
cancellation, a consistent snapshot, the sampled relation). docs/connectors.md, "Write a
connector", walks through them.
"""

from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from contextlib import contextmanager
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, model_validator

from dsa import queries
from dsa.options import SourceOptions
from dsa.errors import SourceError, register_secret
from dsa.types import type_family

if TYPE_CHECKING:  # Polars is imported by dsa.normalize, sqlglot by profiling, once they run
    from sqlglot import exp

    from dsa.normalize import Extraction
    from dsa.options import QualityOptions

REGISTRY: dict[str, type["Connector"]] = {}

CATALOG_QUERIES = ("schemas", "tables", "columns", "constraints", "indexes")

Progress = Callable[[int, int, str], None]

# What an engine's catalog can express; `Connector.features` lists the ones a connector reports.
FEATURES = frozenset({"primary_keys", "foreign_keys", "unique_constraints", "indexes", "views", "defaults"})


class ServerOptions(SourceOptions):
    """A database server: either `dsn` (a URL) or the separate keys; the keys win over the URL."""

    dsn: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, gt=0, lt=65536)
    user: str | None = None
    password: str | None = None
    database: str | None = None

    @model_validator(mode="after")
    def _where(self):
        if not self.dsn and not self.host:
            raise ValueError("give either dsn or host")
        if self.dsn:
            url = urlsplit(self.dsn)
            if not url.scheme or not url.netloc:
                raise ValueError("dsn: not a URL like scheme://user@host:port/database")
            try:
                url.port  # noqa: B018 -- a port out of range raises here, rather than at connect
            except ValueError as exc:
                raise ValueError(f"dsn: {str(exc).lower()}") from None
        register_secret(self.password)
        if self.dsn:
            register_secret(urlsplit(self.dsn).password and unquote(urlsplit(self.dsn).password))
        return self

    def target(self, default_port: int) -> dict[str, Any]:
        """host, port, user, password, database and the URL's query parameters, merged."""
        url = urlsplit(self.dsn) if self.dsn else None
        params = dict(parse_qsl(url.query)) if url else {}
        return {
            "host": self.host or (url.hostname if url else None) or "localhost",
            "port": self.port or (url.port if url else None) or default_port,
            "user": self.user or (unquote(url.username) if url and url.username else None),
            "password": self.password if self.password is not None else (
                unquote(url.password) if url and url.password else None),
            "database": self.database or (unquote(url.path.lstrip("/")) if url and url.path.strip("/") else None),
            "params": params,
        }


class Connector(ABC):
    """Base class. Subclasses set `type`, `dialect`, `Options` and implement `connect`."""

    type: ClassVar[str]
    dialect: ClassVar[str]  # sqlglot dialect of the engine's SQL
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    catalog_queries: ClassVar[tuple[str, ...]] = CATALOG_QUERIES
    features: ClassVar[frozenset[str]] = FEATURES
    # the engine indexes every foreign key's columns by itself, without listing that index (dsa.lint)
    FOREIGN_KEYS_INDEXED: ClassVar[bool] = False

    # -- profiling facts (dsa.profile, dsa.table_profile); the defaults suit a plain SQL engine --
    # TABLESAMPLE methods the engine has: system (reads a fraction of the blocks), bernoulli (each
    # row with the given probability), reservoir (a fixed number of rows). An engine with none
    # profiles every row unless it overrides `sample_source` with a per-row sample of its own.
    SAMPLE_METHODS: ClassVar[tuple[str, ...]] = ()
    # the sample takes dsa's seed and draws the same rows every time (recorded as `sample_seed`)
    SAMPLE_IS_SEEDED: ClassVar[bool] = False
    # a table's column statements may run on several sessions reading one snapshot (share_snapshot)
    PARALLEL_SESSIONS: ClassVar[bool] = False
    # with PARALLEL_SESSIONS: those statements run on sessions of their own (`session`), not on the
    # table's connection (an engine running in dsa's process splits its cores among them)
    OWN_SESSIONS: ClassVar[bool] = False
    # sampled by an explicit percentage, the table's row count is the catalog's estimate, recorded
    # as estimated (row_count_estimated), not a count(*): for engines whose count reads every row
    ESTIMATED_COUNT_WHEN_SAMPLED: ClassVar[bool] = False
    # the profile statement may say WITH x AS MATERIALIZED
    MATERIALIZE: ClassVar[bool] = False
    # NaN and infinity tests: literals (v = 'NaN'::DOUBLE, v IN ('Infinity'::DOUBLE, ...)),
    # functions (isnan(v), isinf(v)), overflow (no NaN; the infinities are 9e999 and -9e999),
    # None (the engine has neither)
    NAN: ClassVar[str | None] = None
    # number-like text: regexp (REGEXP_LIKE) | glob (two GLOBs) | instr (REGEXP_INSTR > 0)
    REGEX: ClassVar[str] = "regexp"
    # one statement per column: full (on a full scan only: a table-wide statement keeps every
    # column's grouped rows alive until it ends; a sample is drawn once) | always (with
    # PARALLEL_SESSIONS: a seeded sample picks the same rows in every statement) | None
    SPLIT: ClassVar[str | None] = None
    # a cheap necessary condition for whitespace-only and number-like text, tested before TRIM and
    # the regexp: no_letter (NOT GLOB '*[A-Za-z]*') | leading (the value sorts before 'A') | None
    PREFILTER: ClassVar[str | None] = None
    # text columns: statistics and top values from the grouped rows grouped again by count
    BY_COUNT: ClassVar[bool] = False
    # quartiles: a running sum of the integer counts instead of doubles
    LEAN_WINDOWS: ClassVar[bool] = False
    # the most WITH elements one statement may name (MariaDB: 64); columns are profiled in batches
    MAX_WITH: ClassVar[int | None] = None
    # text grouped on its bytes (per-value measures exact), then regrouped under the column's
    # collation for distinct count and top values (MySQL's case- and pad-insensitive collations)
    BYTE_GROUPS: ClassVar[bool] = False
    # how the engine writes a boolean column's false and true (MySQL's tinyint(1): 0 and 1)
    BOOLEAN_TEXT: ClassVar[tuple[str, str]] = ("false", "true")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            REGISTRY[cls.type] = cls

    def __init__(self, name: str, options: SourceOptions):
        self.name = name
        self.options = options

    # -- what each engine provides --------------------------------------------------------

    def describe(self) -> str:
        """Where the source is, for messages: `postgres at db:5432/prod`. Never a secret."""
        return self.type

    @abstractmethod
    def connect(self):
        """A read-only DB-API connection with statement timeouts; raises `SourceError`."""

    def database_name(self, conn) -> str | None:
        return None

    def query_params(self, conn) -> Any:
        """Parameters every catalog query of this connector takes (e.g. the database to read)."""
        return None

    def cannot_connect(self, detail: Any, verb: str = "connect to") -> SourceError:
        """The one-line error for a source that cannot be reached, logged into or opened."""
        return SourceError(f"cannot {verb} source '{self.name}' ({self.describe()}): {detail}")

    def fetch(self, conn, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Run `queries/<type>/<query>.sql` and return rows as dicts."""
        cur = conn.cursor()
        try:
            cur.execute(queries.text(f"{self.type}/{query}"), params or ())
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            cur.close()

    def extract_raw(self, conn, progress: Progress | None = None) -> dict[str, list[dict[str, Any]]]:
        raw = {}
        params = self.query_params(conn)
        for i, query in enumerate(self.catalog_queries):
            if progress:
                progress(i, len(self.catalog_queries) + 1, query)
            raw[query] = self.fetch(conn, query, params)
            self.arrived(query, raw[query])
        return raw

    # told of each catalog query's rows as they arrive, in the reading thread (a scan's lineage
    # starts parsing view SQL then: dsa.lineage_early); must be quick and never raise
    on_rows: Callable[[str, Any], None] | None = None

    def arrived(self, query: str, rows: Any) -> None:
        if self.on_rows is not None:
            try:
                self.on_rows(query, rows)
            except Exception:  # an early start is an optimization: the scan goes on without it
                pass

    def unreadable(self, raw: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
        """Objects the user may not read (engine-specific); the run ends partial."""
        return []

    # -- shared -------------------------------------------------------------------------

    def read(self, progress: Progress | None = None) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        """Connect, run the bulk catalog queries and close: their rows and the database's name.

        Needs no Polars and no catalog, so a scan can start it in a thread while those load."""
        conn = self.connect()
        try:
            database = self.database_name(conn)
            return self.extract_raw(conn, progress), database
        finally:
            try:
                conn.close()
            except Exception:
                pass

    def build(self, raw: dict[str, list[dict[str, Any]]], database: str | None, run_id: str,
              progress: Progress | None = None, tenant: str = "default") -> Extraction:
        """The catalog frames from what `read` returned, plus the objects the user may not read."""
        from dsa.normalize import normalize  # Polars loads with it: a scan sends its queries first

        with paused_gc():
            extraction = normalize(self, raw, run_id=run_id, database=database, tenant=tenant, progress=progress)
        extraction.errors.extend(self.unreadable(raw))
        if progress:
            n = extraction.tables.height
            progress(n, n, "done")
        return extraction

    def extract(self, run_id: str, progress: Progress | None = None, tenant: str = "default") -> Extraction:
        """`read` then `build`."""
        with paused_gc():
            raw, database = self.read(progress)
            return self.build(raw, database, run_id, progress, tenant)

    def type_family(self, data_type: str | None) -> str:
        return type_family(data_type, self.dialect)

    def wanted(self, schema: str, table: str | None = None) -> bool:
        """Apply the source's include/exclude patterns (table patterns match `t` or `s.t`)."""
        inc, exc = self.options.include, self.options.exclude
        if not self._schema_wanted(schema):
            return False
        if table is None or not (inc.tables or exc.tables):
            return True
        names = (table, f"{schema}.{table}")
        if inc.tables and not any(fnmatchcase(n, p) for p in inc.tables for n in names):
            return False
        return not any(fnmatchcase(n, p) for p in exc.tables for n in names)

    def _schema_wanted(self, schema: str) -> bool:
        """The schema patterns' verdict, worked out once per schema (a scan asks once per table)."""
        known = self.__dict__.setdefault("_schema_verdicts", {})
        verdict = known.get(schema)
        if verdict is None:
            inc, exc = self.options.include, self.options.exclude
            verdict = known[schema] = not (
                (inc.schemas and not any(fnmatchcase(schema, p) for p in inc.schemas))
                or any(fnmatchcase(schema, p) for p in exc.schemas))
        return verdict

    # -- checks (dsa.checks.plan) ------------------------------------------------------------
    # GROUP BY GROUPING SETS: the duplicate checks of several columns group them in one pass
    # (else one statement per column, side by side on engines with PARALLEL_SESSIONS)
    GROUPING_SETS: ClassVar[bool] = False

    def regex_match(self, value: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        """`value` matches the regular expression `pattern`, as REGEX says the engine writes it
        (an engine declaring `glob` has no REGEXP function for profiling; checks need real
        patterns, so such a connector registers one on connecting)."""
        from sqlglot import exp

        if self.REGEX == "instr":
            return exp.GT(this=exp.Anonymous(this="REGEXP_INSTR", expressions=[value, pattern]),
                          expression=exp.Literal.number(0))
        return exp.RegexpLike(this=value, expression=pattern)

    # -- profiling: methods an engine overrides where it differs ------------------------------
    # sqlglot is imported in these methods, not at the top: a scan never needs it.

    def profile_relation(self, schema: str, table: str) -> exp.Expression:
        """How a scanned table is named in the engine's SQL."""
        from sqlglot import exp

        return exp.table_(table, db=schema, quoted=True)

    def prepare_profile_session(self, conn, options: QualityOptions) -> None:
        """Set up a connection that profiles one table (`quality.*` settings); by default its
        statement timeout."""
        self.statement_timeout(conn, options.timeout_s)

    def statement_timeout(self, conn, seconds: float) -> None:
        """The engine's own statement timeout, a second line of defence behind `canceller`;
        engines without one keep the default (nothing)."""

    def canceller(self, conn) -> Callable[[], None]:
        """A function that stops the statement running on `conn`, called from another thread when
        the table's deadline passes or on Ctrl-C: the driver's interrupt or cancel. A driver with
        neither gets a function that does nothing (the statement timeout then ends the statement)."""
        for name in ("interrupt", "cancel_safe", "cancel"):
            method = getattr(conn, name, None)
            if callable(method):
                return method
        return _nothing

    def session(self, sessions: int):
        """With PARALLEL_SESSIONS: a further connection, one of `sessions` that run a table's
        statements side by side (by default like any other)."""
        return self.connect()

    def begin_snapshot(self, conn) -> None:
        """Make the table's statements on `conn` read one snapshot (row count, profile, foreign-key
        checks); engines without transactions keep the default (nothing)."""

    def share_snapshot(self, conn) -> str | None:
        """With PARALLEL_SESSIONS: after `begin_snapshot(conn)`, a token that lets other sessions
        read the same snapshot (`join_snapshot`). None: the engine has no such thing, and each
        session reads the table as it is when its statement runs (declare PARALLEL_SESSIONS
        without a snapshot only for sources that do not change while profiled)."""
        return None

    def join_snapshot(self, conn, snapshot: str | None) -> None:
        """With PARALLEL_SESSIONS: make the fresh session `conn` read `share_snapshot`'s snapshot."""

    def sample_source(self, rel: exp.Expression, percent: float | None, rows: int | None,
                      large: bool) -> tuple[exp.Expression, str]:
        """`rel` aliased `src`, sampled to `percent` percent of its rows, and the method's name.

        `rows`: the user asked for this many rows (a reservoir draws exactly that many); `large`:
        the table has at least a million rows. From SAMPLE_METHODS: reservoir for a row count,
        system (blocks) for a large table, bernoulli (rows) otherwise. An engine without any
        TABLESAMPLE reads every row: method `full`, which is what the table's metrics then say."""
        from dsa import sampling

        methods = self.SAMPLE_METHODS
        if percent is None or not methods:
            return sampling.whole(rel), "full"
        if rows is not None and "reservoir" in methods:
            method = "reservoir"
        elif large and "system" in methods:
            method = "system"
        else:
            method = "bernoulli" if "bernoulli" in methods else methods[0]
        return sampling.tablesample(rel, method, percent, rows, self.SAMPLE_IS_SEEDED), method

    def key_sample(self, conn, schema: str, table: str, rel: exp.Expression, percent: float,
                   columns: list[dict[str, Any]]) -> tuple[exp.Expression, str] | None:
        """A sample that reads only part of the table through its key (ranges of the primary key,
        chosen by dsa's seed), or None: `sample_source` draws the sample."""
        return None

    def table_findings(self, conn, schema: str, table: str) -> list[dict[str, Any]]:
        """What reading the table found wrong with its data, as findings of the table: dicts with
        `finding` (e.g. `malformed_rows`), `count` and `message` (files: CSV rows of another
        width than the header's). Engines that store typed rows find none."""
        return []

    def resample(self, rel: exp.Expression, percent: float, method: str,
                 error: Exception) -> tuple[exp.Expression, str] | None:
        """When the engine rejected the sampled statement (`error`): another way to sample the
        relation, or None to find the columns it rejects instead."""
        return None

    def profile_statements(self, specs: list, source: exp.Expression, top_k: int, now) -> list[str]:
        """The statements profiling the groupable columns of `specs` (`dsa.profile.ColumnSpec`) over
        `source`: by default the shared SQL (`dsa.profile.statements`), shaped by the facts above."""
        from dsa import profile

        return profile.statements(specs, source, self, top_k, now)

    def profile_rows(self, rows: list[tuple], specs: list) -> list[tuple]:
        """The rows of `profile_statements` as `dsa.profile.parse_result` reads them (an engine
        whose statements answer in a shape of their own turns them into those rows here)."""
        return rows

    def sample_seed(self, method: str) -> int | None:
        """The seed recorded for a sample drawn by `method`."""
        from dsa import sampling

        return sampling.SEED if self.SAMPLE_IS_SEEDED and method != "full" else None

    def shown_value(self, value: exp.Expression, family: str) -> exp.Expression:
        """A value as an expression the engine casts to its text form (min, max, top values)."""
        return value

    def byte_length(self, value: exp.Expression) -> exp.Expression:
        """The length in bytes of a binary value."""
        from sqlglot import exp

        return exp.Anonymous(this="OCTET_LENGTH", expressions=[value])

    def invalid_date(self, value: exp.Expression) -> exp.Expression | None:
        """Besides dates before 1900: which stored dates are unreadable (engines that keep dates
        as text); None where the type guarantees a date."""
        return None


def _nothing() -> None:
    """The canceller of a driver that cannot interrupt a statement."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (if on) for a block.

    Extraction allocates many objects that all live until the end (rows, dicts, lists) and no
    reference cycles: the collector would re-scan them again and again (a third of the CPU time
    of a large scan)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
