"""The files connector on real Parquet, CSV and JSON files written here."""

from __future__ import annotations

import gzip
import json
import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsa.config import Config, parse_source
from dsa.connectors import open_source
from dsa.scan import scan
from dsa.store import Store
from quality_data import COLUMNS
from sqlglot import exp
from tests.connectors.contract import ConnectorContract
from tests.connectors.quality_contract import DiffContract, QualityContract
from tests.connectors.test_duckdb import DuckdbDb


def write_reference(folder) -> None:
    """The contract's reference schema as files: keys and views cannot be expressed."""
    folder.mkdir(parents=True, exist_ok=True)
    customers = pa.table(
        {"id": pa.array([1, 2], pa.int32()), "email": ["a@x", "b@x"], "name": ["A", None],
         "score": pa.array([None, None], pa.decimal128(10, 2))},
        schema=pa.schema([pa.field("id", pa.int32(), nullable=False), pa.field("email", pa.string(), nullable=False),
                          pa.field("name", pa.string()), pa.field("score", pa.decimal128(10, 2))]))
    pq.write_table(customers, folder / "customers.parquet")
    pq.write_table(pa.table({"id": pa.array([1], pa.int32()), "customer_id": pa.array([1], pa.int32()), "note": ["n"]}),
                   folder / "orders.parquet")
    (folder / "odd name.with dots.csv").write_text('"Col ""quoted""",ünïcode\n1,é\n', encoding="utf-8")


class TestFiles(ConnectorContract):
    odd_table = "odd name.with dots"
    table_type = "external"
    types = {"customers.id": "INTEGER", "customers.email": "VARCHAR", "customers.score": "DECIMAL(10,2)"}
    write_sql = "COPY (SELECT 1 AS x) TO 'written.csv'"

    @pytest.fixture
    def source(self, tmp_path):
        folder = tmp_path / "ref"
        write_reference(folder)
        self.schema_name = str(folder)
        return {"type": "files", "paths": [str(folder) + "/"]}


def _scan(tmp_path, paths):
    store = Store(tmp_path / "store")
    result = scan(store, Config(sources={"f": parse_source("f", {"type": "files", "paths": paths})}), "f")
    con = store.connect()
    tables = {r[0]: r[1:] for r in con.execute(
        "SELECT table_name, schema_name, row_estimate, size_bytes, custom_attributes FROM normalized_tables "
        "WHERE run_id = ?", [result.run_id]).fetchall()}
    columns = con.execute(
        "SELECT table_name, column_name, data_type, type_family, is_nullable, "
        "json_extract(custom_attributes, '$.partition_key')::BOOLEAN FROM normalized_columns WHERE run_id = ? "
        "ORDER BY table_name, ordinal_position", [result.run_id]).fetchall()
    con.close()
    return result, tables, columns


@pytest.fixture
def lake(tmp_path):
    """A hive-partitioned Parquet dataset (3 files), a plain Parquet folder, CSV, gzip CSV, JSON, NDJSON."""
    root = tmp_path / "lake"
    con = duckdb.connect()
    for year, month, n in ((2023, 12, 5), (2024, 1, 7), (2024, 2, 11)):
        folder = root / "events" / f"year={year}" / f"month={month}"
        folder.mkdir(parents=True)
        con.execute(f"COPY (SELECT range AS id, range * 1.5 AS amount, [range] AS tags, {{'k': range}} AS meta "
                    f"FROM range({n})) TO '{folder}/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)")
    (root / "events" / "_SUCCESS").write_text("")
    (root / "users").mkdir()
    con.execute(f"COPY (SELECT range AS id FROM range(4)) TO '{root}/users/a.parquet'")
    con.execute(f"COPY (SELECT range AS id, 'x' AS extra FROM range(6)) TO '{root}/users/b.parquet'")
    con.close()
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "sales.csv").write_text("day,amount,city\n2024-01-01,1.5,Oslo\n2024-01-02,2,\n")
    with gzip.open(exports / "zipped.csv.gz", "wt") as fh:
        fh.write("a;b\n1;x\n2;y\n")
    (exports / "doc.json").write_text(json.dumps([{"id": 1, "tags": ["a"], "who": {"n": "x"}}]))
    (exports / "lines.ndjson").write_text('{"id": 1, "ok": true}\n{"id": 2, "ok": false}\n')
    (exports / "notes.txt").write_text("not data")
    return root, exports


