"""Hostile and malformed input: fuzzed config files and command lines (hypothesis).

Every malformed input must end in exactly one `error:` line naming what is wrong, exit code 2,
no traceback, and no change to the catalog (the store folder compared file by file; the audit
log may only grow, since it records failed attempts too). Runs in-process through
`dsa.cli.main` so hundreds of examples stay fast.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings, strategies as st

from tests.inprocess import audit_text, run_cli, snapshot

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_rejected(code: int, out: str, err: str, store: Path, before: dict, audit_before: str, what) -> None:
    errors = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert code == 2, (what, code, out, err)
    assert len(errors) == 1 and errors[0].startswith("error: "), (what, err)
    assert len(errors[0]) > len("error: ") + 5, (what, err)
    assert "Traceback" not in err and "internal error" not in err, (what, err)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f\u202a-\u202e]", err), ("raw control character", what, err)
    assert snapshot(store) == before, what
    assert audit_text(store).startswith(audit_before), what


# -- the config file -----------------------------------------------------------------------

KEYS = ["store", "mirror", "sources", "quality", "type", "path", "dsn", "host", "port", "user", "password",
        "database", "include", "exclude", "schemas", "tables", "top_k", "sample", "timeout_s", "connect_timeout_s",
        "workers", "sqlite", "postgres", "shop", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["sqlite", "${NOPE_NOT_SET}", "${HOME}", "10%", "-1"]))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=4)),
    max_leaves=12,
)
config_docs = st.one_of(
    documents,
    st.fixed_dictionaries({"sources": st.dictionaries(st.sampled_from(["a", "b", "shop"]), documents, max_size=2)}),
    st.fixed_dictionaries({"sources": st.dictionaries(
        st.sampled_from(["a", "b"]),
        st.fixed_dictionaries({"type": st.sampled_from(["sqlite", "postgres", "mysql", "duckdb", "files", "nope"])},
                              optional={k: documents for k in ("path", "dsn", "port", "include", "timeout_s", "bogus")}),
        min_size=1, max_size=2)}),
    st.fixed_dictionaries({}, optional={"quality": documents, "mirror": documents, "store": documents}),
)


def _text_of(doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True)


VALID = "sources:\n  shop: {type: sqlite, path: shop.db, include: {schemas: [main]}}\nquality: {top_k: 5}\n"


@st.composite
def mangled(draw):
    """The valid config with a few characters deleted, inserted or replaced."""
    text = list(VALID)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["del", "ins", "rep"]))
        ch = draw(st.sampled_from(list("{}[]:,'\"\t\n -&*!|>%@`#") + ["\x00", "é"]))
        if op == "del":
            del text[i]
        elif op == "ins":
            text.insert(i, ch)
        else:
            text[i] = ch
    return "".join(text)


config_texts = st.one_of(config_docs.map(_text_of), mangled(), st.text(max_size=60))


@SETTINGS
@given(text=config_texts)
@example(text="sources: [1, 2\n")
@example(text="sources:\n  a: {type: sqlite, path: x.db, pathh: y}\n")
@example(text="sources:\n  a: {type: postgres, port: many}\n")
@example(text="sources:\n  a: {type: sqlite, path: '${NOPE_NOT_SET}'}\n")
@example(text="- just\n- a list\n")
@example(text="quality: {top_k: -3}\n")
@example(text="\t")
def test_fuzzed_config(base, tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    if not store.exists():
        shutil.copytree(base / "store", store)
    config = tmp_path / "dsa.yaml"
    config.write_text(text, encoding="utf-8")
    before, audit_before = snapshot(store), audit_text(store)
    code, out, err = run_cli(["--store", str(store), "--config", str(config), "connections", "list", "--format", "json"])
    if code == 0:  # a valid config: listing it changes nothing either
        assert snapshot(store) == before and "error" not in err
        return
    check_rejected(code, out, err, store, before, audit_before, text)
    assert str(config) in err, err  # the message names the file


def test_config_that_is_not_utf8(base, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(base / "store", store)
    config = tmp_path / "dsa.yaml"
    config.write_bytes(b"sources:\n  a: {type: sqlite, path: '\xff\xfe'}\n")
    before, audit_before = snapshot(store), audit_text(store)
    code, out, err = run_cli(["--store", str(store), "--config", str(config), "scan", "--all"])
    check_rejected(code, out, err, store, before, audit_before, "latin-1")
    assert "cannot read" in err


# -- the command line ----------------------------------------------------------------------

COMMANDS = {
    "scan": ["--all", "shop", "--nope"],
    "runs": ["--limit", "-n", "shop"],
    "quality": ["shop", "--tables", "--sample", "--top-k", "10%", "150%", "0", "-1", "many", "*"],
    "query": ["--format", "-f", "SELECT 1", "csv", "json", "xml"],
    "export": ["--format", "--out", "-o", "json", "parquet", "yaml"],
    "connections add": ["--type", "-t", "sqlite", "postgres", "--path", "--dsn", "--host", "--port", "--user",
                        "--database", "--set", "--password-stdin", "--dsn-stdin", "--replace", "shop", "k=v", "=",
                        "port=x", "--password-prompt"],
    "connections list": ["--format", "json", "table", "csv"],
    "connections test": ["--all", "shop", "nosuch"],
    "connections remove": ["shop", "nosuch"],
    "connections rotate-key": ["--force"],
}
tokens = st.one_of(
    st.text(max_size=10).filter(lambda t: t not in ("--help", "-h")),
    st.sampled_from(["-", "--", "--=", "-x", "--x=1", "'; DROP TABLE x; --", "\u202e", "\x00", "[/x]", "[red]",
                     ":fire:", "\x1b[31m", "%s", "{0}"]),
    st.integers(-5, 10**12).map(str),
)


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(COMMANDS)))
    words = st.one_of(st.sampled_from(COMMANDS[command]), tokens)
    return [*command.split(), *draw(st.lists(words, min_size=1, max_size=5))]


@SETTINGS
@given(argv=command_lines())
@example(argv=["scan", "nosuch"])
@example(argv=["scan", "[/x]"])
@example(argv=["connections", "test", "\x1b]0;title\x07"])
@example(argv=["scan", "--limit", "3"])
@example(argv=["quality", "shop", "--sample", "150%"])
@example(argv=["quality", "shop", "--top-k", "-1"])
@example(argv=["quality", "shop", "--tables", "nosuch*"])
@example(argv=["runs", "--limit", "many"])
@example(argv=["query", "SELEC 1"])
@example(argv=["query", "SELECT * FROM nosuch_table"])
@example(argv=["query", "DROP VIEW latest_table_metadata"])
@example(argv=["export", "nosuch-run", "--out", "x"])
@example(argv=["connections", "add", "shop", "--type", "sqlite", "--path", "x.db"])
@example(argv=["connections", "add", "new", "--type", "sqlite"])
@example(argv=["connections", "add", "new", "--type", "sqlite", "--path", "x.db", "--set", "pathh=1"])
@example(argv=["connections", "add", "new", "--type", "sqlite", "--path", "x.db", "--password-stdin"])
@example(argv=["connections", "add", "new", "--path", "x.db"])
@example(argv=["connections", "add", "", "--type", "sqlite", "--path", "x.db"])
@example(argv=["connections", "add", "new", "--type", "sqlite", "--set", "timeout_s=-1", "--path", "x"])
@example(argv=["connections", "remove", "shop"])
@example(argv=["connections", "test", "nosuch"])
@example(argv=["connections", "list", "--format", "xml"])
def test_fuzzed_command_line(base, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    if store.exists():
        shutil.rmtree(store)
    shutil.copytree(base / "store", store)
    before, audit_before = snapshot(store), audit_text(store)
    full = ["--store", str(store), "--config", str(base / "dsa.yaml"), *argv]
    code, out, err = run_cli(full)
    if code == 0:
        return  # a valid command line (e.g. `runs shop`, `scan shop`): it may do its work
    check_rejected(code, out, err, store, before, audit_before, argv)
