"""Awaiting results: one listener per client, shared by every waiter.

``client.wait(work_id)`` / ``await aclient.wait(work_id)`` register a waiter with the client's
:class:`Listener`: one dedicated connection that LISTENs on ``animus_work_done`` and runs on an
asyncio loop (the AsyncClient's own loop; for the sync Client a loop on one background thread).
The listener calls ``animus.watch_work`` on that connection, in batches: every id registered since
its last call in one round trip (which also marks the items awaited, so their end notifies), the
ids notified since (to read their outcome), and, every ``poll_interval`` seconds and after a
reconnect, every outstanding id (the polling fallback: a notification lost with a dropped
connection is made up for). A waiter blocks on a future; it never touches the database itself.

The race with a concurrent end is settled in SQL (see deploy/work_wait.sql): LISTEN is issued
before the first watch_work on the connection, and the awaited mark and the end both update the
item's row, so either watch_work sees the end or the end sees the mark and notifies.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any, Awaitable, Callable, Iterable, Sequence
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from animus.errors import (AnimusError, ConnectionFailed, WaitTimeout, WorkCancelled, WorkFailed,
                           WorkNotFound, from_psycopg)
from animus.queries import QUERIES, WAIT_CHANNEL
from animus.results import WaitResult

__all__ = ["Listener", "SyncWaits", "AsyncWaits", "outcome_of"]

_WATCH = QUERIES["watch_work"]
_WATCH_SQL = _WATCH.sql(("work_ids",))
_BATCH = 10000          # watch_work's limit (ZA110 above it)
DEFAULT_POLL_INTERVAL = 5.0
# The listener's connection shows under this name in pg_stat_activity.
LISTENER_APPLICATION_NAME = "animus-wait"
# Errors of a watch call after which the listener keeps the ids and tries again: a deadlock with a
# concurrent many-id settle (both lock several item rows), a serialization failure.
_RETRY = {"40P01", "40001"}
# watch_work skips an item whose row another transaction holds locked (watching false): the
# listener watches it again after this many seconds (the lock is a settle's, typically < 1 ms).
_RETRY_AFTER = 0.01
_RETRY_MAX = 0.5


def _uuid(x: Any) -> UUID:
    return x if isinstance(x, UUID) else UUID(str(x))


class _Entry:
    """One waiter on one id: its future (asyncio or concurrent) and the last row seen."""

    __slots__ = ("requested", "key", "future", "last")

    def __init__(self, requested: UUID, future: Any) -> None:
        self.requested = requested
        self.key = requested
        self.future = future
        self.last: WaitResult | None = None


def _settle(fut: Any, result: Any = None, exc: BaseException | None = None) -> None:
    if fut.done():
        return
    try:
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)
    except (asyncio.InvalidStateError, concurrent.futures.InvalidStateError):
        pass   # cancelled by its waiter meanwhile (a timeout)


class Listener:
    """The LISTEN connection and the registry of waiters (every method runs on its loop)."""

    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection]], scrub: Any = None,
                 poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        self._connect = connect
        self._scrub = scrub
        self.poll_interval = poll_interval
        self._waiting: dict[UUID, list[_Entry]] = {}
        self._pending: set[UUID] = set()
        # ids whose row another transaction held locked when watched (watching false): again soon
        self._retry: set[UUID] = set()
        self._wake = asyncio.Event()
        self._closed = False
        self._conn: psycopg.AsyncConnection | None = None
        self.connections = 0        # LISTEN connections opened so far (1 + reconnects)
        self.watch_calls = 0        # round trips of watch_work

    # ------------------------------------------------------------ registry (loop thread only)
    def add(self, entry: _Entry) -> None:
        if self._closed:
            _settle(entry.future, exc=ConnectionFailed("the client is closed"))
            return
        self._waiting.setdefault(entry.key, []).append(entry)
        self._pending.add(entry.key)
        self._wake.set()

    def remove(self, entry: _Entry) -> None:
        entries = self._waiting.get(entry.key)
        if entries is not None:
            try:
                entries.remove(entry)
            except ValueError:
                pass
            if not entries:
                del self._waiting[entry.key]

    @property
    def outstanding(self) -> int:
        return sum(len(v) for v in self._waiting.values())

    def _deliver(self, rows: Iterable[WaitResult]) -> None:
        for row in rows:
            key = row.work_id
            entries = self._waiting.pop(key, None)
            if not entries:
                continue
            live = [e for e in entries if not e.future.done()]
            if row.state is None:
                for e in live:
                    _settle(e.future, exc=WorkNotFound(
                        f"wait: no such work item {e.requested} (or one in a queue your role has no grant on)",
                        sqlstate="ZA102"))
            elif row.ended:
                for e in live:
                    e.last = row
                    _settle(e.future, row)
            elif live:
                # Not ended: wait under the canonical id (the payload of its notification).
                canon = row.canonical_id or key
                for e in live:
                    e.last = row
                    e.key = canon
                self._waiting.setdefault(canon, []).extend(live)
                if row.watching is False:
                    self._retry.add(canon)   # not marked (row locked meanwhile): watch again shortly

    def _fail_all(self, exc: AnimusError) -> None:
        for entries in self._waiting.values():
            for e in entries:
                _settle(e.future, exc=exc)
        self._waiting.clear()
        self._pending.clear()

    # ------------------------------------------------------------ the loop
    async def run(self) -> None:
        delay = 0.05
        while not self._closed:
            conn = None
            try:
                conn = await self._connect()
                self._conn = conn
                self.connections += 1
                await conn.execute(f"LISTEN {WAIT_CHANNEL}")
                # (Re)connected: every outstanding id is checked again (ends while no one listened).
                self._pending.update(self._waiting)
                delay = 0.05
                await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except (psycopg.OperationalError, psycopg.InterfaceError, ConnectionFailed):
                pass   # connection lost: reconnect below
            except AnimusError as exc:   # e.g. not deployed, no EXECUTE: waiters cannot be served
                self._fail_all(exc)
            except psycopg.Error as exc:
                self._fail_all(from_psycopg(exc, function=_WATCH.qualified, scrub=self._scrub))
            finally:
                self._conn = None
                if conn is not None:
                    try:
                        await conn.close()
                    except Exception:
                        pass
            if self._closed:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            delay = min(delay * 2, self.poll_interval)

    async def _serve(self, conn: psycopg.AsyncConnection) -> None:
        loop = asyncio.get_running_loop()
        next_poll = time.monotonic() + self.poll_interval
        retry_after = _RETRY_AFTER
        while not self._closed:
            async for n in conn.notifies(timeout=0):
                try:
                    wid = UUID(n.payload)
                except ValueError:
                    continue
                if wid in self._waiting:
                    self._pending.add(wid)
            now = time.monotonic()
            if now >= next_poll:
                self._pending.update(self._waiting)
                next_poll = now + self.poll_interval
            if self._pending:
                ids = list(self._pending)
                self._pending.clear()
                await self._watch(conn, ids)
                continue
            if self._retry:
                # Backs off (10 ms doubling to 0.5 s) while rows stay locked: not a busy loop.
                await self._idle(loop, conn, min(next_poll - now, retry_after))
                retry_after = min(retry_after * 2, _RETRY_MAX)
                self._pending.update(k for k in self._retry if k in self._waiting)
                self._retry.clear()
                continue
            retry_after = _RETRY_AFTER
            await self._idle(loop, conn, next_poll - now)

    async def _watch(self, conn: psycopg.AsyncConnection, ids: list[UUID]) -> None:
        for i in range(0, len(ids), _BATCH):
            chunk = ids[i:i + _BATCH]
            try:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(_WATCH_SQL, [chunk])
                names = tuple(c.name for c in cur.description or ())
                build = WaitResult.builder(names)
                rows = [build(r) for r in await cur.fetchall()]
            except psycopg.errors.OperationalError:
                self._pending.update(chunk)
                raise
            except psycopg.Error as exc:
                if exc.sqlstate in _RETRY:
                    self._pending.update(chunk)     # again on the next turn
                    continue
                err = from_psycopg(exc, function=_WATCH.qualified, scrub=self._scrub)
                if err.sqlstate and not isinstance(err, ConnectionFailed):
                    for wid in chunk:
                        for e in self._waiting.pop(wid, []):
                            _settle(e.future, exc=err)
                    continue
                self._pending.update(chunk)
                raise
            self.watch_calls += 1
            self._deliver(rows)

    async def _idle(self, loop: asyncio.AbstractEventLoop, conn: psycopg.AsyncConnection, timeout: float) -> None:
        """Until the connection has something to read, a waiter registers, or ``timeout``."""
        readable = loop.create_future()

        def on_readable() -> None:
            if not readable.done():
                readable.set_result(None)

        fd = conn.fileno()
        loop.add_reader(fd, on_readable)
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({readable, woken}, timeout=max(0.0, timeout),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(fd)
            woken.cancel()
            readable.cancel()
        self._wake.clear()

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._fail_all(ConnectionFailed("the client was closed while waiting"))


def outcome_of(r: WaitResult) -> Any:
    """What ``wait`` returns for an ended item: the outcome of a completed item; raises
    :class:`WorkFailed` (dead), :class:`WorkCancelled`, or :class:`WaitTimeout` (not ended)."""
    if r.state == "completed":
        return r.outcome
    if r.state == "dead":
        raise WorkFailed(f"work item {r.work_id} is dead: {r.error}", work_id=r.work_id,
                         canonical_id=r.canonical_id, error=r.error, state=r.state)
    if r.state == "cancelled":
        raise WorkCancelled(f"work item {r.work_id} was cancelled", work_id=r.work_id,
                            canonical_id=r.canonical_id, state=r.state)
    raise WaitTimeout(f"work item {r.work_id} has not ended (state {r.state})", work_id=r.work_id,
                      canonical_id=r.canonical_id, state=r.state)


def _timed_out(e: _Entry) -> WaitResult:
    last = e.last
    if last is None:
        return WaitResult(work_id=e.requested, ended=False, timed_out=True)
    return WaitResult(work_id=e.requested, canonical_id=last.canonical_id, state=last.state, ended=False,
                      timed_out=True)


def _as_requested(e: _Entry, r: WaitResult) -> WaitResult:
    if r.work_id == e.requested:
        return r
    return WaitResult(work_id=e.requested, canonical_id=r.canonical_id, state=r.state, ended=r.ended,
                      outcome=r.outcome, error=r.error, resolved_at=r.resolved_at)


class SyncWaits:
    """The sync client's listener: its asyncio loop on one daemon thread, started on first use."""

    def __init__(self, dsn: str, scrub: Any, poll_interval: float) -> None:
        self._dsn = dsn
        self._scrub = scrub
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.listener: Listener | None = None

    def _start(self) -> tuple[asyncio.AbstractEventLoop, Listener]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                holder: dict[str, Any] = {}
                dsn = self._dsn

                async def connect() -> psycopg.AsyncConnection:
                    return await psycopg.AsyncConnection.connect(dsn, autocommit=True,
                                                                 application_name=LISTENER_APPLICATION_NAME)

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    holder["listener"] = Listener(connect, self._scrub, self._poll_interval)
                    task = loop.create_task(holder["listener"].run())
                    holder["task"] = task
                    ready.set()
                    try:
                        loop.run_until_complete(task)
                    except BaseException:
                        pass
                    finally:
                        loop.close()

                t = threading.Thread(target=main, name="animus-wait-listener", daemon=True)
                t.start()
                ready.wait()
                self._loop, self._thread, self.listener = loop, t, holder["listener"]
                self._task = holder["task"]
            return self._loop, self.listener  # type: ignore[return-value]

    def wait_many(self, work_ids: Sequence[Any], timeout: float | None) -> list[WaitResult]:
        loop, listener = self._start()
        entries = [_Entry(_uuid(w), concurrent.futures.Future()) for w in work_ids]
        for e in entries:
            loop.call_soon_threadsafe(listener.add, e)
        concurrent.futures.wait([e.future for e in entries], timeout=timeout)
        out: list[WaitResult] = []
        for e in entries:
            if e.future.done():
                out.append(_as_requested(e, e.future.result()))   # raises WorkNotFound & co.
            else:
                e.future.cancel()
                loop.call_soon_threadsafe(listener.remove, e)
                out.append(_timed_out(e))
        return out

    def close(self) -> None:
        with self._lock:
            loop, listener, thread = self._loop, self.listener, self._thread
            if loop is None or listener is None or thread is None:
                return
            self._loop = None

        async def stop() -> None:
            await listener.close()
            self._task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(stop(), loop)
        except RuntimeError:
            return
        thread.join(timeout=5)