def test_hive_folder_is_one_table_with_partition_columns(lake, tmp_path):
    root, exports = lake
    result, tables, columns = _scan(tmp_path, [str(root) + "/", str(exports / "*")])
    assert result.status == "success", result.errors
    assert set(tables) == {"events", "users", "sales", "zipped", "doc", "lines"}
    schema, rows, size, custom = tables["events"]
    custom = json.loads(custom)
    assert schema == str(root) and rows == 23
    assert size == sum(p.stat().st_size for p in (root / "events").rglob("*.parquet"))
    assert (custom["format"], custom["file_count"], custom["row_count"], custom["compression"]) == ("parquet", 3, 23, "ZSTD")
    assert custom["partition_columns"] == ["month", "year"] and custom["schema_variants"] == 1
    assert sorted(custom["files"]) == ["year=2023/month=12/part-0.parquet", "year=2024/month=1/part-0.parquet",
                                       "year=2024/month=2/part-0.parquet"]
    events = [c[1:] for c in columns if c[0] == "events"]
    # DuckDB writes its list and struct literals as REQUIRED fields: the file says they are never null
    assert events == [
        ("id", "BIGINT", "integer", True, False),
        ("amount", "DECIMAL(21,1)", "decimal", True, False),
        ("tags", "BIGINT[]", "array", False, False),
        ("meta", "STRUCT(k BIGINT)", "struct", False, False),
        ("month", "BIGINT", "integer", True, True),
        ("year", "BIGINT", "integer", True, True),
    ]


def test_schema_drift_is_read_by_name(lake, tmp_path):
    root, _ = lake
    _, tables, columns = _scan(tmp_path, [str(root)])
    custom = json.loads(tables["users"][3])
    assert (tables["users"][1], custom["schema_variants"], custom["file_count"]) == (10, 2, 2)
    assert [c[1] for c in columns if c[0] == "users"] == ["id", "extra"]


def test_csv_and_json_types_are_sniffed(lake, tmp_path):
    _, exports = lake
    result, tables, columns = _scan(tmp_path, [str(exports / "*")])
    by_table = {}
    for t, *c in columns:
        by_table.setdefault(t, []).append(tuple(c[:4]))
    assert by_table["sales"] == [("day", "DATE", "date", None), ("amount", "DOUBLE", "float", None),
                                 ("city", "VARCHAR", "string", None)]
    assert by_table["zipped"] == [("a", "BIGINT", "integer", None), ("b", "VARCHAR", "string", None)]
    assert by_table["doc"] == [("id", "BIGINT", "integer", None), ("tags", "VARCHAR[]", "array", None),
                               ("who", "STRUCT(n VARCHAR)", "struct", None)]
    assert by_table["lines"] == [("id", "BIGINT", "integer", None), ("ok", "BOOLEAN", "boolean", None)]
    zipped = json.loads(tables["zipped"][3])
    assert (zipped["format"], zipped["compression"], zipped["csv"]["delimiter"]) == ("csv", "gzip", ";")
    assert json.loads(tables["lines"][3])["json_format"] == "newline_delimited"
    assert tables["sales"][0] == str(exports / "*") and tables["sales"][1] is None


def test_corrupt_files_are_reported_by_name_and_the_scan_goes_on(lake, tmp_path):
    root, exports = lake
    bad = root / "events" / "year=2024" / "month=2" / "part-1.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all, honestly PAR1")
    bad_csv = exports / "broken.csv"
    bad_csv.write_bytes(b"a,b\n\xff\xfe\x00\x01,\x80\n")
    unreadable = exports / "locked.json"
    unreadable.write_text('{"a": 1}')
    os.chmod(unreadable, 0)
    try:
        result, tables, _ = _scan(tmp_path, [str(root) + "/", str(exports / "*"), str(tmp_path / "missing")])
    finally:
        os.chmod(unreadable, 0o644)
    assert result.status == "partial"
    errors = {e["qualified_name"]: e["error"] for e in result.errors}
    assert str(bad) in errors[f'f."{root}".events'] and "\n" not in errors[f'f."{root}".events']
    assert f'f."{tmp_path / "missing"}"' in errors
    assert str(bad_csv) in errors[f'f."{exports / "*"}".broken'] and "broken" not in tables
    assert json.loads(tables["events"][3])["file_count"] == 3 and tables["events"][1] == 23  # the good files
    assert "sales" in tables and "users" in tables
    if os.geteuid() != 0:  # root reads any file
        assert str(unreadable) in errors[f'f."{exports / "*"}".locked']


