"""Kill -9 every command that writes the catalog at a random moment: nothing written before is
touched, the killed run reads `failed`, and the next run of the store leaves no half-written file.

Each command is first run whole once, to learn how long it takes; then it is started again and
killed at a uniformly random point of that time (its start-up included: the kill may land before
the run exists, during its reading or while its files are written). The writers: scan, quality,
check, diff, mirror and rotate-key. The default suite kills each
command `DSA_CRASH_KILLS` times (2); the dedicated run sets it to 20 or more:

    DSA_CRASH_KILLS=20 python -m pytest tests/test_crash.py
"""

from __future__ import annotations

import json
from collections import Counter
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsa.store import Store
from tests.inprocess import snapshot

KILLS = int(os.environ.get("DSA_CRASH_KILLS", "2"))
SEED = int(os.environ.get("DSA_CRASH_SEED", "21"))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A store with two scans and two quality runs of a SQLite source (its checks judged with
    them), and a stored secret."""
    import yaml

    from dsa.demo import DEMO_CHECKS, DEMO_SOURCE, build_shop

    root = tmp_path_factory.mktemp("crash")
    db = build_shop(root / "shop.db", 1)
    checks = [{**group, "source": "shop"} for group in DEMO_CHECKS if group["source"] == DEMO_SOURCE]
    (root / "dsa.yaml").write_text(yaml.safe_dump({"sources": {"shop": {"type": "sqlite", "path": str(db)}},
                                                   "checks": checks}))
    for args in (["scan", "shop"], ["quality", "shop"], ["scan", "shop"], ["quality", "shop"]):
        done = _dsa(root, root / "store", *args)
        assert done.returncode == 0, done.stderr
    done = _dsa(root, root / "store", "connections", "add", "other", "--type", "postgres", "--host", "127.0.0.1",
                "--password-stdin", input="s3cret-crash-pw\n")
    assert done.returncode == 0, done.stderr
    return root


def _env(root: Path, store: Path) -> dict[str, str]:
    return {**os.environ, "DSA_STORE": str(store), "DSA_CONFIG": str(root / "dsa.yaml")}


def _dsa(root: Path, store: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dsa", *args], env=_env(root, store), cwd=root, input=input,
                          capture_output=True, text=True, timeout=300)


def _run_ids(store: Path) -> set[str]:
    """The runs as the store lists them: folders with a manifest. A kill between a run folder's
    creation and its manifest's leaves an empty folder that no reader lists (asserted below)."""
    return {p.parent.name for p in (store / "runs").glob("*/run.json")}


def _unlisted(store: Path) -> list[str]:
    """Run folders without a manifest, and whatever is in them."""
    return sorted(f.relative_to(store).as_posix() for p in (store / "runs").iterdir()
                  if p.is_dir() and p.name != "_schema" and not (p / "run.json").exists() for f in [p, *p.rglob("*")])


def _temp_files(store: Path) -> list[str]:
    return sorted(p.relative_to(store).as_posix() for p in store.rglob("*.tmp"))


def _kill_at_random(root: Path, store: Path, args: list[str], seconds: float, rng: random.Random) -> float:
    """Start `dsa ARGS`, SIGKILL it after a random part of `seconds`; returns when it was killed."""
    at = rng.uniform(0, seconds)
    proc = subprocess.Popen([sys.executable, "-m", "dsa", *args], env=_env(root, store), cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=at)  # finished before the kill: that is a run the kill came too late for
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return at


