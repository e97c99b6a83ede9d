"""Paced retention: ``Retention(client).run()`` or ``animus retention`` on the command line.

The database decides what goes (``animus.purge_work``: ended items older than the retention, with
their merged submissions, steps and dead-letter actions, and pgmq archive rows, a batch per queue
and call, rows other sessions hold locked skipped). This loop decides how fast: small batches,
each its own short transaction, at most ``rate`` rows per second, at most a ``duty`` share of the
time in purge_work and ``pause`` seconds between two calls, so the queue beside it keeps its rate and autovacuum keeps up with the dead rows. A
pass ends when every count is 0 (caught up); with ``every`` the loop sleeps and starts another
pass, forever (a schedule).
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Retention", "RetentionPass"]

log = logging.getLogger("animus.retention")


@dataclass
class RetentionPass:
    """What one pass deleted: items (with their merged submissions) and archived messages, the
    purge_work calls it took, its seconds, and whether it caught up (False: stopped by
    ``max_time`` or :meth:`Retention.stop` with rows left)."""
    items_deleted: int = 0
    archived_messages_deleted: int = 0
    calls: int = 0
    seconds: float = 0.0
    caught_up: bool = False

    @property
    def rows_per_second(self) -> float:
        return (self.items_deleted + self.archived_messages_deleted) / self.seconds if self.seconds > 0 else 0.0


class Retention:
    """Deletes what ended more than ``older_than`` ago, paced.

    ``older_than``: the retention (an interval as text, or seconds). ``queue``: one queue (None:
    every queue the role may use). ``batch_size``: items and archived messages one call deletes
    per queue at most, 1-1000000 (each call is one transaction: smaller batches hold row locks
    and delay other sessions for less time). ``rate``: rows per second at most over the pass (None:
    no cap). ``duty``: the share of the pass's time spent in purge_work calls at most, > 0 and <= 1
    (a time budget: after a call of t seconds the loop sleeps t * (1 - duty) / duty; on a busy
    server calls take longer and retention slows down with them; None: no budget). ``pause``:
    seconds between two calls at least. ``max_time``: a pass stops after this
    many seconds even with rows left (None: until caught up). ``every``: seconds between two
    passes of :meth:`run` (None: :meth:`run` makes one pass).
    """

    def __init__(self, client: Any, older_than: Any = "7 days", *, queue: str | None = None,
                 batch_size: int = 1000, rate: float | None = None, duty: float | None = None,
                 pause: float = 0.0,
                 max_time: float | None = None, every: float | None = None) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= 1_000_000:
            raise ValueError(f"batch_size must be an integer between 1 and 1000000, got {batch_size!r}")
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be > 0 rows per second (or None: no cap), got {rate!r}")
        if duty is not None and not 0 < duty <= 1:
            raise ValueError(f"duty must be > 0 and <= 1 (a share of the time), got {duty!r}")
        if not pause >= 0:
            raise ValueError(f"pause must be >= 0 seconds, got {pause!r}")
        if max_time is not None and not max_time > 0:
            raise ValueError(f"max_time must be > 0 seconds (or None: until caught up), got {max_time!r}")
        if every is not None and not every > 0:
            raise ValueError(f"every must be > 0 seconds (or None: one pass), got {every!r}")
        self.client = client
        self.older_than = older_than
        self.queue = queue
        self.batch_size = batch_size
        self.rate = rate
        self.duty = duty
        self.pause = float(pause)
        self.max_time = max_time
        self.every = every
        self._stop = threading.Event()

    def run_pass(self) -> RetentionPass:
        """purge_work until every count is 0, ``max_time`` is up or :meth:`stop` is called;
        between two calls it sleeps for ``pause`` and as long as ``rate`` requires."""
        p = RetentionPass()
        t0 = time.monotonic()
        while not self._stop.is_set():
            called = time.monotonic()
            rows = self.client.purge_work(self.older_than, queue=self.queue, batch_size=self.batch_size)
            took = time.monotonic() - called
            p.calls += 1
            items = sum(r["items_deleted"] for r in rows)
            archived = sum(r["archived_messages_deleted"] for r in rows)
            p.items_deleted += items
            p.archived_messages_deleted += archived
            if items == 0 and archived == 0:
                p.caught_up = True
                break
            now = time.monotonic()
            if self.max_time is not None and now - t0 >= self.max_time:
                break
            wait = self.pause
            if self.duty is not None:
                wait = max(wait, took * (1 - self.duty) / self.duty)
            if self.rate is not None:
                wait = max(wait, t0 + (p.items_deleted + p.archived_messages_deleted) / self.rate - now)
            if wait > 0:
                self._stop.wait(wait)
        p.seconds = time.monotonic() - t0
        log.info("retention pass: %d items, %d archived messages deleted in %d calls, %.1f s (%.0f rows/s)%s",
                 p.items_deleted, p.archived_messages_deleted, p.calls, p.seconds, p.rows_per_second,
                 "" if p.caught_up else ", rows left")
        return p

    def run(self) -> RetentionPass:
        """One pass; with ``every``, a pass every ``every`` seconds until SIGTERM/SIGINT or
        :meth:`stop` (returns the last pass)."""
        installed = []
        if self.every is not None and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                installed.append((sig, signal.signal(sig, lambda *_: self.stop())))
        try:
            while True:
                started = time.monotonic()
                last = self.run_pass()
                if self.every is None or self._stop.wait(max(0.0, started + self.every - time.monotonic())):
                    return last
        finally:
            for sig, old in installed:
                signal.signal(sig, old)

    def stop(self) -> None:
        """Make :meth:`run` return after the purge_work call in progress (thread- and signal-safe)."""
        self._stop.set()
