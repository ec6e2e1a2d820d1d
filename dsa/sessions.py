"""A table's connections while it is profiled: the deadline that interrupts them, running one
statement, and running a table's column statements on several sessions reading one snapshot.

Everything engine-specific comes from the connector: how to stop a statement (`canceller`),
how sessions share a snapshot (`begin_snapshot`, `share_snapshot`, `join_snapshot`) and how a
session is set up (`prepare_profile_session`).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable

from dsa.errors import one_line
from dsa.profile import probe_sql

if TYPE_CHECKING:
    from dsa.options import QualityOptions
    from dsa.connectors.base import Connector


class TableTimeout(Exception):
    pass


class Deadline:
    """Stops the table's running statements when its time is up or on Ctrl-C (`fire`).

    `cancels` holds one canceller per open session (`Connector.canceller`)."""

    def __init__(self, seconds: float, cancel: Callable[[], None]):
        self.cancels = [cancel]
        self.fired = False
        self.cancelled = False
        self._closed = False
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed = True
        self._timer.cancel()

    def fire(self, cancelled: bool = False) -> None:
        self.fired = True
        self.cancelled = self.cancelled or cancelled
        if not self._closed:  # again shortly, in case a statement started just after this interrupt
            self._timer = threading.Timer(0.5, self.fire)
            self._timer.daemon = True
            self._timer.start()
        for cancel in list(self.cancels):
            try:
                cancel()
            except Exception:  # the statement may have finished meanwhile
                pass


def rollback(conn) -> None:
    try:
        conn.rollback()
    except Exception:
        pass


def run(conn, sql: str, deadline: Deadline) -> list[tuple]:
    """Run one statement and fetch its rows; TableTimeout if the deadline stopped it."""
    # run on the connection itself where it can execute: some drivers' cursors are separate
    # connections that the connection's interrupt would not reach
    if deadline.fired:  # the interrupt may have come between two statements
        raise TableTimeout()
    own_cursor = not callable(getattr(conn, "execute", None))
    cur = conn.cursor() if own_cursor else None
    try:
        if own_cursor:
            cur.execute(sql)
        else:
            cur = conn.execute(sql)
        return cur.fetchall()
    except Exception:
        rollback(conn)
        if deadline.fired:
            raise TableTimeout() from None
        raise
    finally:
        if own_cursor and cur is not None:
            try:
                cur.close()
            except Exception:
                pass


def isolate(conn, dialect: str, specs: list, build: Callable[[list], str | None], deadline: Deadline,
            on_fail: Callable[[object, str], None]) -> None:
    """After a failed statement: find the columns the engine rejects (cheap, no rows read).
    `on_fail` may take away only part of a column's statement (its min/max): it is probed again."""
    for spec in specs:
        for _ in range(3):
            sql = build([spec])
            if sql is None:
                break
            try:
                run(conn, probe_sql(sql, dialect), deadline)
                break
            except TableTimeout:
                raise
            except Exception as exc:
                on_fail(spec, one_line(str(exc))[:300])


def on_sessions(conn, connector: Connector, sqls: list[str], deadline: Deadline, options: QualityOptions,
                sessions: int) -> list[tuple]:
    """Run the statements on `conn` and up to `sessions - 1` more sessions at once (on
    `sessions` of their own where the engine has OWN_SESSIONS).

    The other sessions read the snapshot of `conn` (`share_snapshot`), so all columns are
    measured on the same rows, as in one statement. A session takes the next statement when it
    is done with one; each opens in its own thread, so the first ones already run statements
    while the others connect.
    """
    connector.begin_snapshot(conn)
    snapshot = connector.share_snapshot(conn)
    count = min(sessions, len(sqls))
    own = connector.OWN_SESSIONS
    opened: list = []
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for sql in sqls:
        todo.put(sql)
    failed = threading.Event()

    def session(k: int):
        if k == 0 and not own:
            return conn
        other = connector.session(count)
        opened.append(other)
        deadline.cancels.append(connector.canceller(other))
        connector.prepare_profile_session(other, options)
        connector.join_snapshot(other, snapshot)
        return other

    def drain(k: int) -> list[tuple]:
        rows: list[tuple] = []
        try:
            if k and todo.empty():  # the other sessions took every statement meanwhile
                return rows
            current = session(k)
            while not failed.is_set():
                try:
                    sql = todo.get_nowait()
                except queue.Empty:
                    break
                rows.extend(run(current, sql, deadline))
        except BaseException:
            failed.set()  # the other sessions stop after their current statement
            raise
        return rows

    try:
        with ThreadPoolExecutor(count, thread_name_prefix="dsa-session") as pool:
            done = [pool.submit(drain, k) for k in range(count)]
        return [row for d in done for row in d.result()]
    finally:
        del deadline.cancels[1:]
        for c in opened:
            try:
                c.close()  # ends its transaction: it only read
            except Exception:
                pass
