"""Worker processes forked while the process still has one thread, to run one job each later.

Forking a process that has other threads (Polars' thread pool, a reading thread) copies
whatever locks those threads held at that instant, and a child that needs one waits forever.
`dsa scan` therefore forks its workers at the very start (`dsa.launch`), before any thread
exists; they wait, doing nothing, until the scan hands each one job (a function named by its
module and name, its arguments) or exits. A worker imports what its job needs when the job
arrives, runs it with the garbage collector paused, sends the result back and exits.

Nothing waits forever: a worker whose parent is gone reads end-of-file and exits; a parent
whose worker died gets `None` back (and does the work itself).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import pickle
import signal
import struct
import sys
import threading
from typing import Any

_HEADER = struct.Struct("<Q")
COUNT = 2  # workers `dsa scan` forks: two processes keep the two cores of a small machine busy


def _close(fd: int) -> int:
    """Close a pipe's end if it is open; -1, the closed mark."""
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
    return -1


class Worker:
    """One forked worker: send it a job, then read its result once."""

    def __init__(self, pid: int, job_fd: int, result_fd: int):
        self.pid = pid
        self._job = job_fd
        self._result = result_fd

    def send(self, module: str, function: str, *args: Any, more: bool = False) -> bool:
        """Hand the worker its job; False if it cannot take it (it has exited). With `more`, the
        job will read one more message (`receive`), sent by `post`."""
        try:
            _write(self._job, pickle.dumps((module, function, args), protocol=pickle.HIGHEST_PROTOCOL))
            return True
        except OSError:
            return False
        finally:
            if not more:
                self._close_job()

    def post(self, message: Any) -> bool:
        """The one further message of a job sent with `more` (what `receive` returns there)."""
        try:
            _write(self._job, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
            return True
        except OSError:
            return False
        finally:
            self._close_job()

    def result(self) -> Any:
        """The job's return value; None if the worker failed or died (do the work here instead)."""
        try:
            data = _read(self._result)
            ok, value = pickle.loads(data) if data is not None else (False, None)
        except Exception:
            ok, value = False, None
        self.close()
        return value if ok else None

    def _close_job(self) -> None:
        self._job = _close(self._job)

    def close(self, kill: bool = False) -> None:
        """Let the worker go (it exits on end-of-file; `kill`: at once, mid-job) and reap it."""
        if kill and self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self._close_job()
        self._result = _close(self._result)
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0


_idle: list[Worker] = []


def fork_idle(count: int) -> None:
    """Fork `count` idle workers now, if this process has a single thread (else none: a fork
    with other threads running is what this module avoids)."""
    if not hasattr(os, "fork") or threading.active_count() > 1 or _threads() > 1:
        return
    for _ in range(count):
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (job_r, job_w, result_r, result_w):
                os.close(fd)
            return
        if pid == 0:  # the worker: never returns
            code = 0
            try:
                os.close(job_w)
                os.close(result_r)
                for other in _idle:  # the earlier workers' pipes belong to the parent
                    other._close_job()
                    os.close(other._result)
                # not holding the parent's output open: whoever reads it to its end (a job
                # runner, a test) must not wait for this process too
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                _serve(job_r, result_w)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(job_r)
        os.close(result_w)
        _idle.append(Worker(pid, job_w, result_r))
    if _idle:
        atexit.register(release)


def take(count: int) -> list[Worker]:
    """Up to `count` idle workers (each used once); fewer or none if there are not that many."""
    taken = _idle[:count]
    del _idle[:count]
    return taken


def release() -> None:
    """Let every idle worker go (they exit) and reap them."""
    while _idle:
        _idle.pop().close()


_inbox: list[Any] = []  # in a worker: its job's further message, read by a thread meanwhile
_inbox_reader: threading.Thread | None = None


def receive() -> Any:
    """In a worker's job: the message its parent `post`s (None if the parent sent none)."""
    if _inbox_reader is None:
        return None
    _inbox_reader.join()
    return _inbox[0] if _inbox else None


def _read_inbox(fd: int) -> None:
    # read as soon as it is sent, while the job works: the parent's `post` never waits on it
    try:
        data = _read(fd)
        if data is not None:
            _inbox.append(pickle.loads(data))
    except Exception:
        pass


def _serve(job_fd: int, result_fd: int) -> None:
    global _inbox_reader
    data = _read(job_fd)
    if data is None:  # the parent went on without it
        return
    _inbox_reader = threading.Thread(target=_read_inbox, args=(job_fd,), daemon=True)
    _inbox_reader.start()
    gc.disable()  # a job allocates objects that all live until it ends (see dsa.connectors.base.paused_gc)
    try:
        module, function, args = pickle.loads(data)
        out = (True, getattr(importlib.import_module(module), function)(*args))
    except Exception as exc:  # the parent does the work itself
        out = (False, repr(exc))
    _write(result_fd, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    os.close(result_fd)  # and exit: the inbox's reader ends with the process


def _write(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read(fd: int) -> bytes | None:
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(fd, _HEADER.unpack(header)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _threads() -> int:
    """Threads of this process, native ones included (Linux); 1 where that cannot be read."""
    if sys.platform.startswith("linux"):
        try:
            return len(os.listdir("/proc/self/task"))
        except OSError:
            pass
    return 1
