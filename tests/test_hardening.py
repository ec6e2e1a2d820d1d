"""Inputs that used to hang or crash dsa, and the fixes around them (issue 21).

Every hostile input ends in one `error:` line and exit 2 before any run is created: the store is
unchanged, file for file. The fuzz generates config files (alias bombs, deep nesting, huge values,
infinite numbers, bad globs, ports, DSNs, names, `${VAR` references) and argument lists and runs
each in-process. The default suite runs `DSA_FUZZ_EXAMPLES` (40) of them; the dedicated run:

    DSA_FUZZ_EXAMPLES=1000 python -m pytest tests/test_hardening.py -k fuzz

A watchdog fails any case that runs past `DSA_FUZZ_LIMIT_S` (10 s here, where the machine may be
busy; the dedicated run sets 2): a hang is a failure, not a slow test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from tests.inprocess import audit_text, run_cli, snapshot

EXAMPLES = int(os.environ.get("DSA_FUZZ_EXAMPLES", "40"))
LIMIT_S = float(os.environ.get("DSA_FUZZ_LIMIT_S", "10"))


@contextmanager
def watchdog(seconds: float, what):
    def expired(signum, frame):
        raise AssertionError(f"still running after {seconds:g}s: {what!r}"[:300])

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_guarded(argv: list[str], env: dict | None = None) -> tuple[int, str, str]:
    with watchdog(LIMIT_S, argv):
        return run_cli(argv, env=env)


def one_error_line(code: int, out: str, err: str, what) -> str:
    lines = [line for line in err.splitlines() if not line.startswith(("warning:", "note:"))]
    assert "Traceback" not in err and "internal error" not in err, (what, err[-500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), (what, err[-500:])
    assert code == 2, (what, code, err[-500:])
    return lines[0]


# -- each hostile input, by name -----------------------------------------------------------------

def alias_bomb(levels: int = 9, fan: int = 9) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * fan)}]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "alias bomb": (alias_bomb(), "aliases are expanded"),
    "deep lists": ("sources: " + "[" * 5000 + "]" * 5000 + "\n", "levels deep"),
    "deep blocks": ("sources:\n" + "".join(" " * i + "- \n" for i in range(1, 400)), "levels deep"),
    "60 MB file": ("# padding\n" * 6_000_000, "larger than 1 MiB"),
    "5 MB scalar": ("store: " + "x" * 5_000_000 + "\n", "larger than 1 MiB"),
    "200 KB path": ("sources:\n  s: {type: sqlite, path: '" + "a/" * 100_000 + "'}\n", "longer than 64 KiB"),
    "10 KB path": ("sources:\n  s: {type: sqlite, path: '" + "a/" * 5_000 + "'}\n", "sources.s.path"),
    "infinite timeout": ("sources:\n  s: {type: sqlite, path: x.db, timeout_s: 1e309}\n", "finite number"),
    "infinite quality timeout": ("quality: {timeout_s: .inf}\n", "quality.timeout_s"),
    "sslmode": ("sources:\n  s: {type: postgres, host: 127.0.0.1, sslmode: bogus}\n", "sources.s.sslmode"),
    "sslmode in the dsn": ("sources:\n  s: {type: postgres, dsn: 'postgresql://h/db?sslmode=bogus'}\n", "sslmode"),
    "port": ("sources:\n  s: {type: postgres, host: 127.0.0.1, port: 99999}\n", "sources.s.port"),
    "port in the dsn": ("sources:\n  s: {type: postgres, dsn: 'postgresql://h:99999/db'}\n", "port"),
    "mysql port in the dsn": ("sources:\n  s: {type: mysql, dsn: 'mysql://h:99999/'}\n", "port out of range"),
    "not a dsn": ("sources:\n  s: {type: postgres, dsn: not a dsn}\n", "sources.s.dsn"),
    "not a mysql dsn": ("sources:\n  s: {type: mysql, dsn: not a dsn}\n", "not a URL"),
    "empty source name": ("sources:\n  '': {type: sqlite, path: x.db}\n", "must not be empty"),
    "path as source name": ("sources:\n  ../../etc/x: {type: sqlite, path: x.db}\n", "'../../etc/x'"),
    "unterminated variable": ("sources:\n  s: {type: postgres, dsn: 'postgresql://u:${PW@h/db'}\n", "unterminated"),
    "bad glob": ("sources:\n  s: {type: sqlite, path: x.db, include: {tables: ['[']}}\n", "never closed"),
    "alias to itself": ("a: &a [1, *a]\n", "refers to the value that holds it"),
    "sample over 100%": ("quality: {sample: 200%}\n", "quality.sample"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_config_fails_in_one_line_before_any_run(base, tmp_path, name):
    text, expected = HOSTILE[name]
    store = tmp_path / "store"
    shutil.copytree(base / "store", store)
    config = tmp_path / "dsa.yaml"
    config.write_text(text)
    before, audit_before = snapshot(store), audit_text(store)
    code, out, err = run_guarded(["--store", str(store), "--config", str(config), "scan", "--all"])
    line = one_error_line(code, out, err, name)
    assert expected in line, line
    assert len(line) < 400, line  # a huge value is not echoed back
    assert snapshot(store) == before and audit_text(store) == audit_before


def test_every_config_problem_is_named(tmp_path):
    config = tmp_path / "dsa.yaml"
    config.write_text("sources:\n  a: {type: sqlite}\n  b: {type: nope}\n  c: {type: sqlite, path: x, bogus: 1}\n"
                      "quality: {top_k: -5}\n")
    code, out, err = run_cli(["--store", str(tmp_path / "store"), "--config", str(config), "runs"])
    line = one_error_line(code, out, err, "many problems")
    for part in ("sources.a.path: missing", "sources.b.type: unknown source type 'nope'", "sources.c.bogus: unknown key",
                 "quality.top_k"):
        assert part in line, line
    assert "more)" not in line


def test_an_unset_variable_only_stops_its_own_source(base, tmp_path):
    config = tmp_path / "dsa.yaml"
    config.write_text((base / "dsa.yaml").read_text() + "  other: {type: postgres, dsn: 'postgresql://u:${DSA_NOPE_PW}@h/d'}\n")
    store = tmp_path / "store"
    shutil.copytree(base / "store", store)
    argv = ["--store", str(store), "--config", str(config)]
    code, out, err = run_cli([*argv, "query", "SELECT count(*) AS n FROM sync_runs", "--format", "json"],
                             env={"DSA_NOPE_PW": None})
    assert code == 0 and json.loads(out) == [{"n": 1}], err
    code, out, err = run_cli([*argv, "scan", "shop"], env={"DSA_NOPE_PW": None})
    assert code == 0, err
    before = snapshot(store)
    code, out, err = run_cli([*argv, "scan", "other"], env={"DSA_NOPE_PW": None})
    line = one_error_line(code, out, err, "unset variable")
    assert "sources.other.dsn: environment variable DSA_NOPE_PW is not set" in line
    assert snapshot(store) == before


@pytest.mark.parametrize("argv, expected", [
    (["runs", "-n", "-1"], "--limit"),
    (["query", "SELECT 1", "--format", "xml"], "'table', 'csv', 'json'"),
    (["connections", "add", "../../etc/x", "--type", "sqlite", "--path", "x.db"], "'../../etc/x'"),
    (["connections", "add", "", "--type", "sqlite", "--path", "x.db"], "must not be empty"),
    (["connections", "remove", "nosuch"], "no stored connection 'nosuch'"),
])
def test_bad_arguments_fail_in_one_line(base, tmp_path, argv, expected):
    store = tmp_path / "store"
    shutil.copytree(base / "store", store)
    before = snapshot(store)
    locks = sorted(p.name for p in store.glob(".*.lock"))
    code, out, err = run_guarded(["--store", str(store), "--config", str(base / "dsa.yaml"), *argv])
    assert expected in one_error_line(code, out, err, argv)
    assert snapshot(store) == before
    assert sorted(p.name for p in store.glob(".*.lock")) == locks  # no lock file left behind


def test_a_file_as_the_store_is_an_error(tmp_path):
    code, out, err = run_cli(["--store", "/etc/hostname", "runs"])
    assert "not a folder" in one_error_line(code, out, err, "--store /etc/hostname")


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('/etc/../etc/passwd')",
])
def test_catalog_queries_see_only_the_catalog(base, sql):
    code, out, err = run_cli(["--store", str(base / "store"), "query", sql])
    assert "query:" in one_error_line(code, out, err, sql)
    assert "root:" not in out


def test_catalog_queries_still_read_the_whole_catalog(base):
    code, out, err = run_cli(["--store", str(base / "store"), "query", "--format", "json",
                              "SELECT (SELECT count(*) FROM latest_table_metadata) AS tables, "
                              "(SELECT count(*) FROM audit_log) > 0 AS audited, (SELECT count(*) FROM credentials) AS secrets"])
    assert code == 0, err
    assert json.loads(out) == [{"tables": 7, "audited": True, "secrets": 0}]


def test_bare_dsa_prints_the_help(tmp_path):
    code, out, err = run_cli([])
    assert code == 0 and err == ""
    assert out.startswith("Usage: dsa [OPTIONS] COMMAND") and "Commands" in out and "scan" in out


@pytest.mark.parametrize("command, choices", [
    (["query"], "<table|csv|json>"), (["diff"], "<text|json>"), (["export"], "<json|csv|parquet>"),
    (["connections", "list"], "<table|json>"),
])
def test_help_lists_the_format_choices(command, choices):
    code, out, err = run_cli([*command, "--help"])
    assert code == 0 and choices in out, out


def test_source_types_come_from_the_registry(tmp_path):
    from dsa.connectors import builtin_types, connector_types

    assert set(builtin_types()) <= set(connector_types())
    code, out, _ = run_cli(["connections", "add", "--help"])
    assert ", ".join(builtin_types()) in " ".join(out.split())
    config = tmp_path / "dsa.yaml"
    config.write_text("sources:\n  a: {path: x}\n")
    code, out, err = run_cli(["--config", str(config), "runs"])
    assert ", ".join(connector_types()) in one_error_line(code, out, err, "no type")


def test_demo_twice_keeps_one_history(tmp_path):
    from dsa.demo import DEMO_SOURCE, run_demo
    from dsa.store import Store

    store = Store(tmp_path / "store")
    with store.begin_run(DEMO_SOURCE, "diff"):
        pass  # as if a demo had been loaded
    before = snapshot(store.path)
    lines = run_demo(store)
    assert "already loaded" in lines[0] and snapshot(store.path) == before


def test_a_source_timeout_bounds_its_profile(tmp_path):
    """The profile's statements get the smaller of the source's and quality's limits (the run
    records the limit it used), unless only quality.timeout_s was set."""
    import sqlite3

    from dsa.config import effective_timeout, parse_config
    from dsa.store import Store

    db = tmp_path / "t.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    config = tmp_path / "dsa.yaml"
    config.write_text(f"sources:\n  s: {{type: sqlite, path: '{db}', timeout_s: 1}}\n")
    argv = ["--store", str(tmp_path / "store"), "--config", str(config)]
    assert run_cli([*argv, "scan", "s"])[0] == 0
    code, out, err = run_cli([*argv, "quality", "s"])
    assert code == 0, err
    runs = Store(tmp_path / "store").manifests()
    assert [m["details"]["timeout_s"] for m in runs if m["run_type"] == "quality"] == [1.0]
    cases = [({"timeout_s": 1}, {}, 1), ({}, {"timeout_s": 600}, 600), ({"timeout_s": 5}, {"timeout_s": 600}, 5),
             ({"timeout_s": 900}, {"timeout_s": 60}, 60), ({}, {}, 300)]
    for source, quality, limit in cases:
        parsed = parse_config({"sources": {"s": {"type": "sqlite", "path": "x", **source}}, "quality": quality})
        assert effective_timeout(parsed.sources["s"], parsed.quality) == limit, (source, quality)


# -- partial scans stay usable -------------------------------------------------------------------

def test_a_partial_scan_is_profiled_and_diffed(tmp_path):
    """A files source with one unreadable file scans `partial`; quality and diff work on that scan
    and say in one line that what it could not read is unknown."""
    import polars as pl

    lake = tmp_path / "lake"
    lake.mkdir()
    pl.DataFrame({"id": [1, 2, 3]}).write_parquet(lake / "good.parquet")
    (lake / "broken.parquet").write_bytes(b"PAR1 not really")
    config = tmp_path / "dsa.yaml"
    config.write_text(f"sources:\n  lake: {{type: files, paths: ['{lake}/']}}\n")
    argv = ["--store", str(tmp_path / "store"), "--config", str(config)]
    for _ in range(2):
        code, out, err = run_cli([*argv, "scan", "lake"])
        assert code == 3, (out, err)  # partial
    code, out, err = run_cli([*argv, "quality", "lake"])
    assert code == 0, (out, err)
    assert "1 tables profiled" in out
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "is partial" in notes[0] and "unknown" in notes[0], err
    code, out, err = run_cli([*argv, "diff", "lake"])
    assert code == 0, (out, err)
    assert "unknown, not removed" in out


# -- the config fuzz -----------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "shop", "", " a", "../../etc/x", "a/b", ".hidden", "-x", "x" * 200, "\x00", "é"])
HUGE = st.sampled_from([1_000, 70_000, 300_000, 1_200_000]).map(lambda n: "x" * n)
NUMBERS = st.sampled_from(["1e309", "-1e309", ".inf", ".nan", "99999", "-1", "0", "65535", "1", "300"])
STRINGS = st.one_of(st.text(max_size=8), HUGE, st.sampled_from([
    "${NOPE_UNSET}", "${HOME}", "${NOPE:-x}", "${", "${A", "$${A}", "[", "a[", "[!", "[a]", "*", "not a dsn",
    "postgresql://h:99999/d", "postgresql://u@127.0.0.1:1/d?sslmode=bogus", "mysql://h:70000/", "host=h port=x",
    "bogus", "require", "10%", "200%", "sqlite", "postgres", "mysql", "duckdb", "files", "nope"]))
KEYS = ["type", "path", "paths", "dsn", "host", "port", "sslmode", "timeout_s", "connect_timeout_s", "include",
        "exclude", "schemas", "tables", "attach", "bogus"]


def _yaml_scalar(value: str) -> str:
    return json.dumps(value) if not re.fullmatch(r"[-.\w${}:%]*", value) else value


@st.composite
def hostile_configs(draw) -> str:
    kind = draw(st.sampled_from(["bomb", "deep", "source", "sources", "quality", "garbage"]))
    if kind == "bomb":
        return alias_bomb(draw(st.integers(1, 10)), draw(st.integers(2, 12)))
    if kind == "deep":
        depth = draw(st.integers(1, 6000))
        opener = draw(st.sampled_from(["[", "{a: "]))
        closer = "]" if opener == "[" else "}"
        return "sources: " + opener * depth + closer * depth + "\n"
    if kind == "garbage":
        return draw(st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
    if kind == "quality":
        key = draw(st.sampled_from(["timeout_s", "top_k", "sample", "workers"]))
        return f"quality: {{{key}: {_yaml_scalar(draw(st.one_of(NUMBERS, STRINGS)))}}}\n"
    count = 1 if kind == "source" else draw(st.integers(2, 4))
    lines = ["sources:"]
    for _ in range(count):
        items = [f"type: {draw(st.sampled_from(['sqlite', 'postgres', 'mysql', 'duckdb', 'files', 'nope']))}"]
        for key in draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=True)):
            if key in ("include", "exclude"):
                value = f"{{tables: [{_yaml_scalar(draw(STRINGS))}]}}"
            elif key in ("paths", "schemas", "tables"):
                value = f"[{_yaml_scalar(draw(STRINGS))}]"
            elif key == "attach":
                value = f"{{x: {_yaml_scalar(draw(STRINGS))}}}"
            else:
                value = _yaml_scalar(draw(st.one_of(NUMBERS, STRINGS)))
            items.append(f"{key}: {value}")
        lines.append(f"  {_yaml_scalar(draw(NAMES)) or repr('')}: {{{', '.join(items)}}}")
    return "\n".join(lines) + "\n"


ARGUMENTS = st.sampled_from([
    ["connections", "list", "--format", "json"],
    ["runs"],
    ["runs", "-n", "-1"],
    ["runs", "shop", "--limit", "0"],
    ["query", "SELECT count(*) AS n FROM sync_runs"],
    ["query", "SELECT * FROM read_csv('/etc/passwd')"],
    ["query", "SELECT 1", "--format", "xml"],
    ["connections", "remove", "nosuch"],
    ["connections", "add", "../../etc/x", "--type", "sqlite", "--path", "x.db"],
    ["diff", "shop", "--format", "yaml"],
    ["export", "--format", "xml", "--out", "out"],
])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=hostile_configs(), argv=ARGUMENTS)
@example(text=alias_bomb(), argv=["runs"])
@example(text="sources: " + "[" * 5000 + "]" * 5000, argv=["runs"])
@example(text="sources:\n  s: {type: sqlite, path: x.db, timeout_s: 1e309}\n", argv=["connections", "list", "--format", "json"])
def test_fuzz_config_and_arguments(base, tmp_path_factory, text, argv):
    folder = tmp_path_factory.mktemp("fuzz")
    store = folder / "store"
    shutil.copytree(base / "store", store)
    config = folder / "dsa.yaml"
    config.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = snapshot(store)
    old = os.getcwd()
    os.chdir(folder)
    try:
        code, out, err = run_guarded(["--store", str(store), "--config", str(config), *argv], env={"NOPE_UNSET": None})
    finally:
        os.chdir(old)
    assert "Traceback" not in err and "internal error" not in err, (text[:300], argv, err[-500:])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code in (0, 2), (text[:300], argv, code, err[-500:])
    assert len(errors) == (1 if code == 2 else 0), (text[:300], argv, err[-500:])
    assert snapshot(store) == before, (text[:300], argv)
