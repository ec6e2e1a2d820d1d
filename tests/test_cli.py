"""The command line as a user meets it: the demo, scans, queries, exports and bad input."""

from __future__ import annotations

import json


def test_demo_then_query_and_runs(dsa_cli):
    r = dsa_cli("demo")
    assert r.returncode == 0, r.stderr
    assert "scan of shop v1" in r.stdout and "scan of shop v2" in r.stdout
    r = dsa_cli("query", "SELECT table_name FROM latest_table_metadata ORDER BY 1", "--format", "json")
    names = [row["table_name"] for row in json.loads(r.stdout)]
    assert names == ["customer_order_totals", "customers", "order_items", "orders", "product_reviews",
                     "products", "returns", "shipments"]
    r = dsa_cli("runs", "demo_shop")
    assert r.returncode == 0 and r.stdout.count("success") >= 2


def test_scan_summary_and_exit_codes(dsa_cli, tmp_path):
    from dsa.demo import build_shop

    db = build_shop(tmp_path / "shop.db", 1)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n  gone: {{type: sqlite, path: /nope.db}}\n")
    r = dsa_cli("scan", "shop")
    assert r.returncode == 0, r.stderr
    run_id, summary = r.stdout.split(maxsplit=1)
    assert "shop: success, 1 schemas, 7 tables, 39 columns" in summary
    r = dsa_cli("scan", "gone")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == ["error: cannot open source 'gone' (sqlite file /nope.db): file not found"]
    r = dsa_cli("scan", "nosuch")
    assert r.returncode == 2 and "unknown source 'nosuch' (known: gone, shop)" in r.stderr
    r = dsa_cli("query", "SELECT status FROM sync_runs ORDER BY started_at", "--format", "csv")
    assert r.stdout.split() == ["status", "success", "failed"]


