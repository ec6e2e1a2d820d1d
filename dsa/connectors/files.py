"""Parquet, CSV and JSON files, read through an in-memory DuckDB.

Each entry of `paths` is a schema named as written (trailing `/` dropped): a folder, a glob, or a
single file (whose schema is its folder). Inside, each dataset is a table:
  - a folder whose subfolders are hive partitions (`year=2024/`) is one table named after it;
  - otherwise each data file is a table (named by its stem) and each subfolder is a table of
    all the data files below it (partition columns marked when its subfolders are `k=v`);
  - a glob's matches are datasets in the same way (files by stem, folders by name).
Hidden files and those starting with `_` or `.` (`_SUCCESS`, `.crc`) are ignored.

The catalog comes from file metadata, never from reading data: Parquet footers in bulk for a
whole dataset (`queries/files/parquet_files.sql`: exact row counts, codecs, sizes), the schema
of one file for nullability, and DuckDB's type sniffing for CSV and JSON. CSV files are read as
people have them: the encoding, delimiter, header, decimal comma and date format are taken from
the `paths` entry's options or detected, a single file is read with its header's columns (short
rows padded, extra fields dropped), and the chosen dialect is recorded in `custom_attributes.csv`.
A file that cannot be read is reported by name in the run's errors (the run ends partial) and
left out of its dataset; the rest of the scan goes on.

`connect()` returns a guarded DuckDB connection (only reading statements) in which every dataset
is a view `"<schema>"."<table>"`, so quality profiling queries files like any database.
"""

from __future__ import annotations

import codecs
import csv
import glob as globlib
import gzip
import io
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlglot import exp

from dsa.options import FilePath, SourceOptions, Strict
from dsa.connectors.base import FEATURES
from dsa.connectors.duckdb import DuckdbEngine, GuardedConnection
from dsa.errors import scrub
from dsa.names import qualified_name
from dsa.types import type_family

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".json": "json",
           ".ndjson": "json", ".jsonl": "json"}
COMPRESSED = {".gz": "gzip", ".zst": "zstd"}
GLOB_CHARS = set("*?[")
SNIFF_BYTES = 8 << 20  # how much of a CSV file decides its encoding


class CsvOptions(Strict):
    """How to read the CSV files of one entry of `paths`; what is not given is detected."""

    encoding: str | None = None  # utf-8, utf-16 or latin-1
    delim: str | None = Field(default=None, min_length=1)
    decimal_separator: Literal[".", ","] | None = None
    header: bool | None = None
    dateformat: str | None = Field(default=None, min_length=1)  # strftime form: %d.%m.%Y


class PathOptions(CsvOptions):
    path: FilePath


class FilesOptions(SourceOptions):
    # each entry a path, or a mapping of `path` and CSV options
    paths: list[PathOptions] = Field(min_length=1, description="files, folders or globs; each is a schema")

    @field_validator("paths", mode="before")
    @classmethod
    def _plain_paths(cls, value: Any) -> Any:
        return [{"path": p} if isinstance(p, str) else p for p in value] if isinstance(value, list) else value

    def entries(self) -> list[tuple[str, dict[str, Any]]]:
        """(path as written, the CSV options given for it) for each entry of `paths`."""
        return [(p.path, p.model_dump(exclude={"path"}, exclude_none=True)) for p in self.paths]


@dataclass
class Dataset:
    schema: str
    table: str
    root: str  # the folder or file the dataset is
    format: str
    files: list[str] = field(default_factory=list)  # absolute paths
    sizes: dict[str, int] = field(default_factory=dict)
    hive: bool = False
    other_formats: list[str] = field(default_factory=list)  # files of another format, not read
    bad: list[tuple[str, str]] = field(default_factory=list)  # (file, why) that could not be read
    per_file: list[dict[str, Any]] = field(default_factory=list)  # Parquet footer facts per file
    union: bool = False  # files differ in layout: read them by column name
    csv_given: dict[str, Any] = field(default_factory=dict)  # the CSV options of its `paths` entry
    csv: dict[str, Any] = field(default_factory=dict)  # the read_csv options chosen (given or detected)

    @property
    def compression(self) -> str | None:
        codecs = {COMPRESSED.get(Path(f).suffix.lower()) for f in self.files} - {None}
        return ",".join(sorted(codecs)) or None

    @property
    def json_format(self) -> str:
        newline = all(_suffixes(f)[0] in (".ndjson", ".jsonl") for f in self.files)
        return "newline_delimited" if newline else "auto"