def test_views_let_profiling_query_datasets(lake, tmp_path):
    root, exports = lake
    connector = open_source("f", parse_source("f", {"type": "files", "paths": [str(root), str(exports / "*.csv")]}))
    conn = connector.connect()
    try:
        cur = conn.cursor()
        assert cur.execute(f'SELECT count(*), sum(year) FROM "{root}".events WHERE month = 1').fetchall() == [(7, 2024 * 7)]
        assert cur.execute(f'SELECT count(*) FROM "{exports / "*.csv"}".sales').fetchall() == [(2,)]
        with pytest.raises(PermissionError):
            cur.execute(f"COPY (SELECT 1) TO '{root}/users/a.parquet' (USE_TMP_FILE false)")
        with pytest.raises(Exception, match="disabled by configuration|locked"):
            conn._con.execute(f"COPY (SELECT 1) TO '{tmp_path}/elsewhere.csv'")
    finally:
        conn.close()


def test_quality_profiles_files(lake, tmp_path):
    from dsa.quality import quality

    root, exports = lake
    store = Store(tmp_path / "store")
    config = Config(sources={"f": parse_source("f", {"type": "files", "paths": [str(root), str(exports / "*.csv")]})})
    scan(store, config, "f")
    result = quality(store, config, "f", sample="100%")
    assert result.status == "success", result.failed
    con = store.connect()
    rows = dict(con.execute("SELECT table_qualified_name, row_count FROM table_quality_metrics").fetchall())
    assert rows == {f'f."{root}".events': 23, f'f."{root}".users': 10, f'f."{exports / "*.csv"}".sales': 2}
    city = con.execute("SELECT null_count, distinct_count FROM column_quality_metrics WHERE column_name = 'city'").fetchone()
    assert city == (1, 1)


@pytest.fixture
def spreadsheets(tmp_path):
    """CSV files as people have them: a Latin-1 export with decimal commas, ragged rows, a file
    whose dialect is given in the config (no header, day-first dates)."""
    folder = tmp_path / "sheets"
    folder.mkdir()
    (folder / "prices.csv").write_bytes("name;price\nJosé;99,90\nZoë;1,5\nÅse;\n".encode("latin-1"))
    (folder / "ragged.csv").write_text("a,b,c\n1,2\n3,4,5,6\n7,8,9\n")
    given = tmp_path / "given"
    given.mkdir()
    (given / "days.csv").write_text("03.02.2024|x\n31.12.2023|y\n")
    (given / "broken.csv.gz").write_bytes(b"\x1f\x8b not gzip at all")
    return folder, given


def test_spreadsheet_csvs_are_read_with_their_header_and_dialect(spreadsheets, tmp_path):
    folder, given = spreadsheets
    paths = [str(folder), {"path": str(given), "delim": "|", "header": False, "dateformat": "%d.%m.%Y"}]
    result, tables, columns = _scan(tmp_path, paths)
    assert result.status == "partial"  # the broken file, and only it
    errors = {e["qualified_name"]: e["error"] for e in result.errors}
    assert list(errors) == [f'f."{given}".broken'] and str(given / "broken.csv.gz") in errors[f'f."{given}".broken']
    types = {(t, c): d for t, c, d, *_ in columns}
    assert [k for k in types if k[0] == "ragged"] == [("ragged", "a"), ("ragged", "b"), ("ragged", "c")]
    assert types[("prices", "name")] == "VARCHAR" and types[("prices", "price")] == "DOUBLE"
    assert types[("days", "column0")] == "DATE"
    prices = json.loads(tables["prices"][3])["csv"]
    assert (prices["encoding"], prices["delimiter"], prices["decimal_separator"], prices["given"]) == ("latin-1", ";", ",", [])
    days = json.loads(tables["days"][3])["csv"]
    assert (days["delimiter"], days["has_header"], days["date_format"]) == ("|", False, "%d.%m.%Y")
    assert days["given"] == ["dateformat", "delim", "header"] and days["encoding"] == "utf-8"

    connector = open_source("f", parse_source("f", {"type": "files", "paths": paths}))
    conn = connector.connect()
    try:
        cur = conn.cursor()
        rows = cur.execute(f'SELECT name, price FROM "{folder}".prices ORDER BY price NULLS LAST').fetchall()
        assert rows == [("Zoë", 1.5), ("José", 99.9), ("Åse", None)]
        assert cur.execute(f'SELECT * FROM "{folder}".ragged').fetchall() == [(1, 2, None), (3, 4, 5), (7, 8, 9)]
        assert cur.execute(f'SELECT max(column0) FROM "{given}".days').fetchone()[0].isoformat() == "2024-02-03"
    finally:
        conn.close()


