"""``animus.Worker``: runs handlers per work type over a queue.

::

    import animus

    def engage(item: animus.WorkItem) -> dict:
        return {"greeted": item.params["person"]}

    worker = animus.Worker(animus.connect(), handlers={"engage": engage}, queue="work", concurrency=4)
    worker.run()          # until SIGTERM/SIGINT

How it behaves:

- **Wake-up without busy polling**: a dedicated connection LISTENs on the queue's throttled
  channel (``animus_work``, at most one NOTIFY per queue per interval, sent by the database so
  producers never pay one per item); after a wake-up it reads once more when the queue's
  ``notify_throttle`` has passed (an item submitted inside that window gets no wake-up of its
  own); notifications arriving faster than that (any role may NOTIFY the channel) are
  coalesced into one read per ``notify_throttle``; it also polls every ``poll_interval``
  seconds as a fallback (a missed notification, a delayed item coming due, a retry after
  backoff).
- **Claims** up to the number of free slots with ``read_work``, only of the work types it has
  handlers for (other types stay queued for a worker that handles them; visibility timeout
  ``visibility_timeout``), runs each item's handler in a thread pool, and **heartbeats** every
  in-flight item every ``heartbeat_interval`` (default a third of the timeout), which also tells
  the handler (``ctx.cancelled``) when the item was cancelled.
- **Hung handlers**: a handler still running after ``handler_timeout`` seconds (default ten
  visibility timeouts; per work type with ``handler_timeouts``) is no longer heartbeated and its
  attempt is failed as retryable (``fail_work`` with the claim's attempt; dead at max attempts).
  Its thread cannot be killed: it keeps its slot until it returns (so at most ``concurrency``
  threads exist), and whatever it returns later is dropped, never settled.
- A handler that **returns** completes the item with its return value as outcome; one that
  **raises** fails it with retry (backoff in the database); an exception that is an instance of
  one of ``non_retryable`` (default :class:`animus.NonRetryable`) dead-letters it at once.
- **SIGTERM/SIGINT**: stop claiming, let in-flight handlers finish for ``shutdown_timeout``
  seconds, then release what is still running (``release_work``: visible again at once for
  another worker, the attempt not counted); a second signal releases at once.
- **SIGKILL**: nothing is lost: the claims expire after the visibility timeout and the items are
  read again by another worker (counting an attempt).
- Telemetry: a ``process <queue>`` CONSUMER span around each handler, linked to the submitter's
  trace context and to every merged requester's; ``messaging.process.duration``.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import select
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from opentelemetry.trace import SpanKind, Status, StatusCode

from animus import durable
from animus.errors import (AnimusError, HandlerTimeout, InvalidArgument, InvalidState, NonRetryable,
                           NotDeployed, NotFound, PermissionDenied, StaleClaim, WorkSuspended)
from animus.queries import NOTIFY_CHANNEL
from animus.results import WorkItem
from animus.telemetry.conventions import links_from, messaging_attrs

__all__ = ["Worker", "WorkContext"]

log = logging.getLogger("animus.worker")

Handler = Callable[..., Any]

# Claim failures a retry cannot mend: the worker stops and Worker.run raises them.
_UNRECOVERABLE = (NotFound, NotDeployed, PermissionDenied, InvalidArgument)


@dataclass
class WorkContext:
    """Passed as second argument to handlers that accept two: the item, and whether to stop.

    ``ctx.cancelled`` is a plain ``bool``: False while the handler should go on, True once the
    worker wants it to stop, for the reason in ``ctx.stop_reason``:

    ============= ==========================================================================
    ``cancelled`` the item was cancelled (``cancel_work``), learnt from a heartbeat
    ``stale``     another worker claimed the item after this claim expired (StaleClaim)
    ``ended``     a heartbeat found the item no longer running (ended or failed meanwhile)
    ``timeout``   the handler ran past its ``handler_timeout``; the attempt was failed
    ``shutdown``  the worker is stopping (SIGTERM/SIGINT) and releases the item
    ============= ==========================================================================

    Whatever a handler returns once ``ctx.cancelled`` is True is not recorded: the item is not
    completed (it was cancelled, failed or released already). ``ctx.wait(seconds)`` sleeps until
    the stop or the timeout and returns ``ctx.cancelled``::

        def crawl(item, ctx):
            pages = []
            for url in item.params["urls"]:
                if ctx.cancelled:          # a bool: False until the worker says stop
                    return None            # not completed; ctx.stop_reason says why
                pages.append(url)
                ctx.wait(0.01)             # a pause that ends early on a stop
            return {"pages": len(pages)}
    """

    item: WorkItem
    worker: "Worker"
    started: float = field(default_factory=time.monotonic)
    # None while the handler should go on; why it should stop, once (see the table above).
    stop_reason: str | None = None
    _stop_event: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    # Settling (complete/fail) and releasing exclude each other: once the worker has released
    # the item at shutdown, its abandoned handler never settles it.
    settle_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    released: bool = False
    settled: bool = False
    # Monotonic time after which the handler counts as hung (None: no limit); set once it has
    # been failed for it: no more heartbeats, and its late result is dropped.
    deadline: float | None = None
    timed_out: bool = False
    # Durable steps (animus.durable): the handler's step occurrences, whether a sleep or an event
    # wait gave the item back, and, for a coroutine handler, the async client its forms use.
    occurrences: dict[str, int] = field(default_factory=dict, repr=False)
    suspended: bool = False
    is_async: bool = False
    aclient: Any = None

    @property
    def client(self) -> Any:
        return self.worker.client

    @property
    def queue(self) -> str:
        return self.worker.queue

    # ---- durable steps and waits (docs/durable.md); awaitables when ``is_async``
    def step(self, name: str, fn: Handler, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` once for this item as step ``name`` (recorded; replayed on
        a later attempt). See :func:`animus.durable.step`."""
        f = durable.step_async if self.is_async else durable.step
        return f(self, name, fn, *args, **kwargs)

    def sleep(self, seconds: float) -> Any:
        """Give the item back for ``seconds`` (not a failed attempt) and resume past this point
        (raises :class:`~animus.WorkSuspended`). See :func:`animus.durable.sleep`."""
        return (durable.sleep_async if self.is_async else durable.sleep)(self, seconds)

    def sleep_until(self, when: Any) -> Any:
        """As :meth:`sleep`, until the aware datetime ``when``."""
        return (durable.sleep_until_async if self.is_async else durable.sleep_until)(self, when)

    def wait_for_event(self, key: str, timeout: float | None = None) -> Any:
        """The payload of event ``key`` (``animus.emit_event``); the item is given back until it
        comes (:class:`~animus.WorkSuspended`); past ``timeout`` :class:`~animus.EventTimeout`."""
        f = durable.wait_for_event_async if self.is_async else durable.wait_for_event
        return f(self, key, timeout)

    def _suspend_guard(self) -> threading.Lock:
        # held while a sleep or wait gives the item back: no heartbeat, release or time-out of it
        return self.settle_lock

    def _mark_suspended(self) -> None:
        self.suspended = self.settled = True

    @property
    def cancelled(self) -> bool:
        """True once the worker wants the handler to stop (``stop_reason`` says why)."""
        return self._stop_event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the worker says stop or ``timeout`` seconds passed; returns ``cancelled``."""
        return self._stop_event.wait(timeout)

    def _request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop_event.set()


def _accepts_context(fn: Handler) -> bool:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


def _seconds(name: str, value: Any, minimum: float | None, *, strict: bool = False) -> float:
    """``value`` as seconds, refused (ValueError naming ``name``) when not a number, or below
    ``minimum`` (or equal to it with ``strict``)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if seconds != seconds or (minimum is not None and (seconds < minimum or (strict and seconds == minimum))):
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be a number of seconds{bound}, got {value!r}")
    return seconds


