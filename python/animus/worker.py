"""``animus.Worker``: runs handlers per work type over a queue, on one asyncio event loop.

::

    import animus

    def engage(item: animus.WorkItem) -> dict:           # a plain function: runs in a thread
        return {"greeted": item.params["person"]}

    async def summarise(item, ctx) -> dict:              # a coroutine: a task on the worker's loop
        row = await ctx.aclient.get_work(item.id)
        return {"state": row.item.state}

    worker = animus.Worker(animus.connect(), handlers={"engage": engage, "summarise": summarise},
                           queue="work", concurrency=200)
    worker.run()                # until SIGTERM/SIGINT; in an asyncio program: await worker.run_async()

One small loop of claims, slots and settles:

- **Slots**: ``concurrency`` handlers run at once. A coroutine handler is a task on the worker's
  event loop (hundreds in flight cost one thread); a plain function runs on a daemon thread of
  the worker's pool (one per running sync handler). A slot frees when the handler returns; its
  settle is then buffered.
- **Claims**: one ``read_work`` claims as many items as there are free slots (``qty`` = free
  slots; only the work types it has handlers for, visibility timeout ``visibility_timeout``),
  when slots free up, on a wake-up and every ``poll_interval`` -- never one read per item.
  With batch handlers two claims are in flight at once (``claim_pipeline``, each for at most half
  the slots, which it reserves) while the claims come back full: the database claims the next
  batch while the worker unpacks, runs and settles the last. A stop waits for a claim in flight
  (never cancelled) and releases what it brought back.
- **Wake-up without busy polling**: a dedicated connection LISTENs on the queue's throttled
  channel (``animus_work``, at most one NOTIFY per queue per interval, sent by the database so
  producers never pay one per item); after a wake-up it reads once more when the queue's
  ``notify_throttle`` has passed (an item submitted inside that window gets no wake-up of its
  own); notifications arriving faster than that (any role may NOTIFY the channel) are
  coalesced into one read per ``notify_throttle``; the fallback poll every ``poll_interval``
  seconds covers a missed notification, a delayed item coming due, a retry after backoff.
- **Settles are batched**: completions wait at most ``settle_delay`` seconds (or until
  ``settle_batch`` are waiting) and go to the database in one ``complete_work(work_ids[],
  outcomes[], attempts[])`` (the outcomes left out when every one is None); failures with the same error in one ``fail_work(work_ids[], ...)``.
  Claim fencing is kept (each item's attempt is its claim token): when a batch holds a stale claim
  (ZA108), its items are settled one by one so only the stale one is dropped. A batch the
  database cannot take (connection lost) is retried; claims it could not settle expire and are
  redelivered.
- **Heartbeats**: every ``heartbeat_interval`` (default a third of the visibility timeout) one
  ``heartbeat_work_batch(work_ids[], ...)`` extends every running claim; its per-item status tells a
  handler to stop (``ctx.cancelled``: cancelled, stale or ended meanwhile).
- **Hung handlers**: a handler still running after ``handler_timeout`` seconds (default ten
  visibility timeouts; per work type with ``handler_timeouts``) is no longer heartbeated and its
  attempt is failed as retryable (``fail_work`` with the claim's attempt; dead at max attempts).
  A *coroutine* handler is then cancelled (``CancelledError`` raised at its ``await``) and frees
  its slot once it has unwound. A *sync* handler's thread cannot be killed: it keeps its slot until
  it returns (so at most ``concurrency`` handler threads exist); whatever it returns later is
  dropped, never settled.
- A handler that **returns** completes the item with its return value as outcome; one that
  **raises** fails it with retry (backoff in the database); an exception that is an instance of
  one of ``non_retryable`` (default :class:`animus.NonRetryable`) dead-letters it at once; one
  that raises :class:`animus.WorkSuspended` has given the item back itself (e.g. a durable
  sleep): it is neither settled nor counted failed.
- **SIGTERM/SIGINT**: stop claiming, let in-flight handlers finish for ``shutdown_timeout``
  seconds, flush the buffered settles, then release what is still running (``release_work``:
  visible again at once for another worker, the attempt not counted); a second signal releases
  at once.
- **SIGKILL**: nothing is lost: the claims (and buffered settles) expire after the visibility
  timeout and the items are read again by another worker (counting an attempt).
- Telemetry: a ``process <queue>`` CONSUMER span around each handler and its settle, linked to
  the submitter's trace context and to every merged requester's; ``messaging.process.duration``.
  A batch's ``settle`` span is a child of its first item's ``process`` span.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import dataclasses
import gc
import inspect
import json
import logging
import queue as _queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from psycopg.adapt import Loader

from animus import durable
from animus.errors import (AnimusError, HandlerTimeout, InvalidArgument, InvalidState, NonRetryable,
                           NotDeployed, NotFound, PermissionDenied, StaleClaim, WorkSuspended)
from animus._core import Call, _rows
from animus.queries import NOTIFY_CHANNEL, QUERIES, Query, _q
from animus.results import WorkItem
from animus.telemetry.conventions import links_from, messaging_attrs

__all__ = ["Worker", "WorkContext"]

# complete_work(work_ids[], outcomes[], attempts[]) as the worker sends it: ids and claim tokens as
# array literals (text cast by the server), outcomes as jsonb[] when given.
_Q_COMPLETE_LITERAL = _q("complete_work_many", "rows", "settle",
                         casts=(("work_ids", "uuid[]"), ("attempts", "integer[]")),
                         function="complete_work", required=("work_ids",))


def _completed_flags(result: Any) -> list[bool]:
    names, rows = result
    i = names.index("completed")
    return [r[i] for r in rows]

log = logging.getLogger("animus.worker")

Handler = Callable[..., Any]

# Guards the lazy creation of a context's threading.Event against a concurrent stop request.
_EVENT_LOCK = threading.Lock()

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
    the stop or the timeout and returns ``ctx.cancelled`` (a coroutine handler awaits
    ``ctx.wait_async(seconds)`` instead)::

        def crawl(item, ctx):
            pages = []
            for url in item.params["urls"]:
                if ctx.cancelled:          # a bool: False until the worker says stop
                    return None            # not completed; ctx.stop_reason says why
                pages.append(url)
                ctx.wait(0.01)             # a pause that ends early on a stop
            return {"pages": len(pages)}

    ``ctx.is_async`` says whether the handler is a coroutine (it runs on the worker's event loop);
    ``ctx.client`` is the worker's sync :class:`animus.Client` (for sync handlers, in their
    thread), ``ctx.aclient`` an :class:`animus.AsyncClient` the worker owns (for coroutine
    handlers, on the worker's loop).
    """

    item: WorkItem
    worker: "Worker"
    is_async: bool = False
    started: float = field(default_factory=time.monotonic)
    # None while the handler should go on; why it should stop, once (see the table above).
    stop_reason: str | None = None
    # Made when a handler first waits (most never do: an Event per item costs on the hot path).
    _stop_event: threading.Event | None = field(default=None, init=False, repr=False)
    _async_stop: asyncio.Event | None = field(default=None, init=False, repr=False)
    # Every field below is read and written on the worker's event loop only (no locks): settled
    # once the handler's result was handed to the settler (or failed for a timeout), released at
    # shutdown; a released or timed-out item's late result is never settled.
    released: bool = False
    settled: bool = False
    # Monotonic time after which the handler counts as hung (None: no limit); set once it has
    # been failed for it: no more heartbeats, and its late result is dropped.
    deadline: float | None = None
    timed_out: bool = False
    task: "asyncio.Task[Any] | None" = field(default=None, repr=False)
    span: Any = field(default=None, repr=False)
    # Durable steps (animus.durable): the handler's step occurrences, whether a sleep or an event
    # wait gave the item back, and, for a coroutine handler, the async client its forms use.
    occurrences: dict[str, int] = field(default_factory=dict, repr=False)
    suspended: bool = False


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

    def _suspend_guard(self) -> Any:
        # The worker's state of an item lives on its event loop: nothing to hold here (a heartbeat
        # racing the give-back finds the item queued and stops the handler, which is suspending).
        return contextlib.nullcontext()

    def _mark_suspended(self) -> None:
        self.suspended = self.settled = True

    @property
    def cancelled(self) -> bool:
        """True once the worker wants the handler to stop (``stop_reason`` says why)."""
        return self.stop_reason is not None

    @property
    def client(self) -> Any:
        """The worker's sync client (use it from sync handlers)."""
        return self.worker.client

    @property
    def aclient(self) -> Any:
        """The worker's :class:`animus.AsyncClient` (use it from coroutine handlers)."""
        return self.worker.aclient

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the worker says stop or ``timeout`` seconds passed; returns ``cancelled``.
        Blocks its thread: for sync handlers (a coroutine awaits :meth:`wait_async`)."""
        with _EVENT_LOCK:
            if self._stop_event is None:
                self._stop_event = threading.Event()
                if self.stop_reason is not None:
                    self._stop_event.set()
        return self._stop_event.wait(timeout)

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Await the worker's stop or ``timeout`` seconds; returns ``cancelled``."""
        if self._async_stop is None:
            self._async_stop = asyncio.Event()
            if self.stop_reason is not None:
                self._async_stop.set()
        try:
            await asyncio.wait_for(self._async_stop.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return self.cancelled

    def _request_stop(self, reason: str) -> None:
        with _EVENT_LOCK:
            if self.stop_reason is None:
                self.stop_reason = reason
            if self._stop_event is not None:
                self._stop_event.set()
        if self._async_stop is not None:
            self._async_stop.set()


# Worker._dispatch_batches leaves a WorkContext's fields with a default unset on the instance:
# the class holds every one of them (checked here, at import).
if not all(getattr(WorkContext, f.name, dataclasses.MISSING) is f.default
           for f in dataclasses.fields(WorkContext) if f.default is not dataclasses.MISSING):
    raise RuntimeError("WorkContext: a field's default is not a class attribute")


class _ClaimedItem(WorkItem):
    """A :class:`~animus.WorkItem` as the worker's claims return it: the same fields, equality
    and repr, but ``requesters`` arrives as JSON text and is decoded the first time it is read
    (most handlers never read it; decoding it costs ~3 µs per item, a tenth of the worker's
    CPU per item with batch handlers)."""

    @property
    def requesters(self) -> list[dict[str, Any]] | None:   # type: ignore[override]
        d = self.__dict__
        value = d.get("requesters")
        if isinstance(value, str):
            value = d["requesters"] = _json_loads(value)
        return value

    @requesters.setter
    def requesters(self, value: Any) -> None:   # the dataclass __init__ (dataclasses.replace)
        self.__dict__["requesters"] = value


    def __repr__(self) -> str:
        return "WorkItem" + WorkItem.__repr__(self)[len("_ClaimedItem"):]

    def __reduce__(self) -> Any:   # pickled as a plain WorkItem (requesters decoded)
        state = dict(self.__dict__)
        state["requesters"] = self.requesters
        return _plain_work_item, (state,)


def _plain_work_item(state: dict[str, Any]) -> WorkItem:
    item = object.__new__(WorkItem)
    item.__dict__.update(state)
    return item


@dataclasses.dataclass(frozen=True)
class _ClaimQuery(Query):
    """read_work with an explicit column list (``select``) instead of ``*``."""

    select: str = "*"

    def sql(self, keys: tuple[str, ...]) -> str:
        text = self._cache.get(keys)
        if text is None:
            args = ", ".join(f"{k} => %s" for k in keys)
            text = self._cache[keys] = f"SELECT {self.select} FROM animus.{self.function}({args})"
        return text


_Q_READ = QUERIES["read_work"]
_POST_READ = _rows(WorkItem)
_POST_CLAIMED = _rows(_ClaimedItem)


def _lazy_claim_query(names: tuple[str, ...]) -> _ClaimQuery | None:
    """read_work's columns as they are (learnt from a first claim), with ``requesters`` as text;
    None when it has no such column."""
    if "requesters" not in names:
        return None
    cols = ", ".join('"requesters"::text AS "requesters"' if n == "requesters" else f'"{n}"' for n in names)
    fields = {f.name: getattr(_Q_READ, f.name) for f in dataclasses.fields(Query) if f.name != "_cache"}
    return _ClaimQuery(**fields, select=cols)


class _JsonbLoader(Loader):
    """jsonb (text format) as psycopg loads it, faster on what claims carry: ``{}`` (an item
    without params) and ``[]`` without a parse, the rest decoded before ``json.loads`` (which
    otherwise sniffs the encoding of bytes first)."""

    def load(self, data: Any) -> Any:
        if data == b"{}":
            return {}
        if data == b"[]":
            return []
        return _json_loads(bytes(data).decode())


_json_loads = json.JSONDecoder().decode


async def _configure_connection(conn: Any) -> None:
    """Each connection of the worker's pool (claims, settles, heartbeats, coroutine handlers'
    calls) loads jsonb with :class:`_JsonbLoader` (the same values as psycopg's loader)."""
    conn.adapters.register_loader("jsonb", _JsonbLoader)


def _accepts_context(fn: Handler) -> bool:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) >= 2