class FilesConnector(DuckdbEngine):
    type = "files"
    Options = FilesOptions
    features = FEATURES - {"primary_keys", "foreign_keys", "unique_constraints", "indexes", "views", "defaults"}
    # a table's column statements run side by side, each on a DuckDB of its own with its share
    # of the cores: a grouping of millions of distinct values on one thread takes ~30%
    # less CPU than on two (no per-thread tables to merge), and the two keep both cores busy
    PARALLEL_SESSIONS = True
    OWN_SESSIONS = True

    def describe(self) -> str:
        return "files " + ", ".join(path for path, _ in self.options.entries())

    # -- discovery ----------------------------------------------------------------------

    def discover(self) -> tuple[list[str], list[Dataset], list[dict[str, str]]]:
        """The schemas and datasets under `paths`, and errors for paths that match nothing."""
        schemas: list[str] = []
        datasets: list[Dataset] = []
        errors = []
        for entry, csv_given in self.options.entries():
            schema = entry.rstrip("/") or "/"
            path = Path(entry).expanduser()
            if GLOB_CHARS & set(entry):
                matches = sorted(globlib.glob(str(path), recursive=True))
                found = [d for m in matches for d in _datasets_at(schema, Path(m))]
                if not found:
                    errors.append(self._error(schema, "schema", f"no data files match {entry}"))
                    continue
            elif path.is_dir():
                if _is_hive(path):
                    found = _folder_dataset(schema, path, path.resolve().name)
                else:
                    found = [d for child in sorted(path.iterdir()) for d in _datasets_at(schema, child)]
            elif path.is_file():
                schema = str(Path(entry).parent)
                found = _datasets_at(schema, path, explicit=True)
            else:
                errors.append(self._error(schema, "schema", f"{entry}: no such file or folder"))
                continue
            for ds in found:
                ds.csv_given = csv_given
            datasets += found
            if schema not in schemas:
                schemas.append(schema)
        _unique_table_names(datasets)
        return schemas, datasets, errors

    def _error(self, schema: str, object_type: str, text: str, table: str | None = None) -> dict[str, str]:
        parts = (self.name, schema) if table is None else (self.name, schema, table)
        return {"qualified_name": qualified_name(*parts), "object_type": object_type,
                "error": scrub(text)}

    # -- the connection ---------------------------------------------------------------

    def __init__(self, name: str, options: FilesOptions):
        super().__init__(name, options)
        self._lock = threading.Lock()
        self._checked = False
        self._views = True

    def read(self, *args, **kwargs):
        # a scan reads metadata only: binding a view over every dataset's files would be wasted
        self._views = False
        try:
            return super().read(*args, **kwargs)
        finally:
            self._views = True

    def session(self, sessions: int):
        return self.connect(sessions)

    def connect(self, sessions: int = 1):
        """Discover the datasets, check their files, and make one view per dataset.

        Discovery and the file checks happen once per connector: quality profiling opens a
        connection per table, and each then only makes the views. Reading is locked to the
        datasets' folders (DuckDB's allowed_directories, then external access off and the
        configuration locked) and the connection runs only reading statements. One of
        `sessions` running side by side gets that share of DuckDB's threads.
        """
        from dsa import duck

        with self._lock:
            con = duck.connect()
            con.execute("SET parquet_metadata_cache = true")  # footers are read once per connection
            if sessions > 1:
                threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
                con.execute(f"SET threads = {max(1, int(threads) // sessions)}")
            guarded = GuardedConnection(con, self.options.timeout_s)
            if not self._checked:
                self._schemas, self._datasets, self._errors = self.discover()
            folders = sorted({_folder_of(ds.root) for ds in self._datasets})
            con.execute("SET allowed_directories = $1", [folders])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            if not self._checked:
                for ds in self._datasets:
                    self._check_files(guarded, ds)
                self._checked = True
            if self._views:
                self._make_views(con)
        return guarded

    def _check_files(self, conn, ds: Dataset) -> None:
        """Find the files of a dataset that cannot be read and leave them out of it."""
        if ds.format == "parquet":
            try:
                ds.per_file = self.fetch(conn, "parquet_files", [ds.files])
            except Exception:  # noqa: BLE001 - find the files to blame, then read the others
                ds.bad = self._probe(conn, ds, "parquet_files")
                ds.files = [f for f in ds.files if f not in dict(ds.bad)]
                ds.per_file = self.fetch(conn, "parquet_files", [ds.files]) if ds.files else []
            ds.union = len({r["layout"] for r in ds.per_file}) > 1
        else:
            if ds.format == "csv":
                ds.bad = self._choose_csv_dialect(conn, ds)
                ds.files = [f for f in ds.files if f not in dict(ds.bad)]
            if len(ds.files) > 1:
                ds.bad += self._probe(conn, ds, "describe")
                ds.files = [f for f in ds.files if f not in dict(ds.bad)]
            ds.union = len(ds.files) > 1

    def _choose_csv_dialect(self, conn, ds: Dataset) -> list[tuple[str, str]]:
        """Settle how the dataset's CSV files are read (`ds.csv`), from its options and the first
        file that can be sniffed; returns the files that could not be (file, why)."""
        bad = []
        for f in ds.files:
            try:
                ds.csv = self._csv_dialect(conn, ds, f, single=len(ds.files) == 1 and not ds.hive)
                return bad
            except Exception as exc:  # noqa: BLE001 - e.g. not text at all: try the next file
                bad.append((f, _first_line(exc)))
        return bad

    def _csv_dialect(self, conn, ds: Dataset, path: str, single: bool) -> dict[str, Any]:
        """The read_csv options of one file: the given ones, the rest detected.

        Encoding: a UTF-16 byte-order mark, else UTF-8 if the first bytes decode as UTF-8, else
        Latin-1. Delimiter, quote, header and date formats: DuckDB's sniffer (rows of other widths
        padded). Decimal comma: when the delimiter is not a comma and sniffing with `,` as the
        decimal separator finds more number columns. A single file is then read with its header's
        columns and types fixed: short rows padded with nulls, extra fields dropped."""
        given = ds.csv_given
        options: dict[str, Any] = {"encoding": given.get("encoding") or _detect_encoding(path)}
        sniffed = self._sniff(conn, path, {**given, **options})
        if "decimal_separator" not in given and sniffed["delimiter"] != ",":
            comma = self._sniff(conn, path, {**given, **options, "decimal_separator": ","})
            if _number_columns(comma) > _number_columns(sniffed):
                sniffed, options["decimal_separator"] = comma, ","
        options.update(delim=sniffed["delimiter"], quote=_sniffed_char(sniffed["quote"]),
                       escape=_sniffed_char(sniffed["escape"]), header=sniffed["has_header"],
                       skip=sniffed["skip_rows"], decimal_separator=given.get("decimal_separator",
                                                                              options.get("decimal_separator", ".")))
        if sniffed["date_format"] or given.get("dateformat"):
            options["dateformat"] = given.get("dateformat") or sniffed["date_format"]
        if sniffed["timestamp_format"]:
            options["timestampformat"] = sniffed["timestamp_format"]
        options.update(null_padding=True, strict_mode=False)
        if single:
            columns = sniffed["columns"]
            width = _header_width(path, options) if options["header"] else None
            options["columns"] = {c["name"]: c["type"] for c in columns[:width or len(columns)]}
            options["auto_detect"] = False
        return options

    def _sniff(self, conn, path: str, options: dict[str, Any]) -> dict[str, Any]:
        """DuckDB's sniffer on one file, with the options already settled."""
        sniff = exp.Anonymous(this="sniff_csv", expressions=[exp.Literal.string(path)] + _named_args(
            {**options, "null_padding": True}))
        names = {"Delimiter": "delimiter", "Quote": "quote", "Escape": "escape", "HasHeader": "has_header",
                 "NewLineDelimiter": "newline", "SkipRows": "skip_rows", "DateFormat": "date_format",
                 "TimestampFormat": "timestamp_format", "Columns": "columns"}
        query = exp.select(*(exp.alias_(exp.column(k, quoted=True), v) for k, v in names.items())).from_(
            exp.Table(this=sniff))
        cur = conn.cursor()
        try:
            cur.execute(query.sql("duckdb"))
            return dict(zip(names.values(), cur.fetchone()))
        finally:
            cur.close()

    def _make_views(self, con) -> None:
        """One view per readable dataset, so quality profiling can query `"schema"."table"`."""
        for schema in sorted({d.schema for d in self._datasets if d.files}):
            con.execute(exp.Create(this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA",
                                   exists=True).sql("duckdb"))
        for ds in self._datasets:
            if ds.files:
                try:
                    con.execute(self.view_sql(ds))
                except Exception as exc:  # noqa: BLE001 - e.g. the only file is unreadable
                    ds.bad.append((ds.files[0], _first_line(exc)))
                    ds.files = []

    def table_findings(self, conn, schema: str, table: str) -> list[dict[str, Any]]:
        """A CSV dataset's malformed rows: rows read with the header's columns (short rows padded,
        extra fields dropped) less the rows a strict reading keeps, with the dialect chosen."""
        ds = next((d for d in self._datasets if (d.schema, d.table) == (schema, table)), None)
        if ds is None or ds.format != "csv" or not ds.files:
            return []
        count = exp.select(exp.Count(this=exp.Star()))
        padded = count.from_(exp.table_(table, db=schema, quoted=True)).sql("duckdb")
        strict = count.copy().from_(_reader(ds, ds.files, ds.union, strict=True).subquery("r")).sql("duckdb")
        cur = conn.cursor()
        try:
            rows = []
            for sql in (padded, strict):
                cur.execute(sql)
                rows.append(cur.fetchone()[0])
        finally:
            cur.close()
        malformed = rows[0] - rows[1]
        if malformed <= 0:
            return []
        return [{"finding": "malformed_rows", "count": malformed, "csv": _csv_attributes(ds),
                 "message": f"{malformed:,} of {rows[0]:,} rows do not match the header's columns "
                            f"(read with them: short rows padded with nulls, extra fields dropped)"}]

    def extract_raw(self, conn, progress=None) -> dict[str, list[dict[str, Any]]]:
        raw: dict[str, list] = {"schemas": [{"schema_name": s} for s in self._schemas], "tables": [], "columns": []}
        errors = list(self._errors)
        total = len(self._datasets) + 1
        for i, ds in enumerate(self._datasets):
            if progress:
                progress(i, total, f"{ds.schema}/{ds.table}")
            table, columns = None, []
            try:
                if ds.files:
                    table, columns = self._read_dataset(conn, ds)
            except Exception as exc:  # noqa: BLE001 - a dataset that cannot be read at all
                errors.append(self._error(ds.schema, "table", f"{ds.root}: {_first_line(exc)}", ds.table))
            errors += [self._error(ds.schema, "file", f"{f}: {why}", ds.table) for f, why in ds.bad]
            for other in ds.other_formats:
                errors.append(self._error(ds.schema, "file", f"{other}: not read, the dataset {ds.root} is "
                                          f"{ds.format}", ds.table))
            if table is not None:
                raw["tables"].append(table)
                raw["columns"] += columns
        self._read_errors = errors
        return raw

    def unreadable(self, raw) -> list[dict[str, str]]:
        return self._read_errors

    # -- one dataset ----------------------------------------------------------------

    def _read_dataset(self, conn, ds: Dataset):
        """The table row and column rows of one dataset (its files already checked)."""
        extra: dict[str, Any] = {"format": ds.format, "root": ds.root}
        row_count = None
        if ds.format == "parquet":
            per_file = ds.per_file
            row_count = sum(r["num_rows"] for r in per_file)
            extra.update(
                row_count=row_count,
                row_groups=sum(r["row_groups"] for r in per_file),
                compression=",".join(sorted({c for r in per_file for c in r["compression"] or []})) or None,
                compressed_bytes=sum(r["compressed_bytes"] or 0 for r in per_file),
                uncompressed_bytes=sum(r["uncompressed_bytes"] or 0 for r in per_file),
                schema_variants=len({r["layout"] for r in per_file}),
            )
        else:
            extra["compression"] = ds.compression
            if ds.format == "json":
                extra["json_format"] = ds.json_format
        described = self._describe(conn, ds, ds.files, ds.union)
        nullable: dict[str, bool] = {}
        if ds.format == "parquet":
            nullable = _top_level_nullability(self.fetch(conn, "parquet_schema", [ds.files[0]]))
        elif ds.format == "csv":
            extra["csv"] = _csv_attributes(ds)
        keys = set(_partition_columns(ds))
        partition_columns = [c["column_name"] for c in described if c["column_name"] in keys]  # DuckDB's order
        extra.update(
            file_count=len(ds.files),
            total_bytes=sum(ds.sizes[f] for f in ds.files),
            partition_columns=partition_columns,
            files=[_relative(f, ds.root) for f in ds.files[:100]],
        )
        table = {"schema_name": ds.schema, "table_name": ds.table, "table_type": "external",
                 "row_estimate": row_count, "size_bytes": extra["total_bytes"], "extra": extra}
        columns = []
        for i, col in enumerate(described, 1):
            name = col["column_name"]
            is_partition = name in partition_columns
            if is_partition:
                is_nullable = True  # __HIVE_DEFAULT_PARTITION__ reads as null
            elif ds.format == "parquet":
                is_nullable = nullable.get(name, True)
            else:
                is_nullable = None  # CSV and JSON cannot say
            columns.append({"schema_name": ds.schema, "table_name": ds.table, "column_name": name,
                            "ordinal_position": i, "data_type": col["column_type"], "is_nullable": is_nullable,
                            "extra": {"partition_key": is_partition}})
        return table, columns

    def _describe(self, conn, ds: Dataset, files: list[str], union: bool) -> list[dict[str, Any]]:
        """column_name and column_type of each column, as DuckDB reads the files."""
        cur = conn.cursor()
        try:
            cur.execute(exp.Describe(this=_reader(ds, files, union)).sql("duckdb"))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            cur.close()

    def _probe(self, conn, ds: Dataset, query: str) -> list[tuple[str, str]]:
        """Read each file alone to find those that fail; returns (file, reason) pairs."""
        bad = []
        for f in ds.files:
            try:
                if query == "parquet_files":
                    self.fetch(conn, query, [[f]])
                else:
                    self._describe(conn, ds, [f], False)
            except Exception as exc:  # noqa: BLE001
                bad.append((f, _first_line(exc)))
        return bad

    def type_family(self, data_type: str | None) -> str:
        return type_family(data_type, "duckdb")

    # -- views for profiling ------------------------------------------------------------

    def view_sql(self, ds: Dataset) -> str:
        """CREATE VIEW "<schema>"."<table>" AS SELECT * FROM read_<format>([...files...], ...)."""
        view = exp.Create(this=exp.Table(this=exp.to_identifier(ds.table, quoted=True),
                                         db=exp.to_identifier(ds.schema, quoted=True)),
                          kind="VIEW", expression=_reader(ds, ds.files, ds.union), replace=True)
        return view.sql("duckdb")


