"""Background jobs: a scan and/or quality run started from the app, one at a time per connection.

`start_job` takes a per-connection lock (`<store>/locks/<connection>.lock`, `flock`) in the
calling process, then starts `python -m dsa.jobs <job file>` with the lock's file descriptor
inherited: the job holds the lock for as long as it lives, and the kernel releases it when the job
ends however it ends (even SIGKILL). A second `start_job` on the same connection meanwhile fails
at once with `AlreadyRunning`, so two people pressing Scan get one run and a clear message, never
two writers racing. The job runs the ordinary commands (`python -m dsa scan NAME`, then
`python -m dsa quality NAME`) one after the other and keeps its state in `<store>/jobs/<id>.json`;
the runs themselves report progress through the store like any run.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from dsa.errors import DsaError, scrub
from dsa.store import Store
from dsa.system import now, write_atomic

STEPS = ("scan", "quality")
# the exit codes a step ends well with: scans and quality runs 0 or 3 (partial), a diff 0 or 4 (changed)
OK_EXIT = {"scan": (0, 3), "quality": (0, 3), "diff": (0, 4)}


def step_failed(result: dict[str, Any]) -> bool:
    """Whether a job's step (`{"step", "exit_code", "output"}`) ended badly."""
    return result["exit_code"] not in OK_EXIT.get(result["step"], (0,))


_children: list[subprocess.Popen] = []  # reaped on the next start, so no zombies pile up


class AlreadyRunning(DsaError):
    """Another job of the same connection holds its lock."""


def quality_available() -> bool:
    """Whether this installation has the `dsa quality` command."""
    return importlib.util.find_spec("dsa.cli.quality") is not None


def _lock_path(store: Store, connection: str) -> Path:
    # the connection name may hold any character: name the file by its hex, not by the name
    return store.path / "locks" / f"{connection.encode().hex()}.lock"


def is_running(store: Store, connection: str) -> bool:
    """Whether a job of this connection holds its lock right now."""
    path = _lock_path(store, connection)
    if not path.exists():
        return False
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def start_job(store: Store, connection: str, steps: list[str], sample: str | None = None,
              env: dict[str, str] | None = None) -> str:
    """Start a background job running `steps` on `connection`; returns the job id."""
    steps = [s for s in STEPS if s in steps]
    if not steps:
        raise DsaError("choose at least one of scan and profile")
    if "quality" in steps and not quality_available():
        raise DsaError("profiling needs the `dsa quality` command, which this installation does not have")
    store.init()
    lock = _lock_path(store, connection)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"a scan of '{connection}' is already running; wait for it to finish") from None
        job_id = now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        jobs = store.path / "jobs"
        jobs.mkdir(parents=True, exist_ok=True)
        job = {"job_id": job_id, "connection": connection, "steps": steps, "sample": sample,
               "status": "starting", "started_at": now().isoformat(), "step": None, "pids": [],
               "results": [], "error": None}
        path = jobs / f"{job_id}.json"
        write_atomic(path, json.dumps(job).encode())
        full_env = {**os.environ, **(env or {}), "DSA_STORE": str(store.path.resolve())}
        _children[:] = [p for p in _children if p.poll() is None]
        _children.append(subprocess.Popen(
            [sys.executable, "-m", "dsa.jobs", str(path)], env=full_env, pass_fds=(fd,),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        ))
        return job_id
    finally:
        os.close(fd)  # the job keeps its inherited copy, and with it the lock


def job(store: Store, job_id: str) -> dict[str, Any] | None:
    try:
        return json.loads((store.path / "jobs" / f"{job_id}.json").read_text())
    except (OSError, ValueError):
        return None


def job_runs(store: Store, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs a job's commands started (matched by process id and connection), oldest first."""
    pids = set(job.get("pids") or [])
    return [m for m in store.manifests()
            if m.get("pid") in pids and m["connection"] == job["connection"] and m["started_at"] >= job["started_at"]]


def _run(path: Path) -> int:
    """The job process: run each step as a `dsa` command, recording what happened."""
    state = json.loads(path.read_text())

    def save(**changes: Any) -> None:
        state.update(changes)
        write_atomic(path, json.dumps(state).encode())

    failed = False
    # a new scan is then compared with the one before it, as `dsa demo` does
    for step in [*state["steps"], *(["diff"] if "scan" in state["steps"] else [])]:
        cmd = [sys.executable, "-m", "dsa", step, state["connection"]]
        if step == "quality" and state.get("sample"):
            cmd += ["--sample", state["sample"]]
        if step == "diff":
            scan = _new_scan(Store(Path(os.environ["DSA_STORE"])), state)
            if scan is None:
                continue  # the connection's first scan: nothing to compare it with yet
            cmd += ["--to", scan]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        save(status="running", step=step, pids=[*state["pids"], proc.pid])
        out, err = proc.communicate()
        message = scrub(" ".join((err or out or "").split()))[-500:]
        result = {"step": step, "exit_code": proc.returncode, "output": message}
        save(results=[*state["results"], result])
        if step_failed(result):  # a failed scan leaves nothing to profile or compare
            failed = True
            break
    save(status="failed" if failed else "finished", step=None, finished_at=now().isoformat(),
         error=state["results"][-1]["output"] if failed else None)
    return 0


def _new_scan(store: Store, state: dict[str, Any]) -> str | None:
    """The scan run this job made, when the connection has a usable scan before it to compare with."""
    mine = [m for m in job_runs(store, state) if m["run_type"] == "scan" and m["status"] in ("success", "partial")]
    if not mine:
        return None
    scans = [m for m in store.manifests() if m["run_type"] == "scan" and m["status"] in ("success", "partial")
             and m["connection"] == state["connection"]]
    earlier = [m for m in scans if (m["started_at"], m["run_id"]) < (mine[-1]["started_at"], mine[-1]["run_id"])]
    return mine[-1]["run_id"] if earlier else None


if __name__ == "__main__":
    sys.exit(_run(Path(sys.argv[1])))