class AsyncWaits:
    """The AsyncClient's listener: one task on the loop that first waited."""

    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection]], scrub: Any,
                 poll_interval: float) -> None:
        self._connect = connect
        self._scrub = scrub
        self._poll_interval = poll_interval
        self.listener: Listener | None = None
        self._task: asyncio.Task | None = None

    def _start(self) -> Listener:
        if self.listener is None or self._task is None or self._task.done():
            self.listener = Listener(self._connect, self._scrub, self._poll_interval)
            self._task = asyncio.get_running_loop().create_task(self.listener.run(), name="animus-wait-listener")
        return self.listener

    async def wait_many(self, work_ids: Sequence[Any], timeout: float | None) -> list[WaitResult]:
        listener = self._start()
        loop = asyncio.get_running_loop()
        entries = [_Entry(_uuid(w), loop.create_future()) for w in work_ids]
        for e in entries:
            listener.add(e)
        if entries:
            await asyncio.wait([e.future for e in entries], timeout=timeout)
        out: list[WaitResult] = []
        for e in entries:
            if e.future.done():
                out.append(_as_requested(e, e.future.result()))
            else:
                e.future.cancel()
                listener.remove(e)
                out.append(_timed_out(e))
        return out

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except BaseException:
                pass
        self.listener = self._task = None
