"""MySQL and MariaDB (PyMySQL). A database is a schema; without `database`, every one the user sees.

Sessions are read-only (`SET SESSION TRANSACTION READ ONLY`, autocommit, so each statement is a
read-only transaction) with a statement timeout: `max_statement_time` (seconds) on MariaDB,
`max_execution_time` (milliseconds) on MySQL. Partitions are not separate tables here: they are
listed in the table's custom attribute `partitioning`.

Catalog rows travel as JSON text, one field per row (the columns: one row per table): PyMySQL
decodes each field in Python, which cost about as much as the server's own work.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from dsa import queries
from dsa.connectors.base import Connector, ServerOptions
from dsa.errors import SourceError
from dsa.types import type_family

if TYPE_CHECKING:  # Polars is loaded while the catalog queries run (see dsa.scan)
    import polars as pl


class MysqlOptions(ServerOptions):
    ssl_mode: Literal["DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] | None = None
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    charset: str = "utf8mb4"


class MysqlConnector(Connector):
    type = "mysql"
    dialect = "mysql"
    Options = MysqlOptions

    # profiling (see dsa.connectors.base): no TABLESAMPLE, but RAND(seed) draws a repeatable
    # number per row (`sample_source`); text is counted and ordered by the column's collation
    # (grouped on its bytes first, so lengths and blank counts see each value as written)
    SAMPLE_IS_SEEDED = True
    BOOLEAN_TEXT = ("0", "1")  # tinyint(1)
    BYTE_GROUPS = True
    MAX_WITH = 64  # MariaDB: "Too many WITH elements in WITH clause" past a 64-bit table map
    REGEX = "instr"
    # a statement per column, each reading its grouped rows once (`dsa.profile_once`: MariaDB groups
    # the table again for every reference to a WITH element), several at once on their own sessions
    PARALLEL_SESSIONS = True
    # InnoDB counts rows by reading the whole primary key (a quarter of a 10% sample's work)
    ESTIMATED_COUNT_WHEN_SAMPLED = True
    _server_without_tls = False  # learnt by a first session in PREFERRED mode (see connect)

    def target(self) -> dict[str, Any]:
        return self.options.target(3306)

    def describe(self) -> str:
        t = self.target()
        return f"mysql at {t['host']}:{t['port']}" + (f"/{t['database']}" if t["database"] else "")

    def connect(self):
        import pymysql
        from pymysql.constants.CLIENT import SSL as CLIENT_SSL

        t = self.target()
        o = self.options
        ssl_mode = (o.ssl_mode or t["params"].get("ssl_mode") or t["params"].get("ssl-mode") or "").upper()
        kwargs: dict[str, Any] = dict(
            host=t["host"], port=int(t["port"]), user=t["user"], password=t["password"] or "",
            database=t["database"], charset=o.charset, connect_timeout=max(1, int(o.connect_timeout_s)),
            # PyMySQL's connect_timeout covers only the TCP connect: the handshake and login are reads,
            # so a server that accepts and never answers would hold us for read_timeout; bound them too
            read_timeout=max(1, int(o.connect_timeout_s)), autocommit=True,
        )
        ssl_ca = o.ssl_ca or t["params"].get("ssl_ca")
        if ssl_mode == "DISABLED":
            kwargs["ssl_disabled"] = True
        elif ssl_mode or ssl_ca or o.ssl_cert:
            kwargs.update(ssl_ca=ssl_ca, ssl_cert=o.ssl_cert, ssl_key=o.ssl_key,
                          ssl_verify_cert=ssl_mode in ("VERIFY_CA", "VERIFY_IDENTITY"),
                          ssl_verify_identity=ssl_mode == "VERIFY_IDENTITY")
            if not (ssl_ca or o.ssl_cert):
                # without files: encrypt, do not verify. PyMySQL takes an empty dict as PREFERRED (falls
                # back to plaintext); a non-empty one makes it refuse a server without TLS, as REQUIRED must
                kwargs["ssl"] = {"check_hostname": False} if ssl_mode == "REQUIRED" else {}
        # PREFERRED (the default) builds a TLS context for every session, 20 ms of loading the
        # system's CA store, to try TLS; once a session found that the server offers none, the
        # next ones (the scan's second session) do not try
        preferred = ssl_mode in ("", "PREFERRED") and not (ssl_ca or o.ssl_cert)
        if preferred and self._server_without_tls:
            kwargs["ssl_disabled"] = True
        for key, path in (("ssl_ca", ssl_ca), ("ssl_cert", o.ssl_cert), ("ssl_key", o.ssl_key)):
            if path and not Path(path).expanduser().is_file():
                raise self.cannot_connect(f"{key} file {path} not found")
        try:
            conn = pymysql.connect(**kwargs)
        except pymysql.MySQLError as exc:
            if "timed out" in str(exc):
                raise self.cannot_connect(f"connection timeout expired (no answer within "
                                          f"connect_timeout_s={o.connect_timeout_s:g}s)") from None
            raise self.cannot_connect(_message(exc)) from None
        except OSError as exc:
            raise self.cannot_connect(exc) from None
        conn._read_timeout = int(o.timeout_s) + 30  # connected: back to the guard for long statements
        if preferred:
            self._server_without_tls = not conn.server_capabilities & CLIENT_SSL
        self.mariadb = "mariadb" in conn.get_server_info().lower()
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            if self.mariadb:
                cur.execute("SET SESSION max_statement_time = %s", (float(o.timeout_s),))
            else:
                cur.execute("SET SESSION max_execution_time = %s", (int(o.timeout_s * 1000),))
        return conn

    def database_name(self, conn) -> str | None:
        return self.target()["database"]

    # -- profiling ------------------------------------------------------------------------

    def statement_timeout(self, conn, seconds: float) -> None:
        try:
            with conn.cursor() as cur:
                if self.mariadb:
                    cur.execute("SET SESSION max_statement_time = %s", (float(seconds),))
                else:
                    cur.execute("SET SESSION max_execution_time = %s", (int(seconds * 1000),))
        except Exception:  # the source's own timeout (set on connecting) still holds
            pass

    def prepare_profile_session(self, conn, options) -> None:
        """The statement timeout, and room in memory for a column's grouped rows: the windows over
        them write a temporary table, which past tmp_table_size (16 MB by default) goes to disk
        and is read again for every window (three times slower). Only this session's own
        temporary tables; the source is never written."""
        super().prepare_profile_session(conn, options)
        with conn.cursor() as cur:
            cur.execute("SET SESSION tmp_table_size = GREATEST(@@tmp_table_size, %s), "
                        "max_heap_table_size = GREATEST(@@max_heap_table_size, %s)", (PROFILE_TMP_BYTES, PROFILE_TMP_BYTES))

    def profile_statements(self, columns, source, top_k, now=None):
        from dsa import profile_once

        return profile_once.statements(columns, source, self, top_k, now)

    def begin_snapshot(self, conn) -> None:
        """A read-only transaction with its consistent snapshot (InnoDB)."""
        with conn.cursor() as cur:
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def join_snapshot(self, conn, snapshot) -> None:
        """MySQL and MariaDB cannot hand a snapshot to another session: each of a table's sessions
        starts its own the moment it opens, right after the first one's (a row written in
        between would be seen by some of its columns only)."""
        self.begin_snapshot(conn)

    def canceller(self, conn):
        """KILL QUERY from a second session (`kill_query.sql`): PyMySQL cannot interrupt a statement."""
        thread_id = conn.thread_id()

        def kill() -> None:
            other = self.connect()
            try:
                with other.cursor() as cur:
                    cur.execute(queries.text("mysql/kill_query"), (thread_id,))
            finally:
                other.close()

        return kill

    def shown_value(self, value, family):
        """Spatial values in their well-known text (MariaDB casts no geometry to CHAR)."""
        from sqlglot import exp

        return exp.Anonymous(this="ST_AsText", expressions=[value]) if family == "geometry" else value

    def sample_source(self, rel, percent, rows, large):
        """`WHERE RAND(42) < fraction`: MySQL and MariaDB seed RAND once per statement and draw a
        new number for each row, so the same rows are drawn every time."""
        from sqlglot import exp

        from dsa import sampling

        if percent is None:
            return sampling.whole(rel), "full"
        keep = exp.LT(this=exp.Rand(this=exp.Literal.number(sampling.SEED)), expression=exp.Literal.number(percent / 100.0))
        return sampling.filtered(rel, keep), "bernoulli"

    def key_sample(self, conn, schema, table, rel, percent, columns):
        """`percent` of the blocks of the primary key's leading column (an integer): its range split
        into KEY_BLOCKS blocks of equal width, of which a seeded choice is read by index range
        scans, so only about `percent` of the rows are read (RAND() reads every row). None for a
        table without such a key.

        The server checks every row it reads against the condition again: as a list of ranges,
        range after range (a row of the last of a hundred ranges is compared a hundred times); as
        a tree split at the middle range (`_ranges_tree`), a dozen times.
        """
        import random

        from sqlglot import exp

        from dsa import sampling

        with conn.cursor() as cur:
            cur.execute(queries.text("mysql/sample_key"), (schema, table))
            found = cur.fetchone()
            family = {c["column_name"]: c.get("type_family") for c in columns}
            if not found or family.get(found[0]) not in ("integer", "boolean"):
                return None
            key = exp.column(found[0], table=sampling.SRC, quoted=True)
            bounds = exp.select(exp.Min(this=key), exp.Max(this=key.copy())).from_(sampling.whole(rel))
            cur.execute(bounds.sql(dialect=self.dialect))
            lo, hi = cur.fetchone()
        if lo is None:
            return None
        lo, hi = int(lo), int(hi)
        blocks = min(KEY_BLOCKS, hi - lo + 1)
        width = -(-(hi - lo + 1) // blocks)
        chosen = sorted(random.Random(sampling.SEED).sample(range(blocks), max(1, round(blocks * percent / 100))))
        ranges: list[list[int]] = []
        for b in chosen:  # neighbouring blocks read as one range
            start, end = lo + b * width, min(hi, lo + (b + 1) * width - 1)
            if ranges and ranges[-1][1] + 1 == start:
                ranges[-1][1] = end
            else:
                ranges.append([start, end])
        return sampling.filtered(rel, _ranges_tree(exp.column(found[0], quoted=True), ranges)), "key_ranges"

    def query_params(self, conn) -> dict[str, Any]:
        return {"database": self.target()["database"]}

    def type_family(self, data_type: str | None) -> str:
        text = (data_type or "").lower()
        if text.startswith(("enum(", "set(")):
            return "enum"
        if text.startswith("tinyint(1)"):
            return "boolean"  # how MySQL spells BOOLEAN
        base = text.split("(")[0].split(" ")[0]
        if base in _SPATIAL:
            return "geometry"
        # COLUMN_TYPE's common spellings, looked up without parsing: what dsa.types answers for
        # them whatever their modifiers, without importing sqlglot (a sizeable share of a scan)
        return _FAMILIES.get(base) or type_family(data_type, self.dialect)

    def fetch(self, conn, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Run `queries/mysql/<query>.sql`, whose rows are one JSON object each, decoded in one pass
        (PyMySQL decodes every field in Python: one text field per row costs a fraction of ten)."""
        return orjson.loads("[" + ",".join(self._texts(conn, query, params)) + "]")

    def _texts(self, conn, query: str, params: Any) -> list[str]:
        with conn.cursor() as cur:
            cur.execute(queries.text(f"mysql/{query}"), params or ())
            return [row[0] for row in cur.fetchall()]

    def extract_raw(self, conn, progress=None):
        raw = {"schemas": self.fetch(conn, "schemas", self.query_params(conn))}
        wanted = [r["schema_name"] for r in raw["schemas"] if self.wanted(r["schema_name"])]
        checks_query = "checks" if self.mariadb else "checks_mysql"
        here = ("tables", "constraints", "indexes", checks_query, "partitions", "views", "references")
        for q in here:
            raw[q] = []
        # The rows of keys and indexes (a row per column) stay JSON texts until the end, and are
        # then read into Polars frames in one go: no Python object per row. (Not before: a scan
        # imports Polars meanwhile, and a second import would wait for it.)
        # Queries that can only find rows of things an earlier query found: skipped when it found
        # none (a key named "foreign_key" may send the references query needlessly: harmless).
        needs = {"partitions": lambda: any("partitioned" in (t["create_options"] or "").lower() for t in raw["tables"]),
                 "views": lambda: any(t["table_type"] == "view" for t in raw["tables"]),
                 "references": lambda: any('"foreign_key"' in text for text in raw["constraints"])}
        columns = None
        if wanted:
            # Two sessions: the columns query, the largest, runs on a second one (opened by the
            # thread too) while this one runs the others, so the server works on both at once and
            # this process decodes one query's rows while it waits for another's.
            params = {"schemas": wanted}
            # The check constraints follow the columns there: that evens the two sessions' work.
            with ThreadPoolExecutor(max_workers=1) as pool:
                job = pool.submit(self._side_queries, params, checks_query)
                for i, q in enumerate(here):
                    if progress:
                        progress(i + 1, len(here) + 2, q)
                    if q == checks_query:
                        continue
                    if q in ("constraints", "indexes"):
                        raw[q] = self._texts(conn, q, params)
                    elif q not in needs or needs[q]():
                        raw[q] = self.fetch(conn, q, params)
                columns, raw[checks_query] = job.result()
            columns = self._default_view_types(conn, columns, raw["tables"])
        checks, partitions = raw.pop(checks_query), raw.pop("partitions")
        views = {(v["schema_name"], v["table_name"]): v for v in raw.pop("views")}

        json_columns = set()
        for row in checks:
            m = _JSON_CHECK.fullmatch(row["definition"] or "")
            if m:
                json_columns.add((row["schema_name"], row["table_name"], m.group(1).replace("``", "`")))
            row["columns"] = [m.group(1).replace("``", "`")] if m else []
            row["extra"] = orjson.dumps({"level": row.pop("level")}).decode() if row.get("level") else None
        raw["constraints"] = _keys(_frame(raw["constraints"], _KEY_FIELDS), raw.pop("references"), checks)
        raw["indexes"] = _indexes(_frame(raw["indexes"], _INDEX_FIELDS))
        raw["columns"] = _mark_json(columns, json_columns) if columns is not None else []

        by_table: dict[tuple, list] = {}
        for p in partitions:
            by_table.setdefault((p["schema_name"], p["table_name"]), []).append(p)
        for row in raw["tables"]:
            extra = {k: row.pop(k) for k in _TABLE_EXTRA}
            view = views.get((row["schema_name"], row["table_name"]))
            if view:
                row["view_definition"] = view["view_definition"]
                extra.update({k: view[k] for k in ("is_updatable", "check_option", "security_type")})
            parts = by_table.get((row["schema_name"], row["table_name"]))
            if parts:
                first = parts[0]
                extra["partitioning"] = {
                    "method": first["method"], "expression": first["expression"],
                    "subpartition_method": first["subpartition_method"],
                    "subpartition_expression": first["subpartition_expression"],
                    "partitions": [
                        {"name": p["partition_name"], "subpartition": p["subpartition_name"],
                         "position": p["partition_position"], "description": p["description"],
                         "row_estimate": p["row_estimate"], "size_bytes": p["size_bytes"], "comment": p["comment"]}
                        for p in parts
                    ],
                }
            row["extra"] = extra
        return raw

    def _default_view_types(self, conn, columns: pl.DataFrame | None, tables: list[dict[str, Any]]):
        """Types of view columns as a default session reports them.

        The columns query raises group_concat_max_len for itself, and the server types a view's
        GROUP_CONCAT / JSON_ARRAYAGG columns by that length (longtext where a default session says
        mediumtext). Views with such a column are read again here, on the session that never
        raised it."""
        import polars as pl

        views = {(t["schema_name"], t["table_name"]) for t in tables if t["table_type"] == "view"}
        if columns is None or not views:
            return columns
        long = columns.filter(pl.col("base_type").is_in(["longtext", "longblob"]))
        long = long.filter(pl.Series([k in views for k in zip(long["schema_name"], long["table_name"])], dtype=pl.Boolean))
        if long.is_empty():
            return columns
        fixed = _frame(self._texts(conn, "view_column_types", {"schemas": sorted(set(long["schema_name"])),
                                                               "tables": sorted(set(long["table_name"]))}),
                       _VIEW_TYPE_FIELDS)
        keys = ["schema_name", "table_name", "column_name"]
        patched = columns.join(fixed, on=keys, how="left", suffix="_default").with_columns(
            pl.coalesce(f"{k}_default", k).alias(k) for k in ("data_type", "base_type", "max_length"))
        return _with_extra(patched.select(columns.columns))

    def _side_queries(self, params: dict[str, Any], checks_query: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
        """On a session of its own: columns.sql, as the standard column rows, then the check
        constraints."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION group_concat_max_len = %s", (GROUP_CONCAT_MAX_LEN,))
                # a table's columns in one row; a row the server cut short (a table whose columns
                # outgrow group_concat_max_len or max_allowed_packet) means one row per column
                for per_row in (COLUMNS_PER_ROW, 1):
                    cur.execute(queries.text("mysql/columns"), {**params, "columns_per_row": per_row})
                    frame = _columns(cur.fetchall(), self.mariadb)
                    if frame is not None:
                        return frame, self.fetch(conn, checks_query, params)
        finally:
            conn.close()
        raise SourceError(f"source '{self.name}' ({self.describe()}): catalog query columns failed: "
                          f"a column's definition is longer than the server's max_allowed_packet")


PROFILE_TMP_BYTES = 256 << 20  # a profiling session's in-memory temporary tables may grow to this
KEY_BLOCKS = 1000  # a key-range sample picks among this many blocks of the key's range
COLUMNS_PER_ROW = 10_000  # columns.sql: more than a table can have (MySQL and MariaDB: 4,096)
GROUP_CONCAT_MAX_LEN = 1 << 30  # past max_allowed_packet (16 MB by default) the server cuts anyway
_TABLE_EXTRA = ("engine", "collation", "auto_increment", "data_bytes", "index_bytes", "create_options")
_JSON_CHECK = re.compile(r"json_valid\(`((?:[^`]|``)+)`\)", re.IGNORECASE)
_FAMILIES = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"), "integer"),
    **dict.fromkeys(("decimal", "numeric"), "decimal"),
    **dict.fromkeys(("float", "double", "real"), "float"),
    **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext"), "string"),
    **dict.fromkeys(("bit", "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"), "binary"),
    "date": "date", "datetime": "timestamp", "timestamp": "timestamp", "time": "time", "json": "json",
}
_SPATIAL = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
            "geometrycollection", "geomcollection"}


def _ranges_tree(key, ranges: list[list[int]]):
    """`key` in one of the sorted, disjoint `ranges`, as a condition the range optimizer reads as
    those ranges and a row is checked against in about 2 log2(len(ranges)) comparisons:
    (key <= end of the middle range AND left half) OR (key >= its successor's start AND right half)."""
    from sqlglot import exp

    if len(ranges) <= 2:
        return exp.or_(*[exp.Between(this=key.copy(), low=exp.Literal.number(a), high=exp.Literal.number(b))
                         for a, b in ranges])
    mid = len(ranges) // 2
    left = exp.and_(exp.LTE(this=key.copy(), expression=exp.Literal.number(ranges[mid - 1][1])),
                    exp.paren(_ranges_tree(key, ranges[:mid])))
    right = exp.and_(exp.GTE(this=key.copy(), expression=exp.Literal.number(ranges[mid][0])),
                     exp.paren(_ranges_tree(key, ranges[mid:])))
    return exp.or_(exp.paren(left), exp.paren(right))


def _message(exc: Exception) -> str:
    """PyMySQL's (code, text) pair as the text alone."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):
        return args[1]
    return str(exc)


# columns.sql's JSON array, field by field: standard row keys, and the raw fields the flags and
# the custom attributes are worked out from
_COLUMN_FIELDS = {
    "schema_name": "Utf8", "table_name": "Utf8", "column_name": "Utf8", "ordinal_position": "Int64",
    "data_type": "Utf8", "nullable_text": "Utf8", "column_default": "Utf8", "extra_text": "Utf8",
    "generation_text": "Utf8", "comment_text": "Utf8", "base_type": "Utf8", "character_set": "Utf8",
    "collation": "Utf8", "max_length": "Int64", "numeric_precision": "Int64", "numeric_scale": "Int64",
}
_VIEW_TYPE_FIELDS = {"schema_name": "Utf8", "table_name": "Utf8", "column_name": "Utf8", "data_type": "Utf8",
                     "base_type": "Utf8", "max_length": "Int64"}
# a column's custom attributes, in order (each from the frame column of its name; `extra` from raw_extra)
_COLUMN_EXTRA = ("base_type", "unsigned", "character_set", "collation", "max_length", "numeric_precision",
                 "numeric_scale", "auto_increment", "on_update", "stored", "extra")


def _columns(rows: list[tuple[str, int]], mariadb: bool) -> pl.DataFrame | None:
    """columns.sql's rows as the standard column rows, decoded and derived column-wise; None if
    a row was cut short (not JSON, or fewer columns than it should hold).

    The flags are what SQL gave when the server worked them out (it no longer does: that doubled
    its time for this query): LOCATE ignores case, and `x = ''` holds for x made only of spaces.
    `extra` is a JSON object in the text form MariaDB's JSON_OBJECT writes ({"k": v, ...})."""
    import polars as pl

    texts = pl.Series("fields", [r[0] for r in rows], dtype=pl.Utf8)
    try:
        tables = texts.str.json_decode(pl.List(pl.List(pl.Utf8)))
    except pl.exceptions.ComputeError:
        return None
    if not (tables.list.len() == pl.Series([r[1] for r in rows], dtype=pl.UInt32)).fill_null(False).all():
        return None
    fields = tables.explode()
    frame = pl.DataFrame(fields).select(
        pl.col("fields").list.get(i).cast(getattr(pl, t)).alias(k) for i, (k, t) in enumerate(_COLUMN_FIELDS.items()))
    extra = pl.col("extra_text").str.to_lowercase()

    def blank(name: str) -> pl.Expr:
        return pl.col(name).str.strip_chars_end(" ") == ""

    def text_unless_blank(name: str) -> pl.Expr:
        return pl.when(blank(name)).then(None).otherwise(pl.col(name))

    default = pl.col("column_default")
    if mariadb:  # MariaDB writes "no default" as the word NULL (a NULL string literal is quoted)
        default = pl.when(default.str.to_uppercase() == "NULL").then(None).otherwise(default)
    frame = frame.with_columns(
        is_nullable=pl.col("nullable_text") == "YES",
        column_default=default,
        is_identity=extra.str.contains("auto_increment", literal=True),
        is_generated=pl.col("generation_text").is_not_null() & ~blank("generation_text"),
        generation_expression=text_unless_blank("generation_text"),
        comment=text_unless_blank("comment_text"),
        unsigned=pl.col("data_type").str.to_lowercase().str.contains("unsigned", literal=True),
        auto_increment=extra.str.contains("auto_increment", literal=True).fill_null(False),
        on_update=pl.when(extra.str.contains("on update current_timestamp", literal=True)).then(
            pl.lit("current_timestamp")),
        stored=(extra.str.contains("stored generated", literal=True)
                | extra.str.contains("persistent", literal=True)).fill_null(False),
        raw_extra=text_unless_blank("extra_text"),
        type_family=pl.lit(None, pl.Utf8),
    )
    return _with_extra(frame)


def _with_extra(frame: pl.DataFrame) -> pl.DataFrame:
    """The `extra` column (a column's custom attributes as JSON text) from the frame's fields."""
    import polars as pl

    from dsa.normalize import json_value

    parts = []
    for key in _COLUMN_EXTRA:
        parts += [pl.lit(("{" if not parts else ", ") + f'"{key}": '),
                  json_value(pl.col("raw_extra" if key == "extra" else key))]
    return frame.with_columns(extra=pl.concat_str(parts + [pl.lit("}")]))


# constraints.sql's and indexes.sql's fields (a row per key or index column)
_KEY_FIELDS = {
    "schema_name": "Utf8", "table_name": "Utf8", "constraint_name": "Utf8", "constraint_type": "Utf8",
    "columns": "Utf8", "ref_schema": "Utf8", "ref_table": "Utf8", "ref_columns": "Utf8",
}
_INDEX_FIELDS = {
    "schema_name": "Utf8", "table_name": "Utf8", "index_name": "Utf8", "is_unique": "Boolean",
    "is_primary": "Boolean", "method": "Utf8", "columns": "Utf8", "sub_part": "Int64", "collation": "Utf8",
    "comment": "Utf8",
}


def _frame(texts: list[str], schema: dict[str, str]) -> pl.DataFrame:
    """JSON rows as a Polars frame of `schema` (field name -> Polars type name)."""
    import polars as pl

    types = {k: getattr(pl, t) for k, t in schema.items()}
    if not texts:
        return pl.DataFrame(schema=types)
    return pl.read_ndjson("\n".join(texts).encode(), schema=types)


def _keys(rows: pl.DataFrame, references: list[dict[str, Any]], checks: list[dict[str, Any]]) -> pl.DataFrame:
    """A row per key column as a row per key (columns in key order, the sorted rows' order), with
    the foreign keys' actions, and the check constraints after them."""
    import polars as pl

    key = ["schema_name", "table_name", "constraint_name"]
    fk = pl.col("constraint_type") == "foreign_key"
    keys = rows.group_by(key, maintain_order=True).agg(
        pl.col("constraint_type", "ref_schema", "ref_table").first(), pl.col("columns"),
        pl.col("ref_columns")).with_columns(ref_columns=pl.when(fk).then(pl.col("ref_columns")))
    actions = pl.DataFrame([{k: r[k] for k in (*key, "on_update", "on_delete")} for r in references],
                           schema={**dict.fromkeys(key, pl.Utf8), "on_update": pl.Utf8, "on_delete": pl.Utf8})
    keys = keys.join(actions.unique(key, keep="last"), on=key, how="left", maintain_order="left").with_columns(
        on_update=pl.when(fk).then("on_update"), on_delete=pl.when(fk).then("on_delete"))
    if not checks:
        return keys
    fields = ("schema_name", "table_name", "constraint_name", "constraint_type", "columns", "definition", "extra")
    checks_frame = pl.DataFrame([{k: r.get(k) for k in fields} for r in checks], schema={
        "schema_name": pl.Utf8, "table_name": pl.Utf8, "constraint_name": pl.Utf8, "constraint_type": pl.Utf8,
        "columns": pl.List(pl.Utf8), "definition": pl.Utf8, "extra": pl.Utf8})
    return pl.concat([keys, checks_frame], how="diagonal_relaxed")


def _indexes(rows: pl.DataFrame) -> pl.DataFrame:
    """A row per index column as a row per index (columns in index order), with the prefix
    lengths, collation and comment as the extra's JSON text."""
    import polars as pl

    from dsa.normalize import json_value

    prefix = pl.when(pl.col("sub_part").is_not_null()).then(
        json_value(pl.col("columns")) + pl.lit(":") + pl.col("sub_part").cast(pl.Utf8))
    indexes = rows.group_by(["schema_name", "table_name", "index_name"], maintain_order=True).agg(
        pl.col("is_unique", "is_primary", "method", "collation", "comment").first(), pl.col("columns"),
        prefix=prefix.drop_nulls().str.join(","))
    return indexes.with_columns(extra=pl.lit('{"prefix_lengths":{') + pl.col("prefix") + pl.lit('},"collation":')
                                + json_value(pl.col("collation")) + pl.lit(',"comment":') + json_value(pl.col("comment"))
                                + pl.lit("}")).drop("prefix", "collation", "comment")


def _mark_json(frame: pl.DataFrame, json_columns: set[tuple[str, str, str]]) -> pl.DataFrame:
    """MariaDB's JSON is longtext CHECK (json_valid(col)): such columns are of family json."""
    if not json_columns:
        return frame
    import polars as pl

    key = ["schema_name", "table_name", "column_name"]
    marks = pl.DataFrame(list(json_columns), schema=key, orient="row").with_columns(json=pl.lit(True))
    return frame.join(marks, on=key, how="left", maintain_order="left").with_columns(
        type_family=pl.when(pl.col("json")).then(pl.lit("json")))
