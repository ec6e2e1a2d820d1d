"""dsa.workers: processes forked while the process has one thread, each running one job later."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    """In a fresh interpreter: this pytest process has threads, so it cannot fork workers."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_a_worker_runs_its_job_and_exits():
    out = _run("""
        import os
        from dsa import workers
        workers.fork_idle(2)
        first, second = workers.take(5)
        assert workers.take(1) == []
        assert first.send("os.path", "join", "a", "b")
        assert second.send("math", "no_such_function")  # fails in the worker: None, do it here
        assert first.result() == os.path.join("a", "b")
        assert second.result() is None
        for worker in (first, second):
            assert worker.pid == 0  # reaped
        print("ok")
    """)
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr


def test_idle_workers_exit_with_their_parent_and_none_is_forked_with_threads():
    out = _run("""
        import os, threading, time
        from dsa import workers
        workers.fork_idle(2)
        pids = [w.pid for w in workers._idle]
        assert len(pids) == 2
        workers.release()  # what exit does: each reads end-of-file and exits, reaped
        for pid in pids:
            try:
                os.kill(pid, 0)
                raise SystemExit(f"worker {pid} still there")
            except ProcessLookupError:
                pass
        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        workers.fork_idle(2)  # a second thread: forking now could copy a held lock
        stop.set()
        assert workers.take(2) == []
        print("ok")
    """)
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr
