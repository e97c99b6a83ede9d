"""Telemetry work kept off the path of a client call.

Inside a real ``submit_work`` the SDK's bookkeeping is the client's largest cost: one histogram
record ~20 µs, one counter add ~10 µs (attribute cleaning and hashing, locks, measurement
objects), setting the result attributes and ending the span ~15 µs, against a 0.5 ms round trip.
None of it changes what is exported if it runs a little later, so the call only captures the
values and a daemon thread does the rest, mostly while the caller waits on the database:

- message counts (``messaging.client.sent.messages``, ``…consumed.messages``) are exact
  in-process totals per attribute set (:class:`Tally`) reported by observable counters (a
  monotonic cumulative sum is what the SDK exports for a counter either way);
- durations are queued and recorded into the SDK histograms by the thread;
- a call's span gets its result attributes and ends there, with the end time taken when the
  call returned (``span.end(end_time)``): the exported span is the same.

When it shows: a metric collection first records everything still queued (the observable
counters' callback), so a reader never misses a finished call. A span reaches the span
processors a few milliseconds after its call returns. :func:`flush` does all queued work at
once in the calling thread; ``TelemetryHandle.force_flush``/``shutdown``, ``Client.close`` and
interpreter exit run it. A test reading an in-memory span exporter right after a call calls
:func:`animus.telemetry.flush` first.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, NoOpMeter, Observation

log = logging.getLogger("animus.telemetry")


class Deferred:
    """A queue of ``fn(*args)`` run by a daemon thread instead of the caller.

    :meth:`put` appends to a deque (and wakes the thread when it sleeps). The thread works in
    rounds a few milliseconds apart; if it falls ``limit`` items behind, the caller runs them
    itself (back-pressure: the queue stays bounded). :meth:`drain` runs everything queued, from
    any thread; each item is taken from the deque exactly once.
    """

    def __init__(self, pause: float = 0.005, limit: int = 10_000) -> None:
        self.pause = pause
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self._pending: deque = deque()
        self._wake = threading.Event()
        self._idle = True
        self._thread: threading.Thread | None = None

    def put(self, fn: Callable[..., Any], *args: Any) -> None:
        pending = self._pending
        pending.append((fn, args))
        if self._idle:
            self._idle = False
            if self._thread is None:
                self._start()
            self._wake.set()
        elif len(pending) > self.limit:
            self.drain()

    def _start(self) -> None:
        t = threading.Thread(target=self._run, name="animus-telemetry", daemon=True)
        self._thread = t
        t.start()
        # Registered now, after the application's providers (atexit runs handlers last-in
        # first-out): the queue is drained before the SDK's own exit-time shutdown.
        atexit.register(self.drain)

    def drain(self) -> None:
        pending = self._pending
        while pending:
            try:
                fn, args = pending.popleft()
            except IndexError:   # taken by a concurrent drain
                return
            try:
                fn(*args)
            except Exception:  # pragma: no cover - an SDK error must not stop the thread
                log.exception("deferred telemetry failed")

    def _run(self) -> None:
        pending, wake = self._pending, self._wake
        while True:
            wake.wait()
            wake.clear()
            while True:
                self.drain()
                time.sleep(self.pause)   # let items gather; the callers run meanwhile
                if not pending:
                    self._idle = True
                    if not pending:      # nothing appended since: sleep until woken
                        break
                    self._idle = False


DEFERRED = Deferred()
defer = DEFERRED.put


def flush() -> None:
    """Run all queued telemetry work now (span ends, histogram records), in this thread."""
    DEFERRED.drain()


# A forked child starts with an empty queue and its own thread (started on first use).
os.register_at_fork(after_in_child=DEFERRED._reset)


class Tally:
    """A monotonic count per attribute set (the hot path is a dict update under a lock)."""

    __slots__ = ("_lock", "_totals")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple, list] = {}

    def add(self, n: int, attrs: Mapping[str, Any], key: tuple) -> None:
        """Add ``n`` for ``attrs``; ``key`` is ``tuple(attrs.items())``, computed once by the caller."""
        with self._lock:
            cell = self._totals.get(key)
            if cell is None:
                self._totals[key] = [n, dict(attrs)]
            else:
                cell[0] += n

    def observations(self) -> list[Observation]:
        with self._lock:
            return [Observation(total, attrs) for total, attrs in self._totals.values()]


def _ignore(*args: Any) -> None:
    pass


class CallMetrics:
    """The per-call metric state of one meter, shared by every ``Instruments`` on it (an
    observable instrument is registered once per meter, with the first registrant's callback)."""

    def __init__(self, meter: Any) -> None:
        self.sent = Tally()
        self.consumed = Tally()
        # ``record_later(histogram, value, attrs)``; nothing at all on a no-op meter.
        self.record_later = _ignore if isinstance(meter, NoOpMeter) else _record_later
        meter.create_observable_counter(
            "messaging.client.sent.messages", callbacks=[self._observer(self.sent)], unit="{message}",
            description="Number of messages producer attempted to send to the broker.")
        meter.create_observable_counter(
            "messaging.client.consumed.messages", callbacks=[self._observer(self.consumed)],
            unit="{message}", description="Number of messages that were delivered to the application.")

    @staticmethod
    def _observer(tally: Tally):
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            flush()    # queued histogram records first: this collection includes them
            return tally.observations()
        return observe


def _record_later(histogram: Any, value: float, attrs: Mapping[str, Any]) -> None:
    defer(histogram.record, value, attrs)


_BY_METER: "weakref.WeakKeyDictionary[Any, CallMetrics]" = weakref.WeakKeyDictionary()
_BY_METER_LOCK = threading.Lock()


def call_metrics(meter: Any) -> CallMetrics:
    with _BY_METER_LOCK:
        state = _BY_METER.get(meter)
        if state is None:
            state = _BY_METER[meter] = CallMetrics(meter)
        return state