def _reader(ds: Dataset, files: list[str], union: bool, strict: bool = False) -> exp.Select:
    """SELECT * FROM read_<format>(files, ...): how the dataset's files are read, everywhere.
    `strict`: CSV rows of another width than the header's (or otherwise malformed) left out."""
    reader = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}[ds.format]
    options: dict[str, Any] = {"hive_partitioning": ds.hive, "union_by_name": union}
    if ds.format == "json":
        options["format"] = ds.json_format
    elif ds.format == "csv":
        options.update(ds.csv)
        if strict:
            options.update(null_padding=False, strict_mode=True, ignore_errors=True)
        if "columns" in options:  # one file with its header's columns: nothing to unite
            options["union_by_name"] = False
    args = [exp.Array(expressions=[exp.Literal.string(f) for f in files])] + _named_args(options)
    return exp.select(exp.Star()).from_(exp.Table(this=exp.Anonymous(this=reader, expressions=args)))


def _named_args(options: dict[str, Any]) -> list[exp.Expression]:
    """name = value arguments of a DuckDB table function (strings, numbers, booleans, structs)."""
    return [_named(k, _literal(v)) for k, v in options.items()]


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, dict):
        return exp.Struct(expressions=[exp.PropertyEQ(this=exp.Literal.string(k), expression=_literal(v))
                                       for k, v in value.items()])
    return exp.Literal.string(value)