def test_config_names_a_bad_csv_option(tmp_path):
    from dsa.errors import ConfigError

    with pytest.raises(ConfigError, match="decimal_separator"):
        parse_source("f", {"type": "files", "paths": [{"path": str(tmp_path), "decimal_separator": ";"}]})


class FilesDb(DuckdbDb):
    """Parquet files in a folder: each table is written by DuckDB with the engine's types."""

    def __init__(self, folder):
        folder.mkdir()
        self.folder, self.schema = folder, str(folder)
        self.path = folder / "scratch.duckdb.tmp"  # where the rows are built before COPY (hidden from the scan)
        self.spec = {"type": "files", "paths": [str(folder)]}

    def connect(self):
        return duckdb.connect(str(self.path))

    def create(self, table, columns=COLUMNS, data=()):
        con = self.connect()
        try:
            con.execute(f"DROP TABLE IF EXISTS {self.quote(table)}")
        finally:
            con.close()
        super().create(table, columns, data)
        con = self.connect()
        try:
            target = exp.Literal.string(str(self.folder / f"{table}.parquet")).sql("duckdb")
            con.execute(f"COPY {self.quote(table)} TO {target} (FORMAT parquet)")
        finally:
            con.close()


class TestFilesQuality(QualityContract, DiffContract):
    exotic = [("l", "INTEGER[]", "array"), ("b", "BLOB", "binary")]
    exotic_rows = [(1, [1, 2], b"ab"), (2, None, None), (3, [], b"\xaa\xbb\xcc")]
    exotic_lengths = {"b": (2, 3)}
    slow_view = False  # a dataset is a file: DuckDB's canceller is tested on duckdb files
    orphans = False  # files have no keys

    @pytest.fixture
    def db(self, tmp_path):
        return FilesDb(tmp_path / "lake")

    def change(self, db):
        db.create("t", [("id", {"duckdb": "INTEGER"}, "integer"), ("a", {"duckdb": "VARCHAR"}, "string"),
                        ("c", {"duckdb": "INTEGER"}, "integer")], [(1, "x", 2)])


def test_malformed_csv_rows_are_a_finding_of_their_table(tmp_path, dsa_cli):
    """A CSV with ragged rows is read with its header's columns; the rows of another width are
    counted (against DuckDB splitting each line itself) and recorded as the table's finding, with
    the dialect read with: in the command's summary and the catalog."""
    folder = tmp_path / "sheets"
    folder.mkdir()
    (folder / "ragged.csv").write_text("a,b,c\n1,2\n3,4,5,6\n7,8,9\n10,11,12\n13\n")
    (folder / "fine.csv").write_text("x,y\n1,2\n")
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  f: {json.dumps({'type': 'files', 'paths': [str(folder)]})}\n")
    assert dsa_cli("scan", "f").returncode == 0
    out = dsa_cli("quality", "f")
    assert out.returncode == 0, out.stderr
    con = duckdb.connect()
    lines = con.execute("SELECT count(*) FROM read_csv($1, columns = {'line': 'VARCHAR'}, header = true, delim = '\x01', "
                        "quote = '') WHERE len(string_split(line, ',')) <> 3", [str(folder / "ragged.csv")]).fetchone()[0]
    assert lines == 3
    assert f'3 malformed rows in f."{folder}".ragged (3)' in out.stdout
    got = json.loads(dsa_cli("query", "SELECT table_name, malformed_rows, findings FROM latest_table_quality_metrics "
                                      "ORDER BY table_name", "--format", "json").stdout)
    assert [(r["table_name"], r["malformed_rows"]) for r in got] == [("fine", None), ("ragged", lines)]
    finding = json.loads(got[1]["findings"])[0]
    assert (finding["finding"], finding["count"], finding["csv"]["delimiter"], finding["csv"]["has_header"]) == (
        "malformed_rows", 3, ",", True)