WRITERS = {
    "scan": ["scan", "shop"],
    "quality": ["quality", "shop"],
    "check": ["check", "shop"],
    "diff": ["diff", "shop"],
    "rotate-key": ["connections", "rotate-key"],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_killed_writer_loses_nothing(history, tmp_path, command):
    args = WRITERS[command]
    rng = random.Random(f"{SEED}:{command}")
    store = tmp_path / "store"
    shutil.copytree(history / "store", store)
    started = time.perf_counter()
    done = _dsa(history, store, *args)
    seconds = time.perf_counter() - started
    assert done.returncode in (0, 4, 5), done.stderr  # diff exits 4: something changed; check 5: one failed
    outcomes: Counter[str] = Counter()
    for _ in range(KILLS):
        before_runs = _run_ids(store)
        # a temp file an earlier kill left is no data: the next run clears it (asserted at the end)
        before = {k: v for k, v in snapshot(store).items() if not k.startswith("runs/_schema/") and not k.endswith(".tmp")}
        _kill_at_random(history, store, args, seconds, rng)
        after = snapshot(store)
        # earlier runs, connections and secrets: byte for byte as they were (a rotation may have
        # re-encrypted some secrets and added its new key: each one must still decrypt, below)
        for path, digest in before.items():
            if command == "rotate-key" and path in ("credentials.json", "secret.key"):
                continue
            assert after.get(path) == digest, (command, path)
        new = _run_ids(store) - before_runs
        assert len(new) <= 1, new
        # nothing but a manifest's temp file, if any (the next run clears it: asserted at the end)
        assert all(len(Path(f).parts) == 2 or f.endswith(".tmp") for f in _unlisted(store)), _unlisted(store)
        if command == "rotate-key":  # a rotation makes no run: was it caught between its steps?
            keys = len((store / "secret.key").read_text().split())
            outcomes["between its steps (two keys)" if keys > 1 else "before or after its steps"] += 1
        elif not new:
            outcomes["before its run began"] += 1
        for run_id in new:
            written = json.loads((store / "runs" / run_id / "run.json").read_text())["status"]
            seen = Store(store).run(run_id)["status"]
            # killed while running: read as failed; a kill that came after the end changed nothing
            assert seen == ("failed" if written == "running" else written), (written, seen)
            outcomes["while its run was running" if written == "running" else "after it ended"] += 1
    print(f"\n{command}: {KILLS} kills in {seconds:.1f}s runs: " + ", ".join(f"{n} {k}" for k, n in outcomes.items()))
    # the next run of the store clears what the killed ones left half-written
    done = _dsa(history, store, "scan", "shop")
    assert done.returncode == 0, done.stderr
    assert _temp_files(store) == []
    secrets_ok = _dsa(history, store, "connections", "list", "--format", "json")
    assert secrets_ok.returncode == 0, secrets_ok.stderr
    listed = {c["name"]: c for c in json.loads(secrets_ok.stdout)}
    assert listed["other"]["secret"].startswith("vault (key "), listed["other"]  # still decrypts


@pytest.mark.postgres
def test_killed_mirror_loses_nothing(history, tmp_path, pg_database):
    rng = random.Random(f"{SEED}:mirror")
    store = tmp_path / "store"
    shutil.copytree(history / "store", store)
    before = snapshot(store)
    started = time.perf_counter()
    done = _dsa(history, store, "mirror", "--dsn", pg_database)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    for _ in range(KILLS):
        _kill_at_random(history, store, ["mirror", "--dsn", pg_database], seconds, rng)
        assert {k: v for k, v in snapshot(store).items() if k in before} == before
    done = _dsa(history, store, "mirror", "--dsn", pg_database)
    assert done.returncode == 0, done.stderr
    import psycopg

    with psycopg.connect(pg_database) as conn:
        mirrored = conn.execute("SELECT count(*) FROM dsa_production.sync_runs").fetchone()[0]
    assert mirrored == len(_run_ids(store))
    assert _temp_files(store) == []


def test_stale_temp_files_go_and_live_ones_stay(tmp_path):
    """Only a file whose writer is gone is removed: a live process's half-written part is its own."""
    store = Store(tmp_path / "store")
    with pytest.raises(RuntimeError):
        with store.begin_run("x", "scan") as run:
            raise RuntimeError("boom")
    folder = store.runs_dir / run.run_id / "normalized_tables"
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = folder / f".part-00000.parquet.{dead.stdout.strip()}.a1b2c3.tmp"
    live = folder / f".part-00001.parquet.{os.getpid()}.d4e5f6.tmp"
    stale_root = store.path / f".connections.json.{dead.stdout.strip()}.0a0b0c.tmp"
    for path in (stale, live, stale_root):
        path.write_bytes(b"half")
    with store.begin_run("x", "scan"):
        pass
    assert not stale.exists() and not stale_root.exists() and live.exists()