def _detect_encoding(path: str) -> str:
    """utf-16 (byte-order mark), utf-8 (the first SNIFF_BYTES decode as UTF-8) or latin-1.

    zstd files are not opened here (no decoder in the standard library): utf-8 unless given."""
    if path.lower().endswith(".zst"):
        return "utf-8"
    with _open_bytes(path) as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _open_bytes(path: str):
    return gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")


def _header_width(path: str, options: dict[str, Any]) -> int | None:
    """How many fields the header line has (None when Python's csv cannot split it like DuckDB)."""
    delim, quote = options["delim"], options["quote"]
    if len(delim) != 1 or len(quote) > 1 or path.lower().endswith(".zst"):
        return None
    with io.TextIOWrapper(_open_bytes(path), encoding=options["encoding"], errors="replace", newline="") as fh:
        for _ in range(options["skip"]):
            fh.readline()
        rows = csv.reader(fh, delimiter=delim, quotechar=quote or None,
                          quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE)
        return len(next(rows, [])) or None


def _number_columns(sniffed: dict[str, Any]) -> int:
    return sum(c["type"] in ("DOUBLE", "FLOAT") or c["type"].startswith("DECIMAL") for c in sniffed["columns"])


def _sniffed_char(text: str | None) -> str:
    """DuckDB's sniffer says `(empty)` for no quote or escape character."""
    return "" if text in (None, "(empty)") else text