def test_scan_reads_its_source_before_the_command_line_loads(tmp_path, monkeypatch):
    """The `dsa` launcher starts a plain `dsa scan`'s first reading before Typer loads; the command
    takes it only for the same source with the same settings, and anything unusual is left to it."""
    from dsa import launch, scan
    from dsa.demo import build_shop
    from tests.inprocess import run_cli

    monkeypatch.setenv("DSA_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("DSA_CONFIG", raising=False)
    v1, v2 = build_shop(tmp_path / "v1.db", 1), build_shop(tmp_path / "v2.db", 2)
    config, other = tmp_path / "dsa.yaml", tmp_path / "other.yaml"
    config.write_text(f"sources:\n  shop: {{type: sqlite, path: '{v1}'}}\n")
    other.write_text(f"sources:\n  shop: {{type: sqlite, path: '{v2}'}}\n")

    launch.head_start(["--config", str(config), "scan", "shop"])
    assert set(scan._early) == {"shop"}
    code, out, err = run_cli(["--config", str(config), "scan", "shop"])
    assert code == 0 and "shop: success, 1 schemas, 7 tables, 39 columns" in out, err
    assert scan._early == {}

    launch.head_start([f"--config={other}", "scan", "--all"])  # same name, another database
    assert set(scan._early) == {"shop"}
    code, out, err = run_cli(["--config", str(config), "scan", "shop"])
    assert code == 0 and "7 tables, 39 columns" in out, err
    assert scan._early == {}

    for args in (["runs"], ["scan"], ["--config", str(config), "scan", "shop", "--bogus"],
                 ["--config", str(config), "scan", "nosuch"], ["--config"], ["--verbose", "scan", "shop"],
                 ["--config", str(tmp_path / "missing.yaml"), "scan", "shop"]):
        launch.head_start(args)
        assert scan._early == {}, args


def test_config_errors_name_the_key(dsa_cli, tmp_path):
    cases = {
        "sources:\n  shop: {type: sqlite, pathh: x.db}\n": "sources.shop.pathh: unknown key",
        "sources:\n  shop: {type: oracle}\n": "sources.shop.type: unknown source type 'oracle'",
        "sources:\n  shop: {type: sqlite}\n": "sources.shop.path: missing",
        "sources:\n  shop: {type: sqlite, path: '${DSA_NOPE_VAR}'}\n": "sources.shop.path: environment variable DSA_NOPE_VAR is not set",
        "quality: {top_k: many}\n": "quality.top_k:",
        "sources: [1, 2\n": "line 2",
        "storee: x\n": "storee: unknown key",
    }
    for text, expected in cases.items():
        (tmp_path / "dsa.yaml").write_text(text)
        r = dsa_cli("scan", "--all")
        assert r.returncode == 2, (text, r.stderr)
        assert expected in r.stderr, (text, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr


def test_env_interpolation(tmp_path, monkeypatch):
    from dsa.config import load_config

    monkeypatch.setenv("SHOP_DB", "data/shop.db")
    (tmp_path / "c.yaml").write_text("sources:\n  shop: {type: sqlite, path: '${SHOP_DB}'}\n  x: {type: sqlite, path: '${NOPE:-def.db}'}\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.sources["shop"].path == "data/shop.db" and cfg.sources["x"].path == "def.db"


def test_query_is_read_only(dsa_cli):
    for sql in ("CREATE TABLE x (a int)", "COPY (SELECT 1) TO 'x.csv'", "SELECT 1; SELECT 2", "SELEC 1"):
        r = dsa_cli("query", sql)
        assert r.returncode != 0 and r.stderr.startswith("error: query:"), (sql, r.stderr)


def test_export_formats(dsa_cli, tmp_path):
    import polars as pl

    assert dsa_cli("demo").returncode == 0
    for fmt in ("json", "csv", "parquet"):
        out = tmp_path / f"out_{fmt}"
        r = dsa_cli("export", "--format", fmt, "--out", str(out))
        assert r.returncode == 0, r.stderr
        path = out / f"normalized_columns.{fmt}"
        n = {"json": lambda: len(json.loads(path.read_text())), "csv": lambda: pl.read_csv(path).height,
             "parquet": lambda: pl.read_parquet(path).height}[fmt]()
        assert n == 44
    r = dsa_cli("export", "nope-run", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "no run 'nope-run'" in r.stderr


def test_names_roundtrip():
    from hypothesis import given, strategies as st

    from dsa.names import qualified_name, split_name

    @given(st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=4))
    def check(parts):
        assert split_name(qualified_name(*parts)) == parts

    check()


def test_scan_start_up_imports_only_what_a_scan_needs():
    """`dsa <command>` imports every command module: the heavy libraries of other commands (sqlglot,
    DuckDB, the Postgres catalog, quality, diff) and other connectors must stay out of a scan."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, dsa.cli\n"
        "from dsa.connectors import get_connector\n"
        "from dsa.scan import scan\n"
        "get_connector('sqlite'); get_connector('postgres')\n"
        "heavy = ('sqlglot', 'duckdb', 'dsa.pg_catalog', 'dsa.quality', 'dsa.diff', 'dsa.mirror', 'dsa.demo',\n"
        "         'dsa.connectors.duckdb', 'dsa.connectors.files', 'dsa.connectors.mysql', 'rich.progress')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_scan_head_start_loads_neither_the_command_line_nor_polars(tmp_path):
    """What the launcher imports before a scan's queries are sent: not Typer, Rich or Polars."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from dsa.demo import build_shop

    db = build_shop(tmp_path / "shop.db", 1)
    (tmp_path / "dsa.yaml").write_text(f"sources:\n  shop: {{type: sqlite, path: '{db}'}}\n")
    code = (
        "import sys\n"
        "from dsa import launch, scan\n"
        f"launch.head_start(['--config', {str(tmp_path / 'dsa.yaml')!r}, 'scan', 'shop'])\n"
        "print(sorted(scan._early), sorted(m for m in ('typer', 'rich', 'polars', 'dsa.cli') if m in sys.modules))\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "DSA_STORE": str(tmp_path / "store")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['shop'] []"


def test_scan_head_start_skips_one_time_costs(tmp_path):
    """Before a Postgres scan's queries are sent, nothing pays for what it does not use: walking the
    connector package (pkgutil), or tokenize's regex (pydantic reads a builtin default_factory's
    signature, e.g. `list`'s, through it: ~2 ms)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "dsa.yaml").write_text("sources:\n  pg: {type: postgres, host: 127.0.0.1, port: 1}\n")
    code = (
        "import sys, threading, tokenize\n"
        "from dsa import launch\n"
        "threading.Thread.start = lambda self: print(tokenize._compile.cache_info().currsize, 'pkgutil' in sys.modules)\n"
        f"launch.head_start(['--config', {str(tmp_path / 'dsa.yaml')!r}, 'scan', 'pg'])\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "DSA_STORE": str(tmp_path / "store")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 False"


def test_pattern_and_mask_defaults_are_fresh_empty_lists():
    from dsa.config import parse_config
    from dsa.options import Patterns

    a, b = Patterns(), Patterns()
    assert a.schemas == a.tables == [] and a.schemas is not b.schemas
    config = parse_config({"sources": {"s": {"type": "sqlite", "path": "x.db", "exclude": {"tables": ["tmp_*"]}}}})
    source = config.source("s")
    assert source.include.schemas == source.include.tables == source.exclude.schemas == []
    assert source.exclude.tables == ["tmp_*"] and source.include.tables is not source.exclude.schemas
    assert config.quality.mask.columns == [] and config.quality.mask.columns is not parse_config({}).quality.mask.columns


def test_every_connector_type_is_still_found():
    from dsa.connectors import connector_types, find_connector, get_connector

    assert {"duckdb", "files", "mysql", "postgres", "sqlite"} <= set(connector_types())
    assert get_connector("files").type == "files"
    assert find_connector("nosuch") is None


def test_the_config_file_is_read_once_per_command(tmp_path, monkeypatch):
    """Finding the store (its `store:` key) and the sources both need the config file: one read."""
    from dsa import settings

    (tmp_path / "dsa.yaml").write_text("sources:\n  shop: {type: sqlite, path: shop.db}\n")
    monkeypatch.delenv("DSA_STORE", raising=False)
    monkeypatch.delenv("DSA_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    reads = []
    real = settings.load_config
    monkeypatch.setattr(settings, "load_config", lambda *a, **k: reads.append(a) or real(*a, **k))
    state = settings.State()
    assert state.store_spec() == ".dsa" and list(state.config().sources) == ["shop"]
    assert len(reads) == 1
    state.use(str(tmp_path / "missing.yaml"), None)
    import pytest

    from dsa.errors import ConfigError
    with pytest.raises(ConfigError, match="not found"):
        state.config()  # a named file must exist for the sources