def _error_text(exc: BaseException, limit: int = 4000) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:limit]


class Worker:
    """Claims work from ``queue`` and runs ``handlers[work_type](item)`` for each item."""

    def __init__(self, client: Any, handlers: Mapping[str, Handler], *, queue: str | None = None,
                 concurrency: int | None = None, visibility_timeout: float | None = None,
                 heartbeat_interval: float | None = None, poll_interval: float | None = None,
                 non_retryable: tuple[type[BaseException], ...] = (NonRetryable,),
                 shutdown_timeout: float = 30.0, channel: str = NOTIFY_CHANNEL,
                 handler_timeout: float | None = None,
                 handler_timeouts: Mapping[str, float] | None = None,
                 notify_throttle: float = 0.25) -> None:
        if not handlers:
            raise ValueError("handlers must map at least one work_type to a function")
        cfg = client.config
        self.client = client
        self.handlers = dict(handlers)
        self.queue = queue or cfg.queue
        if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                        or concurrency < 1):
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        self.concurrency = cfg.worker_concurrency if concurrency is None else concurrency
        self.visibility_timeout = _seconds("visibility_timeout", cfg.visibility_timeout
                                           if visibility_timeout is None else visibility_timeout, 1.0)
        self.heartbeat_interval = (max(0.2, self.visibility_timeout / 3) if heartbeat_interval is None
                                   else _seconds("heartbeat_interval", heartbeat_interval, 0.0, strict=True))
        self.poll_interval = _seconds("poll_interval", cfg.poll_interval if poll_interval is None
                                      else poll_interval, 0.0, strict=True)
        self.non_retryable = tuple(non_retryable)
        self.shutdown_timeout = _seconds("shutdown_timeout", shutdown_timeout, 0.0)
        self.channel = channel
        # The queue's notify_throttle (animus.create_queue/configure_queue; default 250 ms): after
        # a wake-up the worker reads once more when this window has passed.
        self.notify_throttle = _seconds("notify_throttle", notify_throttle, 0.0)
        # A handler running longer than this is hung: failed (retryable) and no longer
        # heartbeated. Default: ten visibility timeouts; 0 (or less) means no limit.
        self.handler_timeout = (10 * self.visibility_timeout if handler_timeout is None
                                else _seconds("handler_timeout", handler_timeout, None))
        self.handler_timeouts = {k: _seconds(f"handler_timeouts[{k!r}]", v, None)
                                 for k, v in (handler_timeouts or {}).items()}
        unknown = set(self.handler_timeouts) - set(self.handlers)
        if unknown:
            raise ValueError(f"handler_timeouts names work types without a handler: {sorted(unknown)}")
        self._with_ctx = {k: _accepts_context(v) for k, v in self.handlers.items()}
        self._work_types = sorted(self.handlers)
        # Keyed by the context, not the work id: a hung handler's item can be claimed again (its
        # retry) while the hung thread still runs, so one item may be in flight twice.
        self._inflight: dict[int, WorkContext] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._hb_kick = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.processed = 0
        self.failed = 0
        self.timed_out = 0
        self.wakeups = {"notify": 0, "poll": 0, "slot": 0, "recheck": 0, "coalesced": 0}
        # Any role may NOTIFY the channel: notifications read at most once per notify_throttle
        # (the database never sends more for one queue), the rest are coalesced into that read.
        self._notify_read_after = 0.0

    # ------------------------------------------------------------------ control
    def stop(self, *, abort: bool = False) -> None:
        """Ask the worker to stop (``abort``: release in-flight items now instead of waiting)."""
        if abort:
            self._abort.set()
        self._stop.set()
        self._hb_kick.set()
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop.is_set():
            log.warning("second signal %s: releasing in-flight items now", signum)
            self.stop(abort=True)
        else:
            log.info("signal %s: finishing in-flight items (up to %ss), then stopping",
                     signum, self.shutdown_timeout)
            self.stop()

    # ------------------------------------------------------------------ main loop
    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Process work until :meth:`stop` or SIGTERM/SIGINT.

        Raises (after the usual shutdown of in-flight items) when claiming fails in a way retrying
        cannot mend: :class:`~animus.QueueNotFound`, :class:`~animus.NotDeployed`,
        :class:`~animus.PermissionDenied`, :class:`~animus.InvalidArgument`. Other failures
        (the database unreachable for a while) are logged and retried with a backoff.
        """
        previous = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        listen = self.client.connect_raw()
        hb = threading.Thread(target=self._heartbeat_loop, name="animus-heartbeat", daemon=True)
        try:
            listen.execute(f'LISTEN "{self.channel}"')
            hb.start()
            log.info("worker on queue %r: concurrency %d, visibility timeout %ss, handler timeout %s",
                     self.queue, self.concurrency, self.visibility_timeout,
                     f"{self.handler_timeout:g}s" if self.handler_timeout > 0 else "none")
            self._loop(listen)
        finally:
            self._shutdown()
            hb.join(timeout=5)
            listen.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self, listen: Any) -> None:
        sock = listen.pgconn.socket
        backoff = 0.0
        should_read = True
        recheck_at: float | None = None
        while not self._stop.is_set():
            free = self.concurrency - len(self._inflight)
            if free > 0 and should_read:
                try:
                    # Only the work types this worker handles: the others stay queued for a
                    # worker that has a handler (never claimed and dead-lettered here).
                    items = self.client.read_work(self.queue, vt=self._vt(), qty=free,
                                                  work_types=self._work_types)
                    backoff = 0.0
                except AnimusError as exc:
                    if isinstance(exc, _UNRECOVERABLE):
                        # retrying cannot help (no such queue, animus not deployed, no privilege)
                        log.error("read_work on queue %r failed, stopping the worker: %s",
                                  self.queue, exc)
                        raise
                    backoff = min(30.0, max(0.5, backoff * 2))
                    log.error("read_work failed (retrying in %.1fs): %s", backoff, exc)
                    self._stop.wait(backoff)
                    continue
                for item in items:
                    self._dispatch(item)
                if len(items) == free:
                    continue  # maybe more is waiting
            should_read = False
            timeout = self.poll_interval
            if recheck_at is not None:
                timeout = max(0.0, min(timeout, recheck_at - time.monotonic()))
            readable, _, _ = select.select([sock, self._wake_r], [], [], timeout)
            if self._wake_r in readable:          # a slot freed up, or stop()
                os.read(self._wake_r, 4096)
                self.wakeups["slot"] += 1
                should_read = True
            if sock in readable:
                notified = False
                try:
                    # The payload is the queue that got work: wake-ups for other queues are ignored.
                    for n in listen.notifies(timeout=0):
                        if not n.payload or n.payload == self.queue:
                            notified = True
                except Exception as exc:  # the listening connection broke: reconnect
                    log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
                    listen = self._relisten(listen)
                    sock = listen.pgconn.socket
                    should_read = True
                if notified:
                    self.wakeups["notify"] += 1
                    now = time.monotonic()
                    if now >= self._notify_read_after:
                        should_read = True
                        self._notify_read_after = now + max(self.notify_throttle, 0.05)
                        # The database sends no further wake-up for this queue during its
                        # notify_throttle: read once more when that window has passed, so an
                        # item submitted inside it does not wait for the fallback poll.
                        recheck_at = now + self.notify_throttle + 0.05
                    else:                 # within the window of the last read: coalesced
                        self.wakeups["coalesced"] += 1
                        if recheck_at is None:
                            recheck_at = self._notify_read_after + 0.05
            if not readable:
                if recheck_at is not None and time.monotonic() >= recheck_at - 0.005:
                    self.wakeups["recheck"] += 1  # the end of a wake-up's throttle window
                    recheck_at = None
                else:
                    self.wakeups["poll"] += 1     # the fallback poll
                should_read = True

    def _relisten(self, old: Any) -> Any:
        try:
            old.close()
        except Exception:
            pass
        while not self._stop.is_set():
            try:
                conn = self.client.connect_raw()
                conn.execute(f'LISTEN "{self.channel}"')
                return conn
            except AnimusError as exc:
                log.error("cannot LISTEN again: %s", exc)
                self._stop.wait(2.0)
        return old

    def timeout_for(self, work_type: str | None) -> float | None:
        """The handler time limit of ``work_type`` in seconds (None: no limit)."""
        limit = self.handler_timeouts.get(work_type or "", self.handler_timeout)
        return limit if limit > 0 else None

    @property
    def hung(self) -> int:
        """Handlers failed for running past their time limit that have not returned yet
        (each still holds one of the ``concurrency`` slots)."""
        with self._lock:
            return sum(1 for c in self._inflight.values() if c.timed_out)

    def _vt(self) -> int:
        return max(1, int(round(self.visibility_timeout)))

    # ------------------------------------------------------------------ items
    def _dispatch(self, item: WorkItem) -> None:
        ctx = WorkContext(item, self)
        limit = self.timeout_for(item.work_type)
        if limit is not None:
            ctx.deadline = ctx.started + limit
        with self._lock:
            self._inflight[id(ctx)] = ctx
        if ctx.deadline is not None:
            self._hb_kick.set()
        # One daemon thread per in-flight item (at most `concurrency`): a handler abandoned at
        # shutdown never keeps the process alive.
        threading.Thread(target=self._process, args=(ctx,), name=f"animus-handler-{item.id}",
                         daemon=True).start()

    def _process(self, ctx: WorkContext) -> None:
        item = ctx.item
        tel = self.client._tel
        attrs = messaging_attrs("process", "process", self.queue, tel.server)
        if item.msg_id is not None:
            attrs["messaging.message.id"] = str(item.msg_id)
        attrs["animus.work.id"] = str(item.id)
        if item.work_type:
            attrs["animus.work.type"] = item.work_type
        if item.attempts is not None:
            attrs["animus.work.attempt"] = item.attempts
        metric = {k: attrs[k] for k in ("messaging.system", "messaging.operation.name",
                                        "messaging.operation.type", "messaging.destination.name")}
        t0 = time.perf_counter()
        error_type = None
        try:
            with tel.inst.tracer.start_as_current_span(
                    f"process {self.queue}", kind=SpanKind.CONSUMER, attributes=attrs,
                    links=links_from(item.all_trace_contexts()), record_exception=False,
                    set_status_on_exception=False) as span:
                error_type = self._run_handler(ctx, span)
        except Exception:  # settle failed (e.g. the database went away): the claim will expire
            log.exception("work item %s: could not settle; it will be redelivered", item.id)
            error_type = error_type or "settle_failed"
        finally:
            if error_type:
                metric["error.type"] = error_type
            tel.inst.process_duration.record(time.perf_counter() - t0, metric)
            with self._lock:
                self._inflight.pop(id(ctx), None)
            self._wake()

    def _run_handler(self, ctx: WorkContext, span: Any) -> str | None:
        item = ctx.item
        handler = self.handlers.get(item.work_type or "")
        if handler is None:
            msg = f"no handler for work_type {item.work_type!r} in this worker"
            span.set_status(Status(StatusCode.ERROR, msg))
            span.set_attribute("error.type", "animus.NoHandler")
            self._settle_fail(ctx, msg, retryable=False)
            self.failed += 1
            return "animus.NoHandler"
        try:
            result = handler(item, ctx) if self._with_ctx[item.work_type] else handler(item)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        except WorkSuspended as exc:   # a durable sleep or wait gave the item back: not settled
            return self._suspended(ctx, span, exc)
        except Exception as exc:
            if ctx.timed_out:
                return self._late(ctx, span, "failure")
            error_type = f"{type(exc).__module__}.{type(exc).__qualname__}"
            retryable = not isinstance(exc, self.non_retryable)
            span.set_attribute("error.type", error_type)
            span.add_event("exception", {"exception.type": error_type, "exception.message": str(exc)[:1000]})
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            log.warning("work item %s (%s) failed%s: %s", item.id, item.work_type,
                        "" if retryable else " (not retryable)", type(exc).__qualname__)
            self._settle_fail(ctx, _error_text(exc), retryable=retryable)
            self.failed += 1
            return error_type
        if ctx.suspended:              # the handler swallowed WorkSuspended: nothing to settle
            return self._suspended(ctx, span, None)
        if ctx.timed_out:
            return self._late(ctx, span, "result")
        if ctx.cancelled:
            if ctx.stop_reason == "shutdown":
                log.info("work item %s: handler returned during shutdown; not completing it "
                         "(the item is released for another worker)", item.id)
            elif ctx.stop_reason == "cancelled":
                log.info("work item %s was cancelled while running; not completing it", item.id)
            else:
                log.info("work item %s: handler returned after the worker told it to stop (%s); "
                         "not completing it", item.id, ctx.stop_reason)
            return None
        if result is not None:
            # outcome is jsonb: values JSON cannot hold (datetimes, UUIDs...) are stored as text
            result = json.loads(json.dumps(result, default=str))
        with ctx.settle_lock:
            if ctx.timed_out:
                return self._late(ctx, span, "result")
            if ctx.released:
                log.info("work item %s was released at shutdown; not completing it", item.id)
                return "released"
            ctx.settled = True
            try:
                self.client.complete_work(item.id, outcome=result, attempt=item.attempts, queue=self.queue)
            except StaleClaim as exc:   # our claim expired and another worker holds the item now
                log.warning("work item %s: stale claim (attempt %s), result dropped: another worker "
                            "claimed the item after our visibility timeout expired (%s)",
                            item.id, item.attempts, exc.sqlstate)
                span.set_attribute("error.type", "animus.StaleClaim")
                span.set_status(Status(StatusCode.ERROR, "stale claim"))
                return "animus.StaleClaim"
            except InvalidState as exc:  # cancelled meanwhile, or ended
                log.warning("work item %s: completion refused (%s)", item.id, exc.sqlstate)
                return exc.sqlstate
        self.processed += 1
        return None

    def _suspended(self, ctx: WorkContext, span: Any, exc: WorkSuspended | None) -> None:
        """A durable sleep or event wait gave the item back (queued, not a failed attempt)."""
        span.set_attribute("animus.work.suspended", True)
        log.info("work item %s suspended (%s): given back until %s", ctx.item.id,
                 exc.reason if exc else "handler returned after a suspension",
                 exc.resume_at if exc and exc.resume_at else "its event")
        return None

    def _late(self, ctx: WorkContext, span: Any, what: str) -> str:
        """A hung handler returned (or raised) after its attempt was failed for the timeout."""
        log.warning("work item %s: handler returned %.1fs after its start, past its time limit; "
                    "attempt %s was already failed for it: %s dropped (stale claim)",
                    ctx.item.id, time.monotonic() - ctx.started, ctx.item.attempts, what)
        span.set_attribute("error.type", "animus.HandlerTimeout")
        span.set_status(Status(StatusCode.ERROR, "handler timed out"))
        return "animus.HandlerTimeout"

    def _settle_fail(self, ctx: WorkContext, error: str, *, retryable: bool) -> None:
        item = ctx.item
        with ctx.settle_lock:
            if ctx.timed_out:
                log.info("work item %s timed out; its later failure is not recorded", item.id)
                return
            if ctx.released:
                log.info("work item %s was released at shutdown; not recording its failure", item.id)
                return
            ctx.settled = True
            try:
                self.client.fail_work(item.id, error, retryable=retryable, attempt=item.attempts,
                                      queue=self.queue)
            except StaleClaim as exc:
                log.warning("work item %s: stale claim (attempt %s), failure not recorded: another "
                            "worker claimed the item (%s)", item.id, item.attempts, exc.sqlstate)
            except InvalidState as exc:
                log.warning("work item %s: failure not recorded (%s)", item.id, exc.sqlstate)

    # ------------------------------------------------------------------ heartbeats
    def _heartbeat_loop(self) -> None:
        """Heartbeats every ``heartbeat_interval``; in between, wakes at the earliest handler
        deadline to fail hung handlers (the same thread, so a hung item is never heartbeated
        after it was failed)."""
        next_beat = time.monotonic() + self.heartbeat_interval
        while not self._abort.is_set():
            with self._lock:
                current = [c for c in self._inflight.values() if not c.timed_out]
            if self._stop.is_set() and not current:
                return
            deadlines = [c.deadline for c in current if c.deadline is not None]
            # woken early by a dispatch (a new deadline), stop() or the end of shutdown
            self._hb_kick.wait(max(0.0, min([next_beat, *deadlines]) - time.monotonic()))
            self._hb_kick.clear()
            if self._abort.is_set():
                return
            now = time.monotonic()
            with self._lock:
                current = [c for c in self._inflight.values() if not c.timed_out]
            for ctx in current:
                if ctx.deadline is not None and now >= ctx.deadline:
                    self._time_out(ctx)
            if now < next_beat:
                continue
            next_beat = now + self.heartbeat_interval
            for ctx in current:
                self._heartbeat(ctx)

    def _heartbeat(self, ctx: WorkContext) -> None:
        """Extend one claim, under the item's settle lock: an item whose completion, failure or
        release has begun is not heartbeated (its heartbeat would be refused, ZA103/ZA104, and
        read as a cancellation of an item that simply finished). An item being settled right now
        is skipped rather than waited for, so one slow settle does not delay the other heartbeats."""
        item = ctx.item
        if not ctx.settle_lock.acquire(blocking=False):
            return
        try:
            if ctx.settled or ctx.released or ctx.timed_out:
                return
            try:
                res = self.client.heartbeat_work(item.id, extend=self._vt(), attempt=item.attempts,
                                                 queue=self.queue)
            except StaleClaim as exc:
                log.warning("heartbeat for %s refused (%s): another worker claimed the item; "
                            "telling the handler to stop", item.id, exc.sqlstate)
                ctx._request_stop("stale")
                return
            except InvalidState as exc:
                log.warning("heartbeat for %s refused (%s): the item is no longer running; "
                            "telling the handler to stop", item.id, exc.sqlstate)
                ctx._request_stop("ended")
                return
            except AnimusError as exc:
                log.warning("heartbeat for %s failed: %s", item.id, exc)
                return
        finally:
            ctx.settle_lock.release()
        if res.cancelled:
            log.info("work item %s was cancelled: telling the handler to stop", item.id)
            ctx._request_stop("cancelled")

    def _time_out(self, ctx: WorkContext) -> None:
        """Fail a hung handler's attempt (retryable; dead at max attempts) and stop
        heartbeating it. Its thread runs on (Python cannot kill a thread) and keeps its slot."""
        item = ctx.item
        limit = self.timeout_for(item.work_type)
        with ctx.settle_lock:
            if ctx.settled or ctx.released:
                return                      # it returned just now, or was released
            ctx.timed_out = ctx.settled = True
            ctx._request_stop("timeout")    # a handler taking ctx may notice and stop
            self.failed += 1
            self.timed_out += 1
            error = str(HandlerTimeout(f"handler for {item.work_type!r} still running after "
                                       f"{limit:g}s (handler_timeout); abandoned by the worker"))
            try:
                res = self.client.fail_work(item.id, error, retryable=True, attempt=item.attempts,
                                            queue=self.queue)
                log.error("work item %s (%s) timed out after %gs at attempt %s: failed (%s); its "
                          "handler thread is abandoned and holds a slot until it returns",
                          item.id, item.work_type, limit, item.attempts, res.state)
            except InvalidState as exc:     # stale claim, cancelled or ended meanwhile
                log.warning("work item %s timed out; failure not recorded (%s)", item.id, exc.sqlstate)
            except Exception as exc:        # no heartbeats any more: the claim expires anyway
                log.error("work item %s timed out; could not fail it (%s): it is redelivered "
                          "after its visibility timeout", item.id, exc)
        hung = self.hung
        if hung >= self.concurrency:
            log.error("all %d slots are held by hung handlers: this worker claims nothing until "
                      "one returns (restart it to free them)", hung)

    # ------------------------------------------------------------------ shutdown
    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.shutdown_timeout
        def running() -> list[WorkContext]:   # hung handlers were failed already: not waited for
            with self._lock:
                return [c for c in self._inflight.values() if not c.timed_out]

        while running() and time.monotonic() < deadline and not self._abort.is_set():
            self._abort.wait(0.05)
        left = running()
        for ctx in left:
            ctx._request_stop("shutdown")
            with ctx.settle_lock:
                if ctx.settled:
                    continue  # completed or failed while we waited for the lock
                ctx.released = True
                try:
                    # Release: queued and visible again at once, the attempt not counted (the
                    # handler did not fail; another worker runs it from the start).
                    self.client.release_work(ctx.item.id, attempt=ctx.item.attempts, queue=self.queue)
                    log.info("work item %s released at shutdown: queued again for another worker, "
                             "the attempt not counted", ctx.item.id)
                except AnimusError as exc:
                    log.warning("could not release %s (%s); it is redelivered after its timeout",
                                ctx.item.id, exc)
        self._abort.set()
        self._hb_kick.set()
        # Handlers still running after a release are abandoned (daemon threads; their settle
        # calls are refused); the wake-up pipe stays open for them and closes with the process.


async def _await(aw: Any) -> Any:
    return await aw