def _csv_attributes(ds: Dataset) -> dict[str, Any]:
    """The dialect a CSV dataset is read with, for custom_attributes (`given`: the configured keys)."""
    chosen = ds.csv
    out = {"delimiter": chosen.get("delim"), "quote": chosen.get("quote"), "escape": chosen.get("escape"),
           "has_header": chosen.get("header"), "skip_rows": chosen.get("skip"), "encoding": chosen.get("encoding"),
           "decimal_separator": chosen.get("decimal_separator"), "date_format": chosen.get("dateformat"),
           "timestamp_format": chosen.get("timestampformat"), "given": sorted(ds.csv_given)}
    return {k: v for k, v in out.items() if v not in (None, "")}


def _named(name: str, value: exp.Expression) -> exp.Expression:
    return exp.EQ(this=exp.column(name), expression=value)


def _suffixes(path: str) -> tuple[str, str | None]:
    """(data suffix, compression suffix) of a file name: data.csv.gz -> ('.csv', '.gz')."""
    stem, suffix = os.path.splitext(os.path.basename(path))
    suffix = suffix.lower()
    if suffix in COMPRESSED:
        return os.path.splitext(stem)[1].lower(), suffix
    return suffix, None


def _format_of(path: Path) -> str | None:
    return _format_of_name(path.name)