def _is_coroutine_function(fn: Handler) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


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


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def _error_text(exc: BaseException, limit: int = 4000) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:limit]


class _Group:
    """The settles of one batch handler call: one future for them all (a future per item and a
    gather cost ~10 µs per item)."""

    __slots__ = ("left", "fut")

    def __init__(self, left: int, fut: asyncio.Future) -> None:
        self.left = left
        self.fut = fut


class _Entry:
    """One item's settle in a :class:`_Group`: the part of the future API the settler uses."""

    __slots__ = ("group", "result", "_done")

    def __init__(self, group: _Group) -> None:
        self.group = group
        self.result: Any = None
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, result: Any) -> None:
        if self._done:
            return
        self._done = True
        self.result = result
        g = self.group
        g.left -= 1
        if g.left == 0 and not g.fut.done():
            g.fut.set_result(None)


def _dropped(item: Any) -> None:
    log.info("work item %s: handler returned after the worker stopped waiting for it (released "
             "at shutdown); not completing it", getattr(item, "id", item))


class _Threads:
    """Daemon threads for sync handlers: each submitted call gets a thread of its own at once
    (an idle one, else a new one), so a handler never waits behind another; at most one thread
    per running sync handler exists (the slots bound them). Daemon threads: a handler abandoned
    at shutdown never keeps the process alive."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: _queue.SimpleQueue = _queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._count = 0

    def submit(self, ctx: contextvars.Context, fn: Handler, *args: Any) -> asyncio.Future:
        """Run ``fn(*args)`` in ``ctx`` on a thread; the future resolves on the loop. ``args[0]``
        is the work item (named in the log when its result comes after the worker stopped)."""
        fut = self._loop.create_future()
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                spawn = False
            else:
                self._count += 1
                spawn = True
        self._jobs.put((fut, ctx, fn, args))
        if spawn:
            threading.Thread(target=self._run, name=f"animus-handler-{self._count}", daemon=True).start()
        return fut

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fut, ctx, fn, args = job
            try:
                result = ctx.run(fn, *args)
            except BaseException as exc:   # noqa: BLE001 - handed to the loop
                self._post(fut, None, exc, args[0])
            else:
                self._post(fut, result, None, args[0])
            with self._lock:
                self._idle += 1

    def _post(self, fut: asyncio.Future, result: Any, exc: BaseException | None, args_item: Any) -> None:
        def done() -> None:
            if fut.done():   # the worker gave up on it (released at shutdown): dropped
                _dropped(args_item)
                return
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
        try:
            self._loop.call_soon_threadsafe(done)
        except RuntimeError:   # the loop has closed: the worker is gone, the result is dropped
            _dropped(args_item)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)


def tune_gc_for_worker(first_threshold: int = 20000) -> None:
    """For a process that is a worker (``animus worker`` calls it before it starts): the cyclic
    garbage collector's first threshold raised from Python's 700 allocations to
    ``first_threshold`` (the others to at least 20 and 10). A worker allocates a few objects per
    claimed item (the item, its context, their dicts): at 700 the collector ran every ~120 items
    and walked the thousands in flight; at 20,000 the worker's CPU per item with batch handlers
    fell by a fifth (22-31 against 30-40 µs, same-run pairs). Process-wide, so not done by
    :class:`Worker` itself; an application embedding a worker may call it."""
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, first_threshold), max(gen1, 20), max(gen2, 10))


class Worker:
    """Claims work from ``queue`` and runs ``handlers[work_type](item)`` for each item."""

    def __init__(self, client: Any, handlers: Mapping[str, Handler], *, queue: str | None = None,
                 concurrency: int | None = None, visibility_timeout: float | None = None,
                 heartbeat_interval: float | None = None, poll_interval: float | None = None,
                 non_retryable: tuple[type[BaseException], ...] = (NonRetryable,),
                 shutdown_timeout: float = 30.0, channel: str = NOTIFY_CHANNEL,
                 handler_timeout: float | None = None,
                 handler_timeouts: Mapping[str, float] | None = None,
                 notify_throttle: float = 0.25, settle_batch: int = 1000,
                 settle_delay: float = 0.002, batch_handlers: Mapping[str, Handler] | None = None,
                 batch_size: int = 100, prefetch: int | None = None,
                 claim_pipeline: int | None = None, claim_size: int | None = None,
                 schedules: bool = True, maintenance_interval: float = 1.0,
                 http_port: int | None = None, http_host: str = "127.0.0.1") -> None:
        if not handlers and not batch_handlers:
            raise ValueError("handlers must map at least one work_type to a function")
        cfg = client.config
        self.client = client
        self.handlers = dict(handlers)
        # Batch handlers take a list of items (of one work type, at most batch_size, all claimed by
        # one read_work) and return one outcome per item, in order (an exception instance in
        # that list fails its item); each item still holds a slot.
        self.batch_handlers = dict(batch_handlers or {})
        both = set(self.handlers) & set(self.batch_handlers)
        if both:
            raise ValueError(f"work types with both a handler and a batch handler: {sorted(both)}")
        self.batch_size = _positive_int("batch_size", batch_size)
        self.queue = queue or cfg.queue
        if concurrency is not None:
            _positive_int("concurrency", concurrency)
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
        unknown = set(self.handler_timeouts) - set(self.handlers) - set(self.batch_handlers)
        if unknown:
            raise ValueError(f"handler_timeouts names work types without a handler: {sorted(unknown)}")
        # Completions wait up to settle_delay seconds for others to share their round trip, or
        # until settle_batch are waiting (at most 10000: the array forms' limit).
        self.settle_batch = min(10000, _positive_int("settle_batch", settle_batch))
        self.settle_delay = _seconds("settle_delay", settle_delay, 0.0)
        # Items claimed ahead of free slots (default: as many as the slots), started the moment a
        # slot frees, so the claim's round trip overlaps the handlers instead of idling the slots
        # between them. Only as many as the slots are expected to start within 10 ms at the
        # handlers' recent durations: slow handlers (an agent call of seconds) get none, so no
        # item waits behind them while another worker is free. Not with batch handlers (their
        # claims are batches already).
        self.prefetch = (self.concurrency if prefetch is None else
                         (0 if prefetch == 0 else _positive_int("prefetch", prefetch)))
        # Claims in flight at once (each read_work on its own connection): with batch handlers 2 by
        # default, so the database claims the next batch while this process unpacks, runs and
        # settles the last one; 1 otherwise (the prefetch overlaps the claims there). Each claim
        # asks for at most claim_size items (default: the slots shared by the claims in flight).
        self.claim_pipeline = ((2 if self.batch_handlers else 1) if claim_pipeline is None
                               else _positive_int("claim_pipeline", claim_pipeline))
        self.claim_size = min(10000, (-(-self.concurrency // self.claim_pipeline) if self.claim_pipeline > 1
                                      else 10000) if claim_size is None
                              else _positive_int("claim_size", claim_size))
        # Every maintenance_interval seconds the worker ticks the schedules of the queues its role
        # may use (animus.tick_schedules: each period submitted once however many workers tick;
        # schedules=False leaves it to `animus scheduler`) and, every fifth time, wakes held items
        # of concurrency keys with free slots (animus.sweep_concurrency_keys, the liveness net).
        self.schedules = bool(schedules)
        self.maintenance_interval = _seconds("maintenance_interval", maintenance_interval, 0.0, strict=True)
        self.scheduled = 0
        self._ready: collections.deque[WorkItem] = collections.deque()
        self._claim_query: Query | None = None   # read_work as the claims send it (see _read)
        self._pace: float | None = None   # moving average of a slot's hold time, seconds
        every = {**self.handlers, **self.batch_handlers}
        self._with_ctx = {k: _accepts_context(v) for k, v in every.items()}
        self._is_async = {k: _is_coroutine_function(v) for k, v in every.items()}
        self._work_types = sorted(every)
        # Keyed by the context, not the work id: a hung handler's item can be claimed again (its
        # retry) while the hung thread still runs, so one item may be in flight twice.
        self._inflight: dict[int, WorkContext] = {}
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_ev: asyncio.Event | None = None
        self._hb_ev: asyncio.Event | None = None
        self._settle_ev: asyncio.Event | None = None
        self._stop_ev: asyncio.Event | None = None
        self._flushing = 0
        self._slot_freed = False
        self._notified = False
        self._completions: list[tuple[WorkContext, Any, asyncio.Future]] = []
        self._failures: list[tuple[WorkContext, str, bool, asyncio.Future]] = []
        self.aclient: Any = None
        # Opt-in HTTP port: GET /healthz and GET /metrics (animus.ops.WorkerHTTP); 0 = any free port.
        self.http_port = http_port
        self.http_host = http_host
        self.http: Any = None
        self.last_read_at: float | None = None      # wall clock of the last read_work that succeeded
        self.last_claim_at: float | None = None     # ... that returned at least one item
        self.settled = {"completed": 0, "retried": 0, "dead": 0}
        self.reads = 0       # read_work calls made (claims)
        self.processed = 0
        self.failed = 0
        self.timed_out = 0
        self.suspended = 0
        self.wakeups = {"notify": 0, "poll": 0, "slot": 0, "recheck": 0, "coalesced": 0}
        # Any role may NOTIFY the channel: notifications read at most once per notify_throttle
        # (the database never sends more for one queue), the rest are coalesced into that read.
        self._notify_read_after = 0.0

    # ------------------------------------------------------------------ control
    def stop(self, *, abort: bool = False) -> None:
        """Ask the worker to stop (``abort``: release in-flight items now instead of waiting).
        Safe from any thread and from a signal handler."""
        if abort:
            self._abort.set()
        self._stop.set()
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._kick_all)
            except RuntimeError:   # the loop has closed already
                pass

    def _kick_all(self) -> None:
        for ev in (self._wake_ev, self._hb_ev, self._settle_ev, self._stop_ev):
            if ev is not None:
                ev.set()

    def _on_signal(self, signum: int) -> None:
        if self._stop.is_set():
            log.warning("second signal %s: releasing in-flight items now", signum)
            self.stop(abort=True)
        else:
            log.info("signal %s: finishing in-flight items (up to %ss), then stopping",
                     signum, self.shutdown_timeout)
            self.stop()

    # ------------------------------------------------------------------ main loop
    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Process work until :meth:`stop` or SIGTERM/SIGINT, on a new event loop in this thread.

        Raises (after the usual shutdown of in-flight items) when claiming fails in a way retrying
        cannot mend: :class:`~animus.QueueNotFound`, :class:`~animus.NotDeployed`,
        :class:`~animus.PermissionDenied`, :class:`~animus.InvalidArgument`. Other failures
        (the database unreachable for a while) are logged and retried with a backoff.
        """
        asyncio.run(self.run_async(install_signal_handlers=install_signal_handlers))

    async def run_async(self, *, install_signal_handlers: bool = False) -> None:
        """:meth:`run` for an asyncio application: processes work on the running loop until
        :meth:`stop` (signal handlers only when asked, and only in the main thread)."""
        from animus.aio import AsyncClient

        loop = asyncio.get_running_loop()
        self._loop = loop
        self._wake_ev, self._hb_ev, self._settle_ev = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._stop_ev = asyncio.Event()
        if self._stop.is_set():
            self._kick_all()
        signals: list[int] = []
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
                signals.append(sig)
        cfg = self.client.config
        # Claims (claim_pipeline), settles and heartbeats run at once, handlers' calls beside them.
        self.aclient = AsyncClient(dataclasses.replace(cfg, pool_min_size=2 + self.claim_pipeline,
                                                       pool_max_size=max(3, cfg.pool_max_size) + 2 + self.claim_pipeline),
                                   configure=_configure_connection)
        self.aclient._tel = self.client._tel      # the same tracer and meters as the sync client
        self._threads = _Threads(loop)
        self._process_attrs = messaging_attrs("process", "process", self.queue, self.client._tel.server)
        self._process_metric = {k: self._process_attrs[k] for k in (
            "messaging.system", "messaging.operation.name", "messaging.operation.type",
            "messaging.destination.name")}
        tasks: list[asyncio.Task] = []
        try:
            await self.aclient.open()
            if self.http_port is not None and self.http is None:
                from animus.ops import WorkerHTTP

                self.http = WorkerHTTP(self, host=self.http_host, port=self.http_port)
                self.http.start()
                log.info("worker HTTP on http://%s:%d (/healthz, /metrics)", self.http_host, self.http.port)
            listen = await self._listen()
            log.info("worker on queue %r: concurrency %d, visibility timeout %ss, handler timeout %s",
                     self.queue, self.concurrency, self.visibility_timeout,
                     f"{self.handler_timeout:g}s" if self.handler_timeout > 0 else "none")
            tasks = [loop.create_task(self._heartbeat_loop(), name="animus-heartbeat"),
                     loop.create_task(self._settle_loop(), name="animus-settle"),
                     loop.create_task(self._listen_loop(listen), name="animus-listen"),
                     loop.create_task(self._maintenance_loop(), name="animus-maintenance")]
            try:
                await self._claim_loop()
            finally:
                await self._shutdown()
        finally:
            self._stop.set()
            self._abort.set()
            self._kick_all()
            for t in tasks:
                t.cancel()
            for t in tasks:
                try:
                    await t
                except BaseException:   # noqa: BLE001 - cancelled or already logged
                    pass
            self._threads.close()
            if self.http is not None:
                self.http.stop()
                self.http = None
            await self.aclient.close()
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _listen(self) -> Any:
        conn = await self.aclient.connect_raw()
        await conn.execute(f'LISTEN "{self.channel}"')
        return conn

    async def _listen_loop(self, conn: Any) -> None:
        """Reads notifications; the payload is the queue that got work (others are ignored)."""
        try:
            while not self._stop.is_set():
                try:
                    async for n in conn.notifies():
                        if not n.payload or n.payload == self.queue:
                            self._notified = True
                            self._wake_ev.set()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:   # the listening connection broke: reconnect
                    log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
                    try:
                        await conn.close()
                    except Exception:
                        pass
                    conn = None
                    while conn is None and not self._stop.is_set():
                        try:
                            conn = await self._listen()
                        except AnimusError as exc2:
                            log.error("cannot LISTEN again: %s", exc2)
                            await self._sleep_unless_stopped(2.0)
                    self._slot_freed = True   # read once: a wake-up may have been missed
                    self._wake_ev.set()
                    if conn is None:
                        return
        finally:
            if conn is not None:
                try:
                    await conn.close()
                except Exception:
                    pass

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        if self._stop.is_set():
            return
        try:
            await asyncio.wait_for(self._stop_ev.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _read(self, qty: int) -> list[WorkItem]:
        """``read_work`` for ``qty`` items. Only the work types this worker handles: the others
        stay queued for a worker that has a handler (never claimed and dead-lettered here). The
        first claim learns read_work's columns; the next ones ask for the same columns with
        ``requesters`` as text, decoded only when a handler reads it (:class:`_ClaimedItem`)."""
        params = {"queue": self.queue, "vt": self._vt(), "qty": qty, "work_types": list(self._work_types)}
        q = self._claim_query
        if q is None:
            return await self.aclient._execute(Call(_Q_READ, params, self._post_first_read, self.queue))
        return await self.aclient._execute(Call(q, params, _POST_CLAIMED if q is not _Q_READ else _POST_READ,
                                                self.queue))

    def _post_first_read(self, result: Any) -> list[WorkItem]:
        if self._claim_query is None:
            self._claim_query = _lazy_claim_query(result[0]) or _Q_READ
        return _POST_READ(result)

    def _read_finished(self, task: asyncio.Future) -> None:
        if self._wake_ev is not None:
            self._wake_ev.set()   # the claim loop harvests it

    def _take(self, items: list[WorkItem]) -> None:
        """Start what a claim returned (batches first); what finds no free slot waits in
        ``_ready`` (claimed ahead)."""
        if self.batch_handlers:
            items = self._dispatch_batches(items)
        for item in items:
            if len(self._inflight) < self.concurrency:
                self._dispatch(item)
            else:
                self._ready.append(item)   # claimed ahead: starts when a slot frees

    async def _claim_loop(self) -> None:
        """Claims while slots are free. Up to ``claim_pipeline`` ``read_work`` calls are in flight
        at once (each on its own pooled connection, for at most ``claim_size`` items; the slots
        they may fill are reserved), but only while the claims come back full: a claim that
        returns less than asked leaves one read at a time until the next full one."""
        backoff = 0.0
        should_read = True
        recheck_at: float | None = None
        wake = self._wake_ev
        reads: dict[asyncio.Task, int] = {}     # claims in flight -> the qty each asked for
        more = False                            # the last claim came back full
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set():
                failed: AnimusError | None = None
                for task in [t for t in reads if t.done()]:
                    qty = reads.pop(task)
                    exc = task.exception()
                    if exc is not None:
                        if isinstance(exc, _UNRECOVERABLE):
                            # retrying cannot help (no such queue, animus not deployed, no privilege)
                            log.error("read_work on queue %r failed, stopping the worker: %s", self.queue, exc)
                            raise exc
                        if not isinstance(exc, AnimusError):
                            raise exc
                        failed = exc
                        continue
                    items = task.result()
                    backoff = 0.0
                    self.last_read_at = time.time()
                    if items:
                        self.last_claim_at = self.last_read_at
                    self._take(items)
                    more = len(items) == qty
                    if more:
                        should_read = True   # maybe more is waiting
                if failed is not None:
                    more = False
                    backoff = min(30.0, max(0.5, backoff * 2))
                    log.error("read_work failed (retrying in %.1fs): %s", backoff, failed)
                    await self._sleep_unless_stopped(backoff)
                    should_read = True
                    continue
                free = (self.concurrency - len(self._inflight) + self._ahead() - len(self._ready)
                        - sum(reads.values()))
                # settles waiting for a flush bound the claims too: at most one batch waits while
                # another is flushed (the claim and the flush overlap, on two connections)
                depth = self.claim_pipeline if more else 1
                while (free > 0 and should_read and len(reads) < depth
                       and len(self._completions) < self.settle_batch):
                    qty = min(free, self.claim_size)
                    self.reads += 1
                    task = loop.create_task(self._read(qty), name="animus-claim")
                    task.add_done_callback(self._read_finished)
                    reads[task] = qty
                    free -= qty
                should_read = False
                timeout = self.poll_interval
                if recheck_at is not None:
                    timeout = max(0.0, min(timeout, recheck_at - time.monotonic()))
                if not (wake.is_set() or self._stop.is_set()):
                    try:
                        await asyncio.wait_for(wake.wait(), timeout)
                    except asyncio.TimeoutError:
                        pass
                woke = wake.is_set()
                wake.clear()
                if reads and any(t.done() for t in reads):
                    woke = True                   # a claim came back (harvested above)
                if self._slot_freed:              # a slot freed up (or the LISTEN reconnected)
                    self._slot_freed = False
                    self.wakeups["slot"] += 1
                    should_read = True
                if self._notified:
                    self._notified = False
                    self.wakeups["notify"] += 1
                    now = time.monotonic()
                    if now >= self._notify_read_after:
                        should_read = True
                        self._notify_read_after = now + max(self.notify_throttle, 0.05)
                        # The database sends no further wake-up for this queue during its
                        # notify_throttle: read once more when that window has passed, so an item
                        # submitted inside it does not wait for the fallback poll.
                        recheck_at = now + self.notify_throttle + 0.05
                    else:                 # within the window of the last read: coalesced
                        self.wakeups["coalesced"] += 1
                        if recheck_at is None:
                            recheck_at = self._notify_read_after + 0.05
                if not woke:
                    if recheck_at is not None and time.monotonic() >= recheck_at - 0.005:
                        self.wakeups["recheck"] += 1  # the end of a wake-up's throttle window
                        recheck_at = None
                    else:
                        self.wakeups["poll"] += 1     # the fallback poll
                    should_read = True
        finally:
            self._stop.set()   # (also when a claim failed for good) nothing more starts from _ready
            if reads:
                # Claims still in flight when the worker stops: wait for them (cancelling one could
                # lose its answer after the database claimed the items); what they claimed is
                # never started, and released at once by _shutdown (the attempt not counted).
                done = await asyncio.gather(*reads, return_exceptions=True)
                for items in done:
                    if isinstance(items, list):
                        self._ready.extend(items)

    def timeout_for(self, work_type: str | None) -> float | None:
        """The handler time limit of ``work_type`` in seconds (None: no limit)."""
        limit = self.handler_timeouts.get(work_type or "", self.handler_timeout)
        return limit if limit > 0 else None

    @property
    def hung(self) -> int:
        """Handlers failed for running past their time limit that have not returned yet
        (each still holds one of the ``concurrency`` slots)."""
        return sum(1 for c in list(self._inflight.values()) if c.timed_out)

    @property
    def claimed_ahead(self) -> int:
        """Items claimed ahead of the free slots, waiting for one (see ``prefetch``)."""
        return len(self._ready)

    def _vt(self) -> int:
        return max(1, int(round(self.visibility_timeout)))

    # ------------------------------------------------------------------ items
    def _dispatch(self, item: WorkItem) -> None:
        ctx = WorkContext(item, self, self._is_async.get(item.work_type or "", False))
        limit = self.timeout_for(item.work_type)
        if limit is not None:
            ctx.deadline = ctx.started + limit
        self._inflight[id(ctx)] = ctx
        ctx.task = self._loop.create_task(self._process(ctx))
        if ctx.deadline is not None:
            self._hb_ev.set()   # the heartbeat loop wakes at the earliest deadline

    def _dispatch_batches(self, items: list[WorkItem]) -> list[WorkItem]:
        """Starts one task per chunk of batch-handled items; returns the other items."""
        groups: dict[str, list[WorkItem]] = {}
        rest = []
        for item in items:
            if item.work_type in self.batch_handlers:
                groups.setdefault(item.work_type, []).append(item)
            else:
                rest.append(item)
        inflight = self._inflight
        new = object.__new__
        for work_type, group in groups.items():
            limit = self.timeout_for(work_type)
            # Each item's context filled in place from one template (the dataclass __init__ and
            # its default factories cost ~2 µs per item): the same fields as WorkContext(...);
            # the fields left at their defaults are read from the class (dataclass defaults are
            # class attributes) until set.
            started = time.monotonic()
            template = {"worker": self, "is_async": self._is_async[work_type], "started": started}
            if limit is not None:
                template["deadline"] = started + limit
            for i in range(0, len(group), self.batch_size):
                ctxs = []
                for item in group[i:i + self.batch_size]:
                    ctx = new(WorkContext)
                    d = ctx.__dict__
                    d.update(template)
                    d["item"] = item
                    d["occurrences"] = {}
                    inflight[id(ctx)] = ctx
                    ctxs.append(ctx)
                task = self._loop.create_task(self._process_batch(work_type, ctxs))
                for ctx in ctxs:
                    ctx.task = task
            if limit is not None:
                self._hb_ev.set()
        return rest

    async def _process_batch(self, work_type: str, ctxs: list[WorkContext]) -> None:
        """One batch handler call for ``ctxs``: one ``process`` span (linked to every item's
        submitters, ``messaging.batch.message_count``), the completions and failures settled
        with the other buffered ones."""
        tel = self.client._tel
        items = [c.item for c in ctxs]
        attrs = dict(self._process_attrs)
        attrs["messaging.batch.message_count"] = len(items)
        attrs["animus.work.type"] = work_type
        t0 = time.perf_counter()
        error_type = None
        try:
            with tel.inst.tracer.start_as_current_span(
                    f"process {self.queue}", kind=SpanKind.CONSUMER, attributes=attrs,
                    record_exception=False, set_status_on_exception=False) as span:
                if span.is_recording():   # links cost a parse per item: only for a real span
                    contexts = [tc for item in items for tc in item.all_trace_contexts()]
                    for link in links_from(contexts)[:128]:
                        span.add_link(link.context, link.attributes)
                for ctx in ctxs:
                    ctx.span = span
                error_type = await self._run_batch(work_type, ctxs, span)
        except Exception:
            log.exception("batch of %d %s items: could not settle; they will be redelivered",
                          len(ctxs), work_type)
            error_type = error_type or "settle_failed"
        finally:
            self._free_slots(ctxs)
            metric = self._process_metric if not error_type else {**self._process_metric, "error.type": error_type}
            tel.inst.process_duration.record(time.perf_counter() - t0, metric)

    async def _run_batch(self, work_type: str, ctxs: list[WorkContext], span: Any) -> str | None:
        handler = self.batch_handlers[work_type]
        items = [c.item for c in ctxs]
        try:
            args = (items, ctxs) if self._with_ctx[work_type] else (items,)
            if ctxs[0].is_async:
                result = await handler(*args)
            else:
                result = await self._threads.submit(contextvars.copy_context(), handler, *args)
                if inspect.isawaitable(result):
                    result = await result
            outcomes = list(result) if result is not None else [None] * len(items)
            if len(outcomes) != len(items):
                raise ValueError(f"batch handler for {work_type!r} returned {len(outcomes)} outcomes "
                                 f"for {len(items)} items")
        except WorkSuspended:
            span.set_attribute("animus.work.suspended", True)
            for ctx in ctxs:
                ctx.settled = True
            self.suspended += len(ctxs)
            return None
        except asyncio.CancelledError:
            if any(c.timed_out or c.released for c in ctxs):
                return "animus.HandlerTimeout" if any(c.timed_out for c in ctxs) else "released"
            raise
        except Exception as exc:
            outcomes = [exc] * len(items)
        live = [(c, o) for c, o in zip(ctxs, outcomes)
                if not (c.timed_out or c.released or c.stop_reason is not None or c.settled)]
        group = _Group(len(live), self._loop.create_future())
        completions = []
        failed_types = set()
        append = self._completions.append
        for ctx, out in live:
            ctx.settled = True
            entry = _Entry(group)
            if out is None:
                append((ctx, None, entry))
                completions.append(entry)
            elif isinstance(out, BaseException):
                error_type = f"{type(out).__module__}.{type(out).__qualname__}"
                failed_types.add(error_type)
                self.failed += 1
                self._failures.append((ctx, _error_text(out), not isinstance(out, self.non_retryable), entry))
            else:
                append((ctx, json.loads(json.dumps(out, default=str)), entry))
                completions.append(entry)
        self._free_slots(ctxs)
        if live:
            self._settle_ev.set()
            await group.fut
            self.processed += sum(1 for e in completions if e.result is None)
        if failed_types:
            span.set_attribute("error.type", sorted(failed_types)[0])
            span.set_status(Status(StatusCode.ERROR, f"{sum(1 for _ in failed_types)} error type(s)"))
            log.warning("batch of %d %s items: %d failed (%s)", len(ctxs), work_type,
                        sum(1 for _, o in live if isinstance(o, BaseException)), ", ".join(sorted(failed_types)))
            return sorted(failed_types)[0]
        return None

    def _ahead(self) -> int:
        """How many items to claim ahead of the free slots: at most ``prefetch``, and no more
        than the slots are expected to start within 10 ms (``concurrency`` x 10 ms / the moving
        average of how long a handler holds its slot); none before a handler has finished."""
        if not self.prefetch or self.batch_handlers or self._pace is None or self.timed_out > 0 and self.hung:
            return 0   # (a hung handler holds its slot for an unknown time: nothing claimed ahead)
        return min(self.prefetch, int(self.concurrency * 0.01 / max(self._pace, 1e-6)))

    def _free_slots(self, ctxs: list[WorkContext]) -> None:
        """:meth:`_free_slot` for a batch's items (their hold time is not paced: nothing is
        claimed ahead for batch handlers)."""
        pop = self._inflight.pop
        freed = False
        for ctx in ctxs:
            if pop(id(ctx), None) is not None:
                freed = True
        if freed:
            while self._ready and not self._stop.is_set() and len(self._inflight) < self.concurrency:
                self._dispatch(self._ready.popleft())   # claimed ahead (items of plain handlers)
            self._slot_freed = True
            self._wake_ev.set()

    def _free_slot(self, ctx: WorkContext) -> None:
        if self._inflight.pop(id(ctx), None) is not None:
            held = time.monotonic() - ctx.started
            self._pace = held if self._pace is None else 0.9 * self._pace + 0.1 * held
            if self._ready and not self._stop.is_set():
                self._dispatch(self._ready.popleft())   # claimed ahead: no round trip to wait for
            self._slot_freed = True
            self._wake_ev.set()

    async def _process(self, ctx: WorkContext) -> None:
        item = ctx.item
        tel = self.client._tel
        attrs = dict(self._process_attrs)
        if item.msg_id is not None:
            attrs["messaging.message.id"] = str(item.msg_id)
        attrs["animus.work.id"] = str(item.id)
        if item.work_type:
            attrs["animus.work.type"] = item.work_type
        if item.attempts is not None:
            attrs["animus.work.attempt"] = item.attempts
        metric = self._process_metric
        t0 = time.perf_counter()
        error_type = None
        try:
            with tel.inst.tracer.start_as_current_span(
                    f"process {self.queue}", kind=SpanKind.CONSUMER, attributes=attrs,
                    record_exception=False, set_status_on_exception=False) as span:
                if span.is_recording():   # links cost a parse per item: only for a real span
                    for link in links_from(item.all_trace_contexts()):
                        span.add_link(link.context, link.attributes)
                ctx.span = span
                error_type = await self._run_handler(ctx, span)
        except Exception:  # settle failed (e.g. the database went away): the claim will expire
            log.exception("work item %s: could not settle; it will be redelivered", item.id)
            error_type = error_type or "settle_failed"
        finally:
            self._free_slot(ctx)
            if error_type:
                metric = {**metric, "error.type": error_type}
            tel.inst.process_duration.record(time.perf_counter() - t0, metric)

    async def _call_handler(self, ctx: WorkContext, handler: Handler) -> Any:
        item = ctx.item
        args = (item, ctx) if self._with_ctx[item.work_type] else (item,)
        if ctx.is_async:
            return await handler(*args)
        # In a thread, in a copy of this task's context: the process span is the handler's parent.
        result = await self._threads.submit(contextvars.copy_context(), handler, *args)
        if inspect.isawaitable(result):   # a sync function that returned a coroutine
            result = await result
        return result

    async def _run_handler(self, ctx: WorkContext, span: Any) -> str | None:
        item = ctx.item
        handler = self.handlers.get(item.work_type or "")
        if handler is None:
            msg = f"no handler for work_type {item.work_type!r} in this worker"
            span.set_status(Status(StatusCode.ERROR, msg))
            span.set_attribute("error.type", "animus.NoHandler")
            self.failed += 1
            self._free_slot(ctx)
            await self._settle_fail(ctx, msg, retryable=False)
            return "animus.NoHandler"
        try:
            result = await self._call_handler(ctx, handler)
        except WorkSuspended as exc:
            # The handler gave its item back itself (a durable sleep or wait): nothing to settle.
            return self._suspended(ctx, span, exc)
        except asyncio.CancelledError:
            if ctx.timed_out:                   # cancelled by the worker at its time limit
                span.set_attribute("error.type", "animus.HandlerTimeout")
                span.set_status(Status(StatusCode.ERROR, "handler timed out"))
                return "animus.HandlerTimeout"
            if ctx.released:                    # released at shutdown, then cancelled
                return "released"
            raise
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
            self._free_slot(ctx)
            self.failed += 1
            await self._settle_fail(ctx, _error_text(exc), retryable=retryable)
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
        if ctx.released:
            log.info("work item %s was released at shutdown; not completing it", item.id)
            return "released"
        if result is not None:
            # outcome is jsonb: values JSON cannot hold (datetimes, UUIDs...) are stored as text
            result = json.loads(json.dumps(result, default=str))
        ctx.settled = True
        self._free_slot(ctx)          # the slot is free; the completion waits for its batch
        fut = self._loop.create_future()
        self._completions.append((ctx, result, fut))
        self._settle_ev.set()
        outcome = await fut
        if outcome is None:
            self.processed += 1
            return None
        if outcome == "animus.StaleClaim":
            span.set_attribute("error.type", "animus.StaleClaim")
            span.set_status(Status(StatusCode.ERROR, "stale claim"))
        return outcome

    def _suspended(self, ctx: WorkContext, span: Any, exc: WorkSuspended | None) -> None:
        """A durable sleep or event wait gave the item back (queued, not a failed attempt)."""
        span.set_attribute("animus.work.suspended", True)
        ctx.settled = True
        self.suspended += 1
        log.info("work item %s suspended (%s): given back until %s", ctx.item.id,
                 getattr(exc, "reason", None) or "handler returned after a suspension",
                 getattr(exc, "resume_at", None) or "its event")
        return None

    def _late(self, ctx: WorkContext, span: Any, what: str) -> str:
        """A hung handler returned (or raised) after its attempt was failed for the timeout."""
        log.warning("work item %s: handler returned %.1fs after its start, past its time limit; "
                    "attempt %s was already failed for it: %s dropped (stale claim)",
                    ctx.item.id, time.monotonic() - ctx.started, ctx.item.attempts, what)
        span.set_attribute("error.type", "animus.HandlerTimeout")
        span.set_status(Status(StatusCode.ERROR, "handler timed out"))
        return "animus.HandlerTimeout"

    async def _settle_fail(self, ctx: WorkContext, error: str, *, retryable: bool) -> bool:
        """Queue a failure for the next flush; True once it was recorded."""
        item = ctx.item
        if ctx.timed_out:
            log.info("work item %s timed out; its later failure is not recorded", item.id)
            return False
        if ctx.released:
            log.info("work item %s was released at shutdown; not recording its failure", item.id)
            return False
        ctx.settled = True
        fut = self._loop.create_future()
        self._failures.append((ctx, error, retryable, fut))
        self._settle_ev.set()
        return await fut is None

    # ------------------------------------------------------------------ settles
    async def _settle_loop(self) -> None:
        """Flushes buffered completions and failures: one round trip per batch, one batch at a
        time (what arrives during a flush joins the next one)."""
        ev = self._settle_ev
        while True:
            if not (self._completions or self._failures):
                if self._abort.is_set() and self._stop.is_set() and not self._inflight:
                    return
                ev.clear()
                await ev.wait()
                continue
            if (self.settle_delay > 0 and len(self._completions) < self.settle_batch
                    and not self._stop.is_set()):
                await asyncio.sleep(self.settle_delay)   # let more completions join this flush
            await self._flush()

    async def _flush(self) -> None:
        self._flushing += 1
        try:
            await self._flush_once()
        finally:
            self._flushing -= 1

    async def _flush_once(self) -> None:
        batch, self._completions = self._completions[:self.settle_batch], self._completions[self.settle_batch:]
        failures, self._failures = self._failures, []
        if len(batch) == self.settle_batch:   # the claims waited for this batch to leave the buffer
            self._slot_freed = True
            self._wake_ev.set()
        if batch:
            await self._with_retries(self._complete_batch, batch, [f for _, _, f in batch])
        groups: dict[tuple[str, bool], list] = {}
        for entry in failures:
            groups.setdefault((entry[1], entry[2]), []).append(entry)
        for (error, retryable), entries in groups.items():
            await self._with_retries(self._fail_batch, (error, retryable, entries), [e[3] for e in entries])

    async def _with_retries(self, fn: Callable, arg: Any, futures: list[asyncio.Future]) -> None:
        """A settle the database could not take (connection lost) is tried again a few times
        while the claims last; then given up: the claims expire and the items are redelivered."""
        delay = 0.2
        for attempt in range(4):
            try:
                await fn(arg)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:   # noqa: BLE001
                if attempt == 3:
                    log.error("could not settle %d item(s) (%s); they are redelivered after their "
                              "visibility timeout", len(futures), exc)
                    for f in futures:
                        if not f.done():
                            f.set_result("settle_failed")
                    return
                log.warning("settling %d item(s) failed (%s); retrying in %.1fs", len(futures),
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay *= 2

    async def _complete_batch(self, batch: list) -> None:
        batch = [e for e in batch if not e[2].done()]   # a retry skips what was settled already
        if not batch:
            return
        first = batch[0][0].span
        try:
            with trace.use_span(first, end_on_exit=False):
                if len(batch) == 1:
                    res = [await self.aclient.complete_work(batch[0][0].item.id, outcome=batch[0][1],
                                                            attempt=batch[0][0].item.attempts,
                                                            queue=self.queue)]
                else:
                    res = await self._complete_many(batch)
        except (StaleClaim, NotFound) as exc:
            if len(batch) == 1:
                self._settle_refused(batch[0][0], exc, batch[0][2], "completion")
                return
            # One stale claim in the batch undid it all: settle these one by one.
            for entry in batch:
                await self._complete_batch([entry])
            return
        except InvalidState as exc:   # single form: cancelled meanwhile, or ended
            log.warning("work item %s: completion refused (%s)", batch[0][0].item.id, exc.sqlstate)
            batch[0][2].set_result(exc.sqlstate)
            return
        self._count_settled("completed", sum(1 for d in res if d))
        for (ctx, _, fut), done in zip(batch, res):
            if done:
                fut.set_result(None)
            else:
                log.warning("work item %s: completion refused (no longer running: cancelled or "
                            "ended meanwhile)", ctx.item.id)
                fut.set_result("ZA104")

    def _complete_many(self, batch: list) -> Any:
        """``complete_work(work_ids[], outcomes[], attempts[])`` for ``batch``; an awaitable of one
        ``completed`` flag per entry. The ids and claim tokens go as array literals (psycopg's
        array dumpers cost ~5 µs per item, a join ~0.5 µs) and the outcomes only when one is not
        None (a batch of no-op results sends no jsonb at all)."""
        n = len(batch)
        params: dict[str, Any] = {
            "work_ids": "{" + ",".join([str(c.item.id) for c, _, _ in batch]) + "}"}
        outcomes = [o for _, o, _ in batch]
        if any(o is not None for o in outcomes):
            params["outcomes"] = outcomes
        params["attempts"] = "{" + ",".join([str(c.item.attempts) for c, _, _ in batch]) + "}"
        return self.aclient._execute(Call(_Q_COMPLETE_LITERAL, params, _completed_flags, self.queue,
                                          message_count=n))

    def _count_settled(self, outcome: str, n: int) -> None:
        """Items this worker settled, by outcome (completed, retried, dead): the worker's own
        tally (GET /healthz) and the counter ``animus.work.settled`` (GET /metrics)."""
        if n:
            self.settled[outcome] += n
            self.client._tel.inst.settled.add(n, {**self._process_metric, "animus.work.outcome": outcome})

    def _settle_refused(self, ctx: WorkContext, exc: AnimusError, fut: asyncio.Future, what: str) -> None:
        if isinstance(exc, StaleClaim):
            # our claim expired and another worker holds the item now
            log.warning("work item %s: stale claim (attempt %s), %s dropped: another worker "
                        "claimed the item after our visibility timeout expired (%s)",
                        ctx.item.id, ctx.item.attempts, "result" if what == "completion" else "failure",
                        exc.sqlstate)
            fut.set_result("animus.StaleClaim")
        else:
            log.warning("work item %s: %s refused (%s)", ctx.item.id, what, exc.sqlstate)
            fut.set_result(exc.sqlstate)

    async def _fail_batch(self, arg: tuple) -> None:
        error, retryable, entries = arg
        entries = [e for e in entries if not e[3].done()]
        if not entries:
            return
        if len(entries) > 1:
            try:
                with trace.use_span(entries[0][0].span, end_on_exit=False):
                    rows = await self.aclient.fail_work_many(
                        [c.item.id for c, *_ in entries], error, retryable=retryable,
                        attempts=[c.item.attempts for c, *_ in entries], queue=self.queue)
            except (StaleClaim, NotFound):
                for e in entries:
                    await self._fail_batch((error, retryable, [e]))
                return
            for row in rows:
                if row.failed:
                    self._count_settled("dead" if row.state == "dead" else "retried", 1)
            for (ctx, _, _, fut), row in zip(entries, rows):
                if not row.failed:
                    log.warning("work item %s: failure not recorded (no longer running)", ctx.item.id)
                fut.set_result(None if row.failed else "ZA104")
            return
        ctx, _, _, fut = entries[0]
        try:
            with trace.use_span(ctx.span, end_on_exit=False):
                row = await self.aclient.fail_work(ctx.item.id, error, retryable=retryable,
                                                   attempt=ctx.item.attempts, queue=self.queue)
            if row is not None:
                self._count_settled("dead" if row.state == "dead" else "retried", 1)
        except (StaleClaim, InvalidState, NotFound) as exc:
            if isinstance(exc, StaleClaim):
                log.warning("work item %s: stale claim (attempt %s), failure not recorded: another "
                            "worker claimed the item (%s)", ctx.item.id, ctx.item.attempts, exc.sqlstate)
            else:
                log.warning("work item %s: failure not recorded (%s)", ctx.item.id, exc.sqlstate)
            fut.set_result(exc.sqlstate)
            return
        fut.set_result(None)

    # ------------------------------------------------------------------ heartbeats
    async def _maintenance_loop(self) -> None:
        """Ticks schedules and sweeps concurrency keys until the worker stops (see __init__).
        A part the role may not run (PermissionDenied) is switched off with a warning."""
        schedules, sweep, n = self.schedules, True, 0
        while not self._stop.is_set() and (schedules or sweep):
            try:
                await asyncio.wait_for(self._stop_ev.wait(), self.maintenance_interval)
                return
            except asyncio.TimeoutError:
                pass
            n += 1
            for part in ("schedules", "sweep"):
                if not (schedules if part == "schedules" else sweep and n % 5 == 1):
                    continue
                try:
                    if part == "schedules":
                        self.scheduled += len(await self.aclient.tick_schedules())
                    else:
                        await self.aclient.sweep_concurrency_keys(self.queue)
                except PermissionDenied as exc:
                    log.warning("worker maintenance: %s switched off: %s", part, exc)
                    if part == "schedules":
                        schedules = False
                    else:
                        sweep = False
                except Exception as exc:   # noqa: BLE001 - the database away for a while: next time
                    log.warning("worker maintenance (%s) failed: %s", part, type(exc).__name__)

    async def _heartbeat_loop(self) -> None:
        """Heartbeats every ``heartbeat_interval``; in between, wakes at the earliest handler
        deadline to fail hung handlers (the same task, so a hung item is never heartbeated
        after it was failed)."""
        next_beat = time.monotonic() + self.heartbeat_interval
        ev = self._hb_ev
        while not self._abort.is_set():
            current = [c for c in self._inflight.values() if not c.timed_out]
            deadlines = [c.deadline for c in current if c.deadline is not None]
            # woken early by a dispatch (a new deadline), stop() or the end of shutdown
            if not ev.is_set():
                try:
                    await asyncio.wait_for(ev.wait(), max(0.0, min([next_beat, *deadlines]) - time.monotonic()))
                except asyncio.TimeoutError:
                    pass
            ev.clear()
            if self._abort.is_set():
                return
            now = time.monotonic()
            for ctx in [c for c in self._inflight.values() if not c.timed_out]:
                if ctx.deadline is not None and now >= ctx.deadline:
                    await self._time_out(ctx)
            if now < next_beat:
                continue
            next_beat = now + self.heartbeat_interval
            await self._heartbeat()

    async def _heartbeat(self) -> None:
        """Extend every running claim in one call. An item whose completion, failure or release
        has begun is not heartbeated, and a status for one that was settled while the heartbeat
        ran is ignored (not read as a cancellation of an item that simply finished)."""
        ctxs = [c for c in self._inflight.values() if not (c.settled or c.released or c.timed_out)]
        ready = list(self._ready)
        if not ctxs and not ready:
            return
        items = [c.item for c in ctxs] + ready
        try:
            rows = await self.aclient.heartbeat_work_batch([i.id for i in items], extend=self._vt(),
                                                          attempts=[i.attempts for i in items],
                                                          queue=self.queue)
        except AnimusError as exc:
            log.warning("heartbeat for %d item(s) failed: %s", len(items), exc)
            return
        for item, row in zip(ready, rows[len(ctxs):]):
            if row.status != "running" and item in self._ready:   # not started: just dropped
                log.info("work item %s (claimed ahead) is %s: not starting it", item.id, row.status)
                self._ready.remove(item)
        for ctx, row in zip(ctxs, rows):
            if row.status == "running" or ctx.settled or ctx.released or ctx.timed_out:
                continue
            if row.status == "cancelled":
                log.info("work item %s was cancelled: telling the handler to stop", ctx.item.id)
                ctx._request_stop("cancelled")
            elif row.status == "stale":
                log.warning("heartbeat for %s refused (stale claim): another worker claimed the item; "
                            "telling the handler to stop", ctx.item.id)
                ctx._request_stop("stale")
            else:
                log.warning("heartbeat for %s refused (%s): the item is no longer running; "
                            "telling the handler to stop", ctx.item.id, row.status)
                ctx._request_stop("ended")

    async def _time_out(self, ctx: WorkContext) -> None:
        """Fail a hung handler's attempt (retryable; dead at max attempts) and stop heartbeating
        it. A coroutine handler is cancelled; a thread runs on (Python cannot kill a thread) and
        keeps its slot."""
        item = ctx.item
        limit = self.timeout_for(item.work_type)
        if ctx.settled or ctx.released:
            return                      # it returned just now, or was released
        ctx.timed_out = ctx.settled = True
        ctx._request_stop("timeout")    # a handler taking ctx may notice and stop
        self.failed += 1
        self.timed_out += 1
        error = str(HandlerTimeout(f"handler for {item.work_type!r} still running after "
                                   f"{limit:g}s (handler_timeout); abandoned by the worker"))
        try:
            res = await self.aclient.fail_work(item.id, error, retryable=True, attempt=item.attempts,
                                               queue=self.queue)
            log.error("work item %s (%s) timed out after %gs at attempt %s: failed (%s); %s",
                      item.id, item.work_type, limit, item.attempts, res.state,
                      "its coroutine is cancelled" if ctx.is_async else
                      "its handler thread is abandoned and holds a slot until it returns")
        except InvalidState as exc:     # stale claim, cancelled or ended meanwhile
            log.warning("work item %s timed out; failure not recorded (%s)", item.id, exc.sqlstate)
        except Exception as exc:        # no heartbeats any more: the claim expires anyway
            log.error("work item %s timed out; could not fail it (%s): it is redelivered "
                      "after its visibility timeout", item.id, exc)
        if ctx.is_async and ctx.task is not None:
            ctx.task.cancel()
        hung = self.hung
        if hung >= self.concurrency:
            log.error("all %d slots are held by hung handlers: this worker claims nothing until "
                      "one returns (restart it to free them)", hung)
            await self._release_ready()   # items claimed ahead would wait behind them: give them back

    async def _release_ready(self) -> None:
        while self._ready:
            item = self._ready.popleft()
            try:
                await self.aclient.release_work(item.id, attempt=item.attempts, queue=self.queue)
            except AnimusError as exc:
                log.warning("could not release %s (%s); it is redelivered after its timeout", item.id, exc)

    # ------------------------------------------------------------------ shutdown
    async def _shutdown(self) -> None:
        deadline = time.monotonic() + self.shutdown_timeout
        await self._release_ready()            # claimed ahead, never started: back at once

        def running() -> list[WorkContext]:   # hung handlers were failed already: not waited for
            return [c for c in self._inflight.values() if not c.timed_out]

        while running() and time.monotonic() < deadline and not self._abort.is_set():
            await asyncio.sleep(0.02)
        for ctx in running():
            ctx._request_stop("shutdown")
            if ctx.settled:
                continue  # completed or failed meanwhile: its settle is flushed below
            ctx.released = True
            try:
                # Release: queued and visible again at once, the attempt not counted (the
                # handler did not fail; another worker runs it from the start).
                await self.aclient.release_work(ctx.item.id, attempt=ctx.item.attempts, queue=self.queue)
                log.info("work item %s released at shutdown: queued again for another worker, "
                         "the attempt not counted", ctx.item.id)
            except AnimusError as exc:
                log.warning("could not release %s (%s); it is redelivered after its timeout",
                            ctx.item.id, exc)
            if ctx.is_async and ctx.task is not None:
                ctx.task.cancel()
        # Buffered settles go out before the connections close (the settle loop flushes them).
        self._settle_ev.set()
        while self._completions or self._failures or self._flushing:
            if self._completions or self._failures:
                await self._flush()
            else:
                await asyncio.sleep(0.005)
        # Let tasks that are finishing their spans (settled above) end them.
        pending = [c.task for c in list(self._inflight.values()) if c.is_async and c.task is not None]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        self._abort.set()
        self._hb_ev.set()
        # Sync handlers still running after a release are abandoned (daemon threads; their
        # results are dropped when they return).
