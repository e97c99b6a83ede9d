"""The schedule ticker: ``Scheduler(client).run()`` or ``animus scheduler`` on the command line.

The database decides everything (``animus.tick_schedules``): which periods are due, that each is
submitted exactly once however many tickers run, what happens to periods missed while none ran.
A ticker only calls it: once per ``interval`` seconds, or earlier when the next schedule is due
sooner. Any number of tickers (one per Worker, or ``animus scheduler`` processes) is safe.
"""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timezone
from typing import Any

from animus.results import ScheduleRun

__all__ = ["Scheduler"]

log = logging.getLogger("animus.scheduler")


class Scheduler:
    """Ticks the schedules of the queues the client's role may use.

    ``interval``: the longest sleep between two ticks (seconds); a schedule due sooner (its
    ``next_run_at``) wakes the loop for it. ``max_submits``: items one tick submits at most (the
    rest follow at once on the next tick).
    """

    def __init__(self, client: Any, *, interval: float = 30.0, max_submits: int | None = None) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        if max_submits is not None and not 1 <= max_submits <= 100_000:
            raise ValueError(f"max_submits must be between 1 and 100000, got {max_submits!r}")
        self.client = client
        self.interval = float(interval)
        self.max_submits = max_submits
        self._stop = threading.Event()

    def tick(self) -> list[ScheduleRun]:
        """One ``tick_schedules`` call: the periods it submitted (schedule, period_at, work_id)."""
        runs = self.client.tick_schedules(max_submits=self.max_submits)
        for r in runs:
            log.info("schedule %s: submitted period %s as %s", r.schedule, r.period_at.isoformat(), r.work_id)
        return runs

    def seconds_until_next(self) -> float:
        """Seconds to sleep: until the earliest ``next_run_at`` of an unpaused schedule, at most
        ``interval``, at least 0."""
        now = datetime.now(timezone.utc)
        upcoming = [s.next_run_at for s in self.client.list_schedules()
                    if not s.paused and s.next_run_at is not None]
        if not upcoming:
            return self.interval
        return max(0.0, min(self.interval, (min(upcoming) - now).total_seconds()))

    def stop(self) -> None:
        """Make :meth:`run` return after the tick in progress (thread- and signal-safe)."""
        self._stop.set()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Tick until :meth:`stop` or SIGTERM/SIGINT: tick, then sleep until the earliest next run
        or ``interval``, whichever comes first. A tick that submitted ``max_submits`` items is
        followed at once by the next."""
        previous: dict[int, Any] = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: self.stop())
        try:
            while not self._stop.is_set():
                runs = self.tick()
                if len(runs) >= (self.max_submits or 1000):
                    continue                    # more may be due: tick again at once
                wait = self.seconds_until_next()
                if wait == 0 and not runs:
                    # due but not submitted by this tick (another ticker holds it, or its submit
                    # failed: see list_schedules().last_error): no busy loop
                    wait = min(self.interval, 1.0)
                self._stop.wait(wait)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