def _format_of_name(name: str) -> str | None:
    data, compression = _suffixes(name)
    fmt = FORMATS.get(data)
    if fmt == "parquet" and compression:
        return None
    return fmt


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _is_hive(folder: Path) -> bool:
    try:
        return any(c.is_dir() and "=" in c.name and not _hidden(c.name) for c in folder.iterdir())
    except OSError:
        return False


def _datasets_at(schema: str, path: Path, explicit: bool = False) -> list[Dataset]:
    if _hidden(path.name) and not explicit:
        return []
    if path.is_dir():
        return _folder_dataset(schema, path, path.name)
    fmt = _format_of(path)
    if fmt is None:
        return []
    name = path.name[: -len("".join(s for s in (_suffixes(str(path))) if s))] or path.name
    full = str(path.resolve())
    return [Dataset(schema, name, str(path), fmt, [full], {full: _size(path)})]


def _folder_dataset(schema: str, folder: Path, name: str) -> list[Dataset]:
    """All data files below `folder` as one dataset of their most common format."""
    by_format: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    hive = False
    stack = [os.path.abspath(folder)]
    while stack:  # os.scandir: one directory read per folder, sizes from the same entries
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            if _hidden(entry.name):
                continue
            if entry.is_dir():
                subfolders.append(entry.path)
                hive = hive or "=" in entry.name
                continue
            fmt = _format_of_name(entry.name)
            if fmt:
                by_format.setdefault(fmt, []).append(entry.path)
                try:
                    sizes[entry.path] = entry.stat().st_size
                except OSError:
                    sizes[entry.path] = 0
        stack.extend(reversed(subfolders))
    if not by_format:
        return []
    counts = Counter({fmt: len(fs) for fmt, fs in by_format.items()})
    fmt = counts.most_common(1)[0][0]
    others = [f for other, fs in by_format.items() if other != fmt for f in fs]
    return [Dataset(schema, name, str(folder), fmt, by_format[fmt], sizes, hive, others)]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _unique_table_names(datasets: list[Dataset]) -> None:
    """Two datasets of one schema with the same name (orders.csv, orders.json) keep their file names."""
    seen = Counter((d.schema, d.table) for d in datasets)
    for d in datasets:
        if seen[(d.schema, d.table)] > 1:
            d.table = Path(d.root).name


def _partition_columns(ds: Dataset) -> list[str]:
    if not ds.hive:
        return []
    keys: list[str] = []
    for f in ds.files:
        for part in Path(os.path.relpath(f, os.path.abspath(ds.root))).parts[:-1]:
            if "=" in part:
                key = part.split("=", 1)[0]
                if key not in keys:
                    keys.append(key)
        break  # DuckDB takes the keys from the file paths; the first file's are the dataset's
    return keys


def _top_level_nullability(schema_rows: list[dict[str, Any]]) -> dict[str, bool]:
    """{field: nullable} for the top-level fields of a Parquet schema tree (depth-first rows)."""
    out: dict[str, bool] = {}
    if not schema_rows:
        return out
    # rows[0] is the root; walk its children, skipping each child's subtree
    i, n = 1, len(schema_rows)
    for _ in range(schema_rows[0]["num_children"] or 0):
        if i >= n:
            break
        row = schema_rows[i]
        out[row["name"]] = row["repetition_type"] != "REQUIRED"
        i = _skip_subtree(schema_rows, i)
    return out


def _skip_subtree(rows: list[dict[str, Any]], i: int) -> int:
    pending = 1
    while pending and i < len(rows):
        pending += (rows[i]["num_children"] or 0) - 1
        i += 1
    return i


def _folder_of(root: str) -> str:
    path = Path(root).resolve()
    return str(path if path.is_dir() else path.parent) + os.sep


def _relative(path: str, root: str) -> str:
    root_abs = os.path.abspath(root)
    return os.path.relpath(path, root_abs if os.path.isdir(root_abs) else os.path.dirname(root_abs))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
