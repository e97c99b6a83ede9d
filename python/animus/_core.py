"""What the sync and the async client share: one method per SQL function (building a
:class:`Call`), argument adaptation, result mapping, and the telemetry around each call.

Each public method only *describes* a call; ``Client._execute`` runs it on a pooled connection
and returns the result, ``AsyncClient._execute`` does the same and returns an awaitable.
"""
from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence
from uuid import UUID

from opentelemetry import context as _context
from opentelemetry import trace
from opentelemetry.trace.propagation import _SPAN_KEY as _trace_span_key
from opentelemetry.trace import Status, StatusCode
import psycopg
from psycopg.rows import tuple_row
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import Jsonb

from animus.embedding import to_vector_literal
from animus.errors import AnimusError, ArgumentTypeError, ArgumentValueError, NotDeployed
from animus.queries import QUERIES, Query
from animus.results import (BM25Settings, VectorIndexSettings, VectorIndexStatus, ChainEntry, ConcurrencyLimit, ConcurrencyStats, DueMemory,
                            EmbeddingModel, Event, EventWait, ReembeddingProgress, GraphHit, HeartbeatResult, Memory, MemoryLink, MemoryNeighbor, QueueStats,
                            ReviewState, Schedule, ScheduleRun, SearchHit, SettleResult, SleepResult,
                            StepStart, StoreResult, SubmitResult, Submission, WaitResult, WorkDetails, WorkItem,
                            WorkStep, HealthCheck, HealthThreshold, DeadWork, DeadRetry, DepthPoint, NamespaceStats)
from animus.telemetry.conventions import SPAN_KIND, Instruments, db_attrs, messaging_attrs
from animus.telemetry.deferred import defer

DEFAULT_QUEUE = "work"


class _InfinityTimestamptzLoader(TimestamptzLoader):
    """timestamptz with PostgreSQL's ``infinity``/``-infinity`` (e.g. a queue's
    ``last_notified_at`` before its first wake-up) as ``datetime.max``/``datetime.min`` (UTC),
    which psycopg's own loader refuses."""

    def load(self, data: Any) -> datetime:
        if data == b"infinity":
            return datetime.max.replace(tzinfo=timezone.utc)
        if data == b"-infinity":
            return datetime.min.replace(tzinfo=timezone.utc)
        return super().load(data)


def _cursor_for(conn: Any, infinite: bool):
    """A tuple-row cursor on ``conn``; with ``infinite``, one loading ``infinity`` timestamps
    (a Python loader: ~5 µs per value against psycopg's C one, so only for the queries that
    can return them, :attr:`Query.infinite`)."""
    cur = conn.cursor(row_factory=tuple_row)
    if infinite:
        cur.adapters.register_loader("timestamptz", _InfinityTimestamptzLoader)
    return cur


class Call:
    """One described call (hot path: a plain slotted class, no dataclass machinery)."""

    __slots__ = ("query", "params", "post", "queue", "embed", "message_count")

    def __init__(self, query: Query, params: dict[str, Any], post: Callable[[Any], Any],
                 queue: str | None = None, embed: tuple[str, str] | None = None,
                 message_count: int = 1) -> None:
        self.query = query
        self.params = params
        self.post = post
        self.queue = queue
        self.embed = embed   # (parameter to fill, text to embed) when missing
        self.message_count = message_count


# A row-shaped result reaches its ``post`` function as (column names, tuples): see shape_result.
_ROWS: dict[type, Callable[[Any], Any]] = {}
_ROW: dict[type, Callable[[Any], Any]] = {}


def _rows(cls):
    """The mapping of a result's rows to a list of ``cls`` (one function per class, made once)."""
    f = _ROWS.get(cls)
    if f is None:
        builder = cls.builder

        def f(result):
            names, rows = result
            build = builder(names)
            return [build(r) for r in rows]
        _ROWS[cls] = f
    return f


def _row(cls):
    """The mapping of a result's first row to ``cls`` (None without a row)."""
    f = _ROW.get(cls)
    if f is None:
        builder = cls.builder

        def f(result):
            names, rows = result
            return builder(names)(rows[0]) if rows else None
        _ROW[cls] = f
    return f


def _dict_row(result) -> dict[str, Any] | None:
    names, rows = result
    return dict(zip(names, rows[0])) if rows else None


def _dict_rows(result) -> list[dict[str, Any]]:
    names, rows = result
    return [dict(zip(names, r)) for r in rows]


def _first_column(result) -> list[Any]:
    return [r[0] for r in result[1]]


def _ident(x):
    return x


def _none(x) -> None:
    return None


def _work_details(result) -> WorkDetails | None:
    row = _dict_row(result)
    if row is None:
        return None
    merged = row.pop("merged_submissions", None) or []
    steps = row.pop("steps", None) or []
    steps_total = row.pop("steps_total", None)
    return WorkDetails(item=WorkItem.from_row(row),
                       merged=[Submission.from_row(m) for m in merged if isinstance(m, Mapping)],
                       steps=[WorkStep.from_row(m) for m in steps if isinstance(m, Mapping)],
                       steps_total=steps_total)


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


_Q_SUBMIT = QUERIES["submit_work"]
_POST_SUBMIT = _row(SubmitResult)


class Methods:
    """One method per ``animus.*`` SQL function; arguments are named as in SQL.

    An argument left as ``None`` is not sent, so the database default applies.
    """

    def _execute(self, call: Call) -> Any:  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    # ---------------------------------------------------------------- work queue
    def submit_work(self, work_type: str, source: str, *, params: Mapping[str, Any] | None = None,
                    dedup_key: str | None = None, trigger_info: Any = None,
                    priority: int | None = None, parent_id: UUID | None = None,
                    max_attempts: int | None = None, queue: str | None = None,
                    delay: Any = None, run_at: Any = None, on_duplicate: str | None = None,
                    concurrency_key: str | None = None, cost: int | None = None) -> SubmitResult:
        """Submit work; a duplicate of an active item is merged (``status == "merged"``).

        The current W3C trace context is stored with the item so the worker's ``process``
        span links back to this call. ``concurrency_key`` puts the item under that key's limits
        (:meth:`set_concurrency_limit`); ``cost`` (default 1) is what it uses of the key's rate.

        >>> r = client.submit_work("engage", "scheduler", dedup_key="person=kelly")  # doctest: +SKIP
        >>> r.status                                                                   # doctest: +SKIP
        'created'
        """
        p: dict[str, Any] = {"work_type": work_type, "source": source}
        if params is not None:
            p["params"] = params
        if (dedup_key is not None or trigger_info is not None or priority is not None
                or parent_id is not None or max_attempts is not None):
            p.update(_clean(dict(dedup_key=dedup_key, trigger_info=trigger_info, priority=priority,
                                 parent_id=parent_id, max_attempts=max_attempts)))
        if queue is not None:
            p["queue"] = queue
        if delay is not None or run_at is not None or on_duplicate is not None:
            p.update(_clean(dict(delay=delay, run_at=run_at, on_duplicate=on_duplicate)))
        if concurrency_key is not None or cost is not None:
            p.update(_clean(dict(concurrency_key=concurrency_key, cost=cost)))
        return self._execute(Call(_Q_SUBMIT, p, _POST_SUBMIT, queue or DEFAULT_QUEUE))

    def submit_work_batch(self, items: Sequence[Mapping[str, Any]], *, queue: str | None = None,
                          on_duplicate: str | None = None) -> list[SubmitResult]:
        """Submit many items in one call; one result per input, in input order."""
        p = _clean(dict(items=[dict(i) for i in items], queue=queue, on_duplicate=on_duplicate))
        return self._execute(Call(QUERIES["submit_work_batch"], p, _rows(SubmitResult),
                                  queue or DEFAULT_QUEUE, message_count=len(items)))

    def read_work(self, queue: str | None = None, *, vt: Any = None, qty: int | None = None,
                  work_types: Sequence[str] | None = None) -> list[WorkItem]:
        """Claim up to ``qty`` visible items for ``vt`` (seconds or timedelta); they become running.

        ``work_types`` (at most 100) claims only items of those types: the others stay queued
        for a worker that handles them. Each item carries its submitter's ``trace_context``, its
        first 100 ``requesters`` (the canonical submission and merged ones, with theirs) and
        ``requesters_total``.
        """
        p = _clean(dict(queue=queue, vt=vt, qty=qty,
                        work_types=None if work_types is None else list(work_types)))
        return self._execute(Call(QUERIES["read_work"], p, _rows(WorkItem), queue or DEFAULT_QUEUE))

    def complete_work(self, work_id: UUID, *, outcome: Any = None, attempt: int | None = None,
                      queue: str | None = None) -> bool:
        """Mark a running item completed with its outcome (merged duplicates resolve with it).

        ``attempt`` is the claim token (``WorkItem.attempts`` from ``read_work``): with it, a
        claim that expired and was taken by another worker raises StaleClaim (ZA108) and writes
        nothing. ``queue`` only names the telemetry span. Raises WorkNotRunning (ZA103) or
        WorkAlreadyEnded (ZA104) for a stale completion.
        """
        p = _clean(dict(work_id=work_id, outcome=outcome, attempt=attempt))
        return self._execute(Call(QUERIES["complete_work"], p, _ident, queue))

    def complete_work_many(self, work_ids: Sequence[UUID], *, outcomes: Sequence[Any] | None = None,
                           attempts: Sequence[int | None] | None = None,
                           queue: str | None = None) -> list[SettleResult]:
        """``complete_work(work_ids[], outcomes[], attempts[])``: complete many running items in one
        call (``attempts``: claim tokens aligned with ``work_ids``; StaleClaim if one is stale)."""
        p = _clean(dict(work_ids=list(work_ids), outcomes=list(outcomes) if outcomes is not None else None,
                        attempts=list(attempts) if attempts is not None else None))
        return self._execute(Call(QUERIES["complete_work_many"], p, _rows(SettleResult), queue,
                                  message_count=len(p["work_ids"])))

    def fail_work(self, work_id: UUID, error: str, *, retryable: bool | None = None,
                  attempt: int | None = None, queue: str | None = None) -> SettleResult:
        """Record a failure: ``state`` is ``queued`` (retry visible at ``retry_at``, after a
        backoff with jitter) or ``dead`` (not retryable, or out of attempts). ``attempt``: the
        claim token, as for :meth:`complete_work` (StaleClaim, ZA108)."""
        p = _clean(dict(work_id=work_id, error=error, retryable=retryable, attempt=attempt))
        return self._execute(Call(QUERIES["fail_work"], p, _row(SettleResult), queue))

    def fail_work_many(self, work_ids: Sequence[UUID], error: str, *, retryable: bool | None = None,
                       attempts: Sequence[int | None] | None = None,
                       queue: str | None = None) -> list[SettleResult]:
        """``fail_work(work_ids[], error, retryable, attempts[])``: fail many running items in one call."""
        p = _clean(dict(work_ids=list(work_ids), error=error, retryable=retryable,
                        attempts=list(attempts) if attempts is not None else None))
        return self._execute(Call(QUERIES["fail_work_many"], p, _rows(SettleResult), queue,
                                  message_count=len(p["work_ids"])))

    def heartbeat_work(self, work_id: UUID, *, extend: Any = None, attempt: int | None = None,
                       queue: str | None = None) -> HeartbeatResult:
        """Keep a running item claimed for ``extend`` more (seconds or timedelta); ``cancelled``
        is True when it was cancelled meanwhile (the handler should stop). ``attempt``: the claim
        token (StaleClaim, ZA108, when another worker has claimed the item since)."""
        p = _clean(dict(work_id=work_id, extend=extend, attempt=attempt))
        return self._execute(Call(QUERIES["heartbeat_work"], p, _row(HeartbeatResult), queue))

    def heartbeat_work_batch(self, work_ids: Sequence[UUID], *, extend: Any = None,
                            attempts: Sequence[int | None] | None = None,
                            queue: str | None = None) -> list[HeartbeatResult]:
        """``heartbeat_work_batch(work_ids[], extend, attempts[])``: extend many claims in one call; one
        result per id with ``status`` running, cancelled, stale, ended or unknown (never raises for
        one item's state)."""
        p = _clean(dict(work_ids=list(work_ids), extend=extend,
                        attempts=list(attempts) if attempts is not None else None))
        return self._execute(Call(QUERIES["heartbeat_work_batch"], p, _rows(HeartbeatResult), queue,
                                  message_count=len(p["work_ids"])))

    def release_work(self, work_id: UUID, *, attempt: int | None = None, delay: Any = None,
                     queue: str | None = None) -> datetime:
        """Give a running item back without counting the attempt: queued again, visible after
        ``delay`` (seconds or timedelta; default at once). Returns when it is visible again.

        ``attempt``: the claim token (StaleClaim, ZA108, when another worker has claimed the item
        since). Raises WorkNotRunning (ZA103) or WorkAlreadyEnded (ZA104) when it is not running.
        """
        p = _clean(dict(work_id=work_id, attempt=attempt, delay=delay))
        return self._execute(Call(QUERIES["release_work"], p, _ident, queue))

    def cancel_work(self, work_id: UUID) -> bool:
        """Cancel a queued or running item (a running one learns it from its next heartbeat)."""
        return self._execute(Call(QUERIES["cancel_work"], dict(work_id=work_id), _ident))

    def archive_work(self, queue: str, msg_id: int) -> bool:
        """pgmq.archive of a message of ``queue`` (thin wrapper)."""
        return self._execute(Call(QUERIES["archive_work"], dict(queue=queue, msg_id=msg_id), _ident, queue))

    def delete_work(self, queue: str, msg_id: int) -> bool:
        """pgmq.delete of a message of ``queue`` (thin wrapper)."""
        return self._execute(Call(QUERIES["delete_work"], dict(queue=queue, msg_id=msg_id), _ident, queue))

    def get_work(self, work_id: UUID) -> WorkDetails:
        """The item with its provenance: the first 100 requesters and merged submissions (with
        ``requesters_total``; all of them through :meth:`get_work_submissions`)."""
        return self._execute(Call(QUERIES["get_work"], dict(work_id=work_id), _work_details))

    def get_work_submissions(self, work_id: UUID, *, after: UUID | None = None,
                             page_size: int | None = None) -> list[Submission]:
        """The submissions merged into an item, oldest first, a page (default 100, at most 1000)
        at a time: pass the last ``id`` of a page as ``after`` for the next; an empty page ends.

        >>> page = client.get_work_submissions(item_id)
        >>> while page:
        ...     handle(page)
        ...     page = client.get_work_submissions(item_id, after=page[-1].id)
        """
        p = _clean(dict(work_id=work_id, after=after, page_size=page_size))
        return self._execute(Call(QUERIES["get_work_submissions"], p, _rows(Submission)))

    def watch_work(self, work_ids: Sequence[UUID]) -> list[WaitResult]:
        """The current state of each item (a merged submission: its canonical item's), one row
        per id in input order, and marks the items not ended awaited, so that their end is
        notified on channel ``animus_work_done``. ``state`` is None for an unknown id. At most
        10000 ids. :meth:`wait` is built on it; call it directly to look without waiting."""
        return self._execute(Call(QUERIES["watch_work"], dict(work_ids=list(work_ids)), _rows(WaitResult)))

    def wait(self, work_id: UUID, *, timeout: float | None = None) -> Any:
        """Wait until the work item ends and return its outcome (``complete_work``'s outcome).

        A merged submission waits for its canonical item. Raises :class:`animus.WorkFailed`
        (dead: ``.error``), :class:`animus.WorkCancelled`, :class:`animus.WaitTimeout` (also a
        ``TimeoutError``) when ``timeout`` seconds pass first (None: no limit), WorkNotFound
        (ZA102) for an unknown id. Every waiter of a client shares one LISTEN connection; the
        waiting thread (or task) does not use a pooled connection.

        >>> outcome = client.wait(r.work_id, timeout=30)                          # doctest: +SKIP
        """
        return self._wait(work_id, timeout)

    def wait_many(self, work_ids: Sequence[UUID], *, timeout: float | None = None) -> list[WaitResult]:
        """Wait until every item ends or ``timeout`` seconds pass; one :class:`WaitResult` per id,
        in input order (``timed_out`` True for those that had not ended). Raises nothing for a
        dead or cancelled item (see ``state``, ``error``); WorkNotFound (ZA102) for an unknown id."""
        return self._wait_many(work_ids, timeout)

    def _wait(self, work_id: UUID, timeout: float | None) -> Any:  # pragma: no cover - per client
        raise NotImplementedError

    def _wait_many(self, work_ids: Sequence[UUID], timeout: float | None) -> Any:  # pragma: no cover
        raise NotImplementedError

    def work_children(self, parent_id: UUID) -> list[WorkItem]:
        return self._execute(Call(QUERIES["work_children"], dict(parent_id=parent_id), _rows(WorkItem)))

    def queue_stats(self, queue: str | None = None) -> list[QueueStats]:
        """Per queue and state: item counts, pgmq depth, oldest visible message age."""
        return self._execute(Call(QUERIES["queue_stats"], _clean(dict(queue=queue)), _rows(QueueStats)))

    def create_queue(self, queue: str, *, backoff_base: Any = None, backoff_factor: float | None = None,
                     backoff_cap: Any = None, backoff_jitter: float | None = None,
                     notify: bool | None = None, notify_throttle: Any = None,
                     if_not_exists: bool | None = None, concurrency_param: str | None = None) -> bool:
        """Create a queue (and its pgmq queue); durations are seconds or timedeltas.
        ``concurrency_param``: items submitted without a ``concurrency_key`` get
        ``params[concurrency_param]`` as their key."""
        p = _clean(dict(queue=queue, backoff_base=backoff_base, backoff_factor=backoff_factor,
                        backoff_cap=backoff_cap, backoff_jitter=backoff_jitter, notify=notify,
                        notify_throttle=notify_throttle, if_not_exists=if_not_exists,
                        concurrency_param=concurrency_param))
        return self._execute(Call(QUERIES["create_queue"], p, _ident))

    def configure_queue(self, queue: str, *, backoff_base: Any = None, backoff_factor: float | None = None,
                        backoff_cap: Any = None, backoff_jitter: float | None = None,
                        notify: bool | None = None, notify_throttle: Any = None,
                        concurrency_param: str | None = None,
                        archive_messages: bool | None = None) -> dict[str, Any]:
        """Change a queue's settings (None keeps one; ``concurrency_param=""`` clears it;
        ``archive_messages=True`` moves settled messages to pgmq's archive instead of deleting them)."""
        p = _clean(dict(queue=queue, backoff_base=backoff_base, backoff_factor=backoff_factor,
                        backoff_cap=backoff_cap, backoff_jitter=backoff_jitter, notify=notify,
                        notify_throttle=notify_throttle, concurrency_param=concurrency_param,
                        archive_messages=archive_messages))
        return self._execute(Call(QUERIES["configure_queue"], p, _dict_row))

    def drop_queue(self, queue: str) -> Any:
        return self._execute(Call(QUERIES["drop_queue"], dict(queue=queue), _ident))

    def pause_queue(self, queue: str) -> bool:
        """Pause ``queue``: it keeps accepting submissions, ``read_work`` hands out nothing from it
        until :meth:`resume_queue`; running items settle as usual. True when it was running, False
        when already paused. animus_admin only; raises QueueNotFound (ZA101), WorkError (ZA109: no grant on the queue)."""
        return self._execute(Call(QUERIES["pause_queue"], dict(queue=queue), _ident))

    def resume_queue(self, queue: str) -> bool:
        """Resume a paused ``queue`` (idle workers are woken at once). True when it was paused,
        False when already running. animus_admin only; raises QueueNotFound (ZA101), WorkError (ZA109: no grant on the queue)."""
        return self._execute(Call(QUERIES["resume_queue"], dict(queue=queue), _ident))

    def set_concurrency_limit(self, queue: str, key: str | None = None, *, max_running: int | None = None,
                              rate: int | None = None, period: Any = None) -> ConcurrencyLimit:
        """Limit concurrency key ``key`` of ``queue`` (default ``'*'``: each key without its own
        limit): at most ``max_running`` items running at once, at most ``rate`` cost units started
        per ``period`` (seconds or timedelta). animus_admin only."""
        p = _clean(dict(queue=queue, key=key, max_running=max_running, rate=rate, period=period))
        return self._execute(Call(QUERIES["set_concurrency_limit"], p, _row(ConcurrencyLimit), queue))

    def drop_concurrency_limit(self, queue: str, key: str | None = None) -> ConcurrencyLimit:
        """Remove the limit of ``key`` (default ``'*'``) of ``queue``; returns it. Raises
        ConcurrencyLimitNotFound (ZA128) when there is none."""
        p = _clean(dict(queue=queue, key=key))
        return self._execute(Call(QUERIES["drop_concurrency_limit"], p, _row(ConcurrencyLimit), queue))

    def concurrency_stats(self, queue: str | None = None) -> list[ConcurrencyStats]:
        """Per concurrency key of ``queue``: limits, running, queued, held, rate window use."""
        return self._execute(Call(QUERIES["concurrency_stats"], _clean(dict(queue=queue)),
                                  _rows(ConcurrencyStats), queue or DEFAULT_QUEUE))

    def sweep_concurrency_keys(self, queue: str | None = None) -> int:
        """Wake held items of keys with free slots (the liveness safety net; None: every queue
        the role may use). Returns how many were woken."""
        return self._execute(Call(QUERIES["sweep_concurrency_keys"], _clean(dict(queue=queue)), _ident, queue))

    def purge_work(self, older_than: Any = None, *, queue: str | None = None,
                   batch_size: int | None = None) -> list[dict[str, Any]]:
        """Delete ended items and archived messages older than ``older_than`` (default 7 days), at
        most ``batch_size`` (default 10,000) of each per queue and call: call again until every
        count is 0 (short transactions, no long locks)."""
        return self._execute(Call(QUERIES["purge_work"], _clean(dict(older_than=older_than, queue=queue,
                                                                     batch_size=batch_size)), _dict_rows))

    # ---------------------------------------------------------------- durable steps and events
    def start_step(self, work_id: UUID, step_name: str, attempt: int, *, occurrence: int | None = None,
                   fingerprint: str | None = None) -> StepStart:
        """Start durable step ``step_name`` (``occurrence``, default 1) of a running item for the
        claim ``attempt``: ``done`` True with the recorded ``result`` when it completed before
        (do not run it again), else it is recorded as running (run it, then :meth:`finish_step`).
        A different ``fingerprint`` than the recorded one raises StepReused (ZA113); a stale
        claim StaleClaim (ZA108). Handlers use ``ctx.step`` (animus.durable) instead."""
        p = _clean(dict(work_id=work_id, step_name=step_name, attempt=attempt, occurrence=occurrence,
                        fingerprint=fingerprint))
        return self._execute(Call(QUERIES["start_step"], p, _row(StepStart)))

    def finish_step(self, work_id: UUID, step_name: str, attempt: int, *, result: Any = None,
                    occurrence: int | None = None, error: str | None = None) -> None:
        """Record the outcome of a step this claim started: ``error`` None -> completed with
        ``result`` (JSON, at most 1 MB), else failed (it runs again on the next attempt).
        Raises StepNotRunning (ZA114) for a step this claim has not started."""
        p: dict[str, Any] = dict(work_id=work_id, step_name=step_name, attempt=attempt)
        if result is not None:
            p["result"] = result
        p.update(_clean(dict(occurrence=occurrence, error=error)))
        return self._execute(Call(QUERIES["finish_step"], p, _none))

    def sleep_work(self, work_id: UUID, attempt: int, *, wake_at: datetime | None = None,
                   delay: Any = None, step_name: str | None = None,
                   occurrence: int | None = None) -> SleepResult:
        """Durable sleep of a running item until ``wake_at`` or for ``delay`` (seconds or
        timedelta) from the first call: ``suspended`` True when the item was given back until
        ``resume_at`` (not a failed attempt; stop without settling it), False once the recorded
        time has passed. Raises InvalidWaitTime (ZA117) for a negative delay."""
        p = _clean(dict(work_id=work_id, attempt=attempt, wake_at=wake_at, delay=delay,
                        step_name=step_name, occurrence=occurrence))
        return self._execute(Call(QUERIES["sleep_work"], p, _row(SleepResult)))

    def await_event(self, work_id: UUID, attempt: int, event_key: str, *, timeout: Any = None,
                    step_name: str | None = None, occurrence: int | None = None) -> EventWait:
        """Durable wait of a running item for event ``event_key`` of its queue: ``status``
        ``received`` (with ``payload``), ``timeout`` (after ``timeout`` seconds/timedelta from the
        first call; None: no limit) or ``suspended`` (the item was given back until the event or
        the deadline: stop without settling it)."""
        p = _clean(dict(work_id=work_id, attempt=attempt, event_key=event_key, timeout=timeout,
                        step_name=step_name, occurrence=occurrence))
        return self._execute(Call(QUERIES["await_event"], p, _row(EventWait)))

    def emit_event(self, event_key: str, payload: Any = None, *, queue: str | None = None) -> int:
        """Emit event ``event_key`` of ``queue`` (default 'work') with ``payload`` (JSON): every
        item waiting for it gets it and runs again at once; a wait starting later receives it at
        once. Returns how many waits it delivered to.

        >>> client.emit_event("approval:42", {"approved": True})            # doctest: +SKIP
        1
        """
        p: dict[str, Any] = {"event_key": event_key}
        if payload is not None:
            p["payload"] = payload
        if queue is not None:
            p["queue"] = queue
        return self._execute(Call(QUERIES["emit_event"], p, _ident))

    def get_event(self, event_key: str, *, queue: str | None = None) -> Event | None:
        """Event ``event_key`` of ``queue``: emitted (with its payload) or awaited; None when
        neither."""
        p = _clean(dict(event_key=event_key, queue=queue))
        return self._execute(Call(QUERIES["get_event"], p, _row(Event)))

    def get_work_steps(self, work_id: UUID) -> list[WorkStep]:
        """Every durable step of an item, with its result, in the order they last started."""
        return self._execute(Call(QUERIES["get_work_steps"], dict(work_id=work_id), _rows(WorkStep)))

    def purge_events(self, older_than: Any = None, *, queue: str | None = None) -> int:
        """Delete events emitted more than ``older_than`` ago (default 7 days; admin)."""
        return self._execute(Call(QUERIES["purge_events"], _clean(dict(older_than=older_than, queue=queue)),
                                  _ident))
    # ---------------------------------------------------------------- schedules
    def create_schedule(self, name: str, cron: str | None = None, *, work_type: str,
                        params: Mapping[str, Any] | None = None, queue: str | None = None,
                        timezone: str | None = None, every: Any = None, start_at: Any = None,
                        catchup: str | None = None, max_catchup: int | None = None,
                        priority: int | None = None, max_attempts: int | None = None,
                        period_key: str | None = None, paused: bool | None = None) -> Schedule:
        """Create a schedule submitting ``work_type`` once per period of ``cron`` (5 fields or a
        macro, in IANA ``timezone``, default UTC) or of ``every`` (seconds or timedelta). Raises
        InvalidSchedule (bad cron, zone, interval, policy), ScheduleExists, QueueNotFound.

        >>> client.create_schedule("digest", "0 8 * * MON-FRI", work_type="digest",
        ...                        timezone="Europe/Berlin")                         # doctest: +SKIP
        """
        p = _clean(dict(name=name, cron=cron, work_type=work_type, params=params, queue=queue,
                        timezone=timezone, every=every, start_at=start_at, catchup=catchup,
                        max_catchup=max_catchup, priority=priority, max_attempts=max_attempts,
                        period_key=period_key, paused=paused))
        return self._execute(Call(QUERIES["create_schedule"], p, _row(Schedule), queue))

    def alter_schedule(self, name: str, *, cron: str | None = None, every: Any = None,
                       start_at: Any = None, timezone: str | None = None, work_type: str | None = None,
                       params: Mapping[str, Any] | None = None, queue: str | None = None,
                       catchup: str | None = None, max_catchup: int | None = None,
                       priority: int | None = None, max_attempts: int | None = None,
                       period_key: str | None = None) -> Schedule:
        """Change the given settings (None = unchanged); a new timing restarts from now."""
        p = _clean(dict(name=name, cron=cron, every=every, start_at=start_at, timezone=timezone,
                        work_type=work_type, params=params, queue=queue, catchup=catchup,
                        max_catchup=max_catchup, priority=priority, max_attempts=max_attempts,
                        period_key=period_key))
        return self._execute(Call(QUERIES["alter_schedule"], p, _row(Schedule), queue))

    def pause_schedule(self, name: str) -> bool:
        """Stop the schedule until :meth:`resume_schedule`; False if it was paused already."""
        return self._execute(Call(QUERIES["pause_schedule"], dict(name=name), _ident))

    def resume_schedule(self, name: str) -> datetime:
        """Resume a paused schedule; returns its next run (periods missed while paused are not run)."""
        return self._execute(Call(QUERIES["resume_schedule"], dict(name=name), _ident))

    def drop_schedule(self, name: str, *, if_exists: bool | None = None) -> bool:
        """Delete the schedule (its items stay); ScheduleNotFound unless ``if_exists``."""
        return self._execute(Call(QUERIES["drop_schedule"], _clean(dict(name=name, if_exists=if_exists)), _ident))

    def list_schedules(self, queue: str | None = None) -> list[Schedule]:
        """The schedules (of ``queue``, else every queue the caller may use), by name."""
        return self._execute(Call(QUERIES["list_schedules"], _clean(dict(queue=queue)), _rows(Schedule)))

    def schedule_next_runs(self, name: str, count: int | None = None) -> list[datetime]:
        """The next ``count`` (default 5) periods of the schedule, from ``next_run_at``."""
        return self._execute(Call(QUERIES["schedule_next_runs"], _clean(dict(name=name, count=count)),
                                  _first_column))

    def cron_next_runs(self, cron: str, count: int | None = None, *, after: Any = None,
                       timezone: str | None = None) -> list[datetime]:
        """Try a cron expression: its next ``count`` runs after ``after`` (default now) in ``timezone``."""
        p = _clean(dict(cron=cron, count=count, after=after, timezone=timezone))
        return self._execute(Call(QUERIES["cron_next_runs"], p, _first_column))

    def tick_schedules(self, now: Any = None, *, max_submits: int | None = None) -> list[ScheduleRun]:
        """Submit every due period of the schedules on the caller's queues, exactly once across
        concurrent tickers (see :class:`animus.scheduler.Scheduler`); ``now`` drives time in tests."""
        p = _clean(dict(now=now, max_submits=max_submits))
        return self._execute(Call(QUERIES["tick_schedules"], p, _rows(ScheduleRun)))

    # ---------------------------------------------------------------- memory
    def store_memory(self, content: str, embedding: Sequence[float] | None = None,
                     memory_type: str | None = None, *, source: str | None = None,
                     metadata: Mapping[str, Any] | None = None,
                     namespace: str | None = None, expires_at: datetime | None = None,
                     ttl: Any = None, pinned: bool | None = None,
                     supersedes: Sequence[int] | None = None, visibility: str | None = None,
                     groups: Sequence[str] | None = None) -> StoreResult:
        """Store a memory (same content in the same namespace updates it: ``created`` False).

        Without ``embedding`` the client's Embedder embeds ``content`` (an ``embeddings`` span).
        Lifecycle (docs/memory-lifecycle.md): ``expires_at`` or ``ttl`` (seconds or timedelta),
        ``pinned``, ``supersedes`` (ids of older memories it replaces), ``visibility``
        (``namespace``, ``private``, ``groups`` with ``groups`` = role names).
        """
        p = _clean(dict(content=content, embedding=embedding, memory_type=memory_type, source=source,
                        metadata=metadata, namespace=namespace, expires_at=expires_at, ttl=ttl,
                        pinned=pinned, supersedes=None if supersedes is None else list(supersedes),
                        visibility=visibility, groups=None if groups is None else list(groups)))
        return self._execute(Call(QUERIES["store_memory"], p, _row(StoreResult),
                                  embed=("embedding", content) if embedding is None else None))

    def store_memories(self, memories: Sequence[Mapping[str, Any]], *,
                       namespace: str | None = None) -> list[StoreResult]:
        """Store many memories in one call (``content``, ``embedding``, ``memory_type``, ``source``,
        ``metadata`` per item, and the lifecycle keys of :meth:`store_memory`: ``expires_at``
        (datetime), ``ttl`` (timedelta or seconds), ``pinned``, ``supersedes``, ``visibility``,
        ``groups``); one result per input, in input order (``ordinal``). Nothing is stored when
        one item is bad; the error names it (``memories[N]``, from 1)."""
        out = []
        for m in memories:
            m = dict(m)
            if isinstance(m.get("ttl"), timedelta):
                m["ttl"] = m["ttl"].total_seconds()
            if isinstance(m.get("expires_at"), datetime):
                m["expires_at"] = m["expires_at"].isoformat()
            if m.get("supersedes") is not None:
                m["supersedes"] = list(m["supersedes"])
            if m.get("groups") is not None:
                m["groups"] = list(m["groups"])
            e = m.get("embedding")
            if e is not None and not isinstance(e, str):
                # pgvector's text form inside the JSON: the server parses it as a vector in one go
                # (about 4x faster than a JSON array of numbers, measured by the memory benchmark)
                m["embedding"] = to_vector_literal(e)
            out.append(m)
        return self._execute(Call(QUERIES["store_memories"], _clean(dict(memories=out, namespace=namespace)),
                                  _rows(StoreResult), message_count=len(out)))

    def get_memory(self, id: int) -> Memory | None:
        return self._execute(Call(QUERIES["get_memory"], dict(id=id), _row(Memory)))

    def update_memory(self, id: int, *, content: str | None = None,
                      embedding: Sequence[float] | None = None, memory_type: str | None = None,
                      source: str | None = None, metadata: Mapping[str, Any] | None = None,
                      namespace: str | None = None) -> Memory | None:
        """Change the given fields of a memory; the others keep their values."""
        p = _clean(dict(id=id, content=content, embedding=embedding, memory_type=memory_type,
                        source=source, metadata=metadata, namespace=namespace))
        return self._execute(Call(QUERIES["update_memory"], p, _row(Memory)))

    def delete_memory(self, id: int) -> bool:
        """True when a memory was deleted."""
        return self._execute(Call(QUERIES["delete_memory"], dict(id=id), _ident))

    def delete_memories(self, ids: Sequence[int]) -> int:
        """How many of ``ids`` were deleted."""
        return self._execute(Call(QUERIES["delete_memories"], dict(ids=list(ids)), _ident))

    def update_memory_lifecycle(self, id: int, *, expires_at: datetime | None = None, ttl: Any = None,
                                pinned: bool | None = None, supersedes: Sequence[int] | None = None,
                                visibility: str | None = None, groups: Sequence[str] | None = None,
                                clear_expiry: bool | None = None) -> Memory | None:
        """Change expiry, pinning, supersession or sharing of a memory; returns the memory."""
        p = _clean(dict(id=id, expires_at=expires_at, ttl=ttl, pinned=pinned,
                        supersedes=None if supersedes is None else list(supersedes), visibility=visibility,
                        groups=None if groups is None else list(groups), clear_expiry=clear_expiry))
        return self._execute(Call(QUERIES["update_memory_lifecycle"], p, _row(Memory)))

    def purge_expired_memories(self, *, namespace: str | None = None, grace: Any = None,
                               max_rows: int | None = None) -> int:
        """Retention: delete up to ``max_rows`` memories expired ``grace`` ago (never pinned);
        returns how many. Call until it returns 0."""
        p = _clean(dict(namespace=namespace, grace=grace, max_rows=max_rows))
        return self._execute(Call(QUERIES["purge_expired_memories"], p, _ident))

    def memory_chain(self, id: int) -> list[ChainEntry]:
        """The supersession chain of a memory: the current one first (generation 0)."""
        return self._execute(Call(QUERIES["memory_chain"], dict(id=id), _rows(ChainEntry)))

    def link_memories(self, source: int, target: int, *, relation: str | None = None,
                      weight: float | None = None, metadata: Mapping[str, Any] | None = None) -> MemoryLink:
        """Link memory ``source`` to memory ``target`` (again: updates weight and metadata)."""
        p = _clean(dict(source=source, target=target, relation=relation, weight=weight, metadata=metadata))
        return self._execute(Call(QUERIES["link_memories"], p, _row(MemoryLink)))

    def unlink_memories(self, source: int, target: int, *, relation: str | None = None) -> int:
        """Remove the links from ``source`` to ``target`` (one relation, or all); how many."""
        p = _clean(dict(source=source, target=target, relation=relation))
        return self._execute(Call(QUERIES["unlink_memories"], p, _ident))

    def memory_neighbors(self, id: int, *, depth: int | None = None,
                         relations: Sequence[str] | None = None) -> list[MemoryNeighbor]:
        """Memories linked to ``id`` up to ``depth`` links away (either direction), each once."""
        p = _clean(dict(id=id, depth=depth, relations=None if relations is None else list(relations)))
        return self._execute(Call(QUERIES["memory_neighbors"], p, _rows(MemoryNeighbor)))

    def memory_graph_expand(self, hit_ids: Sequence[int], hit_scores: Sequence[float], *,
                            depth: int | None = None, relations: Sequence[str] | None = None,
                            decay: float | None = None) -> list[GraphHit]:
        """Neighbours of search hits with score = hit score x link weight x decay per link."""
        p = _clean(dict(hit_ids=list(hit_ids), hit_scores=[float(x) for x in hit_scores], depth=depth,
                        relations=None if relations is None else list(relations), decay=decay))
        return self._execute(Call(QUERIES["memory_graph_expand"], p, _rows(GraphHit)))

    def review_memory(self, id: int, grade: int, *, reviewed_at: datetime | None = None) -> ReviewState:
        """Record an FSRS review (1 again, 2 hard, 3 good, 4 easy); returns the new state."""
        p = _clean(dict(id=id, grade=grade, reviewed_at=reviewed_at))
        return self._execute(Call(QUERIES["review_memory"], p, _row(ReviewState)))

    def due_memories(self, namespace: str | None = None, *, at: datetime | None = None,
                     lim: int | None = None) -> list[DueMemory]:
        """Reviewed memories due at ``at`` (default now), earliest first."""
        p = _clean(dict(namespace=namespace, at=at, lim=lim))
        return self._execute(Call(QUERIES["due_memories"], p, _rows(DueMemory)))

    def register_model(self, name: str, dimension: int, *, provider: str | None = None,
                       metadata: Mapping[str, Any] | None = None) -> EmbeddingModel:
        """Register an embedding model (admin); its dimension must be the table's."""
        p = _clean(dict(name=name, dimension=dimension, provider=provider, metadata=metadata))
        return self._execute(Call(QUERIES["register_model"], p, _row(EmbeddingModel)))

    def set_namespace_model(self, namespace: str, model: str, *, queue: str | None = None) -> int:
        """Make ``model`` the namespace's active model (admin); queues the re-embedding of its
        memories with vectors of another model (work type ``memory_reembed``) and returns how many."""
        p = _clean(dict(namespace=namespace, model=model, queue=queue))
        return self._execute(Call(QUERIES["set_namespace_model"], p, _ident))

    def memory_request_reembedding(self, *, namespace: str | None = None, queue: str | None = None,
                                 max_items: int | None = None) -> int:
        """Queue re-embedding for memories whose vector is not of their namespace's active model
        (one item per memory, deduplicated); how many were submitted."""
        p = _clean(dict(namespace=namespace, queue=queue, max_items=max_items))
        return self._execute(Call(QUERIES["memory_request_reembedding"], p, _ident))

    def memory_set_embedding(self, id: int, embedding: Sequence[float], model: str, content: str) -> bool:
        """Write a re-embedded vector (kept only while the memory's content is ``content``)."""
        p = dict(id=id, embedding=embedding, model=model, content=content)
        return self._execute(Call(QUERIES["memory_set_embedding"], p, _ident))

    def memory_reembedding_progress(self, namespace: str | None = None) -> list[ReembeddingProgress]:
        """Per namespace with an active model: total, current and pending memories."""
        p = _clean(dict(namespace=namespace))
        return self._execute(Call(QUERIES["memory_reembedding_progress"], p, _rows(ReembeddingProgress)))

    def search_memory_vector(self, query_embedding: Sequence[float], *, k: int | None = None,
                             filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        p = _clean(dict(query_embedding=query_embedding, k=k, filters=filters))
        return self._execute(Call(QUERIES["search_memory_vector"], p, _rows(SearchHit)))

    def search_memory_text(self, query: str, *, k: int | None = None,
                           filters: Mapping[str, Any] | None = None) -> list[SearchHit]:
        p = _clean(dict(query=query, k=k, filters=filters))
        return self._execute(Call(QUERIES["search_memory_text"], p, _rows(SearchHit)))

    def hybrid_search(self, query_text: str | None = None, query_embedding: Sequence[float] | None = None,
                      *, k: int | None = None, filters: Mapping[str, Any] | None = None,
                      text_weight: float | None = None, vector_weight: float | None = None,
                      rrf_k: int | None = None, candidates: int | None = None,
                      fusion: str | None = None, alpha: float | None = None,
                      retrievability_weight: float | None = None, recency_weight: float | None = None,
                      recency_half_life: Any = None,
                      importance_weight: float | None = None, graph_depth: int | None = None,
                      graph_relations: Sequence[str] | None = None, graph_decay: float | None = None,
                      embed: bool = True) -> list[SearchHit]:
        """Keyword and vector search fused in one statement.

        ``fusion="convex"`` (the default): ``alpha`` (default 0.3, tuned on NFCorpus dev) ×
        the normalised vector score + (1 − ``alpha``) × the normalised BM25 score;
        ``fusion="rrf"``: Reciprocal Rank Fusion (``text_weight``, ``vector_weight``,
        ``rrf_k``); docs/memory.md. Without ``query_embedding`` (and ``embed=True``) the
        client's Embedder embeds ``query_text``; with neither, only the keyword branch runs.
        Raises InvalidMemoryArgument (ZA228) for an unknown ``fusion`` or ``alpha`` with
        ``fusion="rrf"``.

        Optional weighting, off by default (docs/memory-lifecycle.md): each score is multiplied
        by ``(1 - wr + wr·R)·(1 - wc + wc·0.5^(age/recency_half_life))·(1 - wi + wi·I)`` with
        ``retrievability_weight`` wr (R: FSRS retrievability), ``recency_weight`` wc (age since
        the last update; ``recency_half_life`` default 30 days, seconds or a timedelta) and
        ``importance_weight`` wi (I: ``metadata["importance"]`` in [0, 1]). ``graph_depth`` 1–5
        adds the neighbours of the top hits (``graph_relations``; score = hit score × link
        weight × ``graph_decay`` per link).
        """
        p = _clean(dict(query_text=query_text, query_embedding=query_embedding, k=k, filters=filters,
                        text_weight=text_weight, vector_weight=vector_weight, rrf_k=rrf_k,
                        candidates=candidates, fusion=fusion, alpha=alpha,
                        retrievability_weight=retrievability_weight, recency_weight=recency_weight,
                        recency_half_life=recency_half_life, importance_weight=importance_weight,
                        graph_depth=graph_depth,
                        graph_relations=list(graph_relations) if graph_relations is not None else None,
                        graph_decay=graph_decay))
        want = embed and query_embedding is None and bool(query_text)
        return self._execute(Call(QUERIES["hybrid_search"], p, _rows(SearchHit),
                                  embed=("query_embedding", query_text) if want else None))


    def memory_begin_reembedding(self, embedding_model: str | None = None,
                                 embedding_dim: int | None = None) -> int:
        """Start a change of embedding model (admin): clears every embedding, drops the vector
        index; returns how many memories need a new embedding (then ``update_memory`` each,
        then :meth:`memory_finish_reembedding`)."""
        p = _clean(dict(embedding_model=embedding_model, embedding_dim=embedding_dim))
        return self._execute(Call(QUERIES["memory_begin_reembedding"], p, _ident))

    def memory_finish_reembedding(self) -> int:
        """End a change of embedding model (admin): NOT NULL and the vector index (of the configured kind) again."""
        return self._execute(Call(QUERIES["memory_finish_reembedding"], {}, _ident))

    def memory_begin_bulk_load(self) -> int:
        """Start a bulk load (admin): drops the vector, full-text, metadata and BM25 indexes so
        ``store_memories`` loads fast; returns how many memories there are. Searches are slow
        until :meth:`memory_finish_bulk_load`. Raises MemoryStateError (ZA209) during a
        re-embedding, MemoryStoreError (ZA212) when a bulk load is already in progress.

        >>> client.memory_begin_bulk_load()                                       # doctest: +SKIP
        0
        >>> client.store_memories([{"content": "a", "embedding": vec}])          # doctest: +SKIP
        >>> client.memory_finish_bulk_load(maintenance_work_mem="256MB")         # doctest: +SKIP
        1
        """
        return self._execute(Call(QUERIES["memory_begin_bulk_load"], {}, _ident))

    def memory_finish_bulk_load(self, *, maintenance_work_mem: str | None = None,
                                parallel_workers: int | None = None) -> int:
        """End a bulk load (admin): rebuilds the indexes :meth:`memory_begin_bulk_load` dropped,
        with ``maintenance_work_mem`` (default '1GB') and ``parallel_workers`` (default 2) for
        these builds only; returns how many memories there are. Raises InvalidArgument (ZA002)
        for a bad setting, MemoryStoreError (ZA212) when no bulk load is in progress."""
        p = _clean(dict(maintenance_work_mem=maintenance_work_mem, parallel_workers=parallel_workers))
        return self._execute(Call(QUERIES["memory_finish_bulk_load"], p, _ident))

    def memory_configure_vector_index(self, kind: str, *, lists: int | None = None, probes: int | None = None,
                                      rebuild: bool | None = None, maintenance_work_mem: str | None = None,
                                      parallel_workers: int | None = None,
                                      ef_search: int | None = None,
                                      halfvec: bool | None = None, m: int | None = None,
                                      ef_construction: int | None = None) -> VectorIndexSettings:
        """Choose the vector index (admin): ``kind`` 'hnsw' (the default) with ``ef_search`` (None:
        100), or 'ivfflat' with ``lists`` (None: rows / 1000) and ``probes`` (None: sqrt(lists));
        ``halfvec=True`` indexes the embeddings as 16-bit floats (False: as floats; None keeps
        the storage configured); ``m`` / ``ef_construction`` build the HNSW graph (None keeps
        the configured ones while the kind stays 'hnsw', else 16 / 64). Rebuilds the index now unless
        ``rebuild=False`` and the kind and halfvec are unchanged (docs/memory.md, "Choosing the
        vector index"). Raises InvalidMemoryArgument (ZA350 kind, ZA351 lists / probes / ef_search / m /
        ef_construction).

        >>> admin.memory_configure_vector_index("ivfflat").kind                   # doctest: +SKIP
        'ivfflat'
        """
        p = _clean(dict(kind=kind, lists=lists, probes=probes, rebuild=rebuild,
                        maintenance_work_mem=maintenance_work_mem, parallel_workers=parallel_workers,
                        ef_search=ef_search, halfvec=halfvec, m=m, ef_construction=ef_construction))
        return self._execute(Call(QUERIES["memory_configure_vector_index"], p, _row(VectorIndexSettings)))

    def memory_vector_index_status(self) -> VectorIndexStatus:
        """The vector index: kind, lists, probes or ef_search, rows it was trained on, and whether to rebuild."""
        return self._execute(Call(QUERIES["memory_vector_index_status"], {}, _row(VectorIndexStatus)))

    def grant_memory_namespace(self, role_name: str, namespace: str, *,
                               can_write: bool | None = None) -> None:
        """Let ``role_name`` (and its members) read the memories of ``namespace`` (``'*'``: every
        namespace), and change them with ``can_write=True``; granting again replaces
        ``can_write``. animus_admin only (docs/security.md). Raises InvalidArgument for an
        unknown role (ZA320) or a bad namespace (ZA321).

        >>> admin.grant_memory_namespace("agent_7", "agent-7", can_write=True)   # doctest: +SKIP
        """
        p = _clean(dict(role_name=role_name, namespace=namespace, can_write=can_write))
        return self._execute(Call(QUERIES["grant_memory_namespace"], p, _none))

    def revoke_memory_namespace(self, role_name: str, namespace: str) -> bool:
        """Remove the grant of ``namespace`` to ``role_name``; True when there was one."""
        p = dict(role_name=role_name, namespace=namespace)
        return self._execute(Call(QUERIES["revoke_memory_namespace"], _clean(p), _ident))

    # ------------------------------------------------------------------ operations
    def health(self) -> list[HealthCheck]:
        """Every health check (``animus.health()``): the database, the deployed version, per
        queue backlog / oldest_age_sec / running / dead / stuck, the BM25 backlog, replication
        lag on a standby; each ``status`` ok, warn or fail against its thresholds."""
        return self._execute(Call(QUERIES["health"], {}, _rows(HealthCheck)))

    def deployed_version(self) -> str:
        """The animus version deployed in the database (the Sqitch registry, else the install's)."""
        return self._execute(Call(QUERIES["deployed_version"], {}, _ident))

    def set_health_threshold(self, check_name: str, *, warn_at: float | None = None,
                             fail_at: float | None = None, queue: str | None = None) -> HealthThreshold:
        """Set a health check's thresholds for every queue (``queue`` None: ``'*'``) or one queue;
        None: that level is never reached. animus_admin only."""
        p = _clean(dict(check_name=check_name, queue=queue))
        p["warn_at"], p["fail_at"] = warn_at, fail_at
        return self._execute(Call(QUERIES["set_health_threshold"], p, _row(HealthThreshold)))

    def list_dead_work(self, queue: str | None = None, *, page_size: int | None = None,
                       before: datetime | None = None) -> list[DeadWork]:
        """Dead items not yet retried or discarded, newest death first (a page: ``before`` =
        the last ``dead_at``)."""
        p = _clean(dict(queue=queue, page_size=page_size, before=before))
        return self._execute(Call(QUERIES["list_dead_work"], p, _rows(DeadWork), queue))

    def retry_dead_work(self, work_id: UUID, *, delay: Any = None) -> DeadRetry:
        """Submit a dead item's work again (the dead item keeps its history). animus_admin only.
        Raises WorkNotDead (ZA165), DeadWorkHandled (ZA166), WorkNotFound (ZA102)."""
        p = _clean(dict(work_id=work_id, delay=delay))
        return self._execute(Call(QUERIES["retry_dead_work"], p, _row(DeadRetry)))

    def discard_dead_work(self, work_id: UUID) -> bool:
        """Mark a dead item handled without retrying it. animus_admin only. Raises WorkNotDead
        (ZA165), DeadWorkHandled (ZA166), WorkNotFound (ZA102)."""
        return self._execute(Call(QUERIES["discard_dead_work"], dict(work_id=work_id), _ident))

    def queue_depth_history(self, queue: str | None = None, *, since: Any = None,
                            buckets: int | None = None) -> list[DepthPoint]:
        """Open items of each queue over the last ``since`` (seconds or timedelta; default an
        hour) in ``buckets`` points (default 60)."""
        p = _clean(dict(queue=queue, since=since, buckets=buckets))
        return self._execute(Call(QUERIES["queue_depth_history"], p, _rows(DepthPoint), queue))

    def memory_namespace_stats(self) -> list[NamespaceStats]:
        """Per memory namespace in the caller's read scope: counts, bytes, first/last writes."""
        return self._execute(Call(QUERIES["memory_namespace_stats"], {}, _rows(NamespaceStats)))

    def memory_bm25_configure(self, *, k1: float | None = None, b: float | None = None,
                              postings_budget: int | None = None,
                              max_postings_budget: int | None = None,
                              rescore_extra: int | None = None,
                              refresh_after: int | None = None) -> BM25Settings:
        """Change BM25 keyword-ranking settings (an argument left None keeps its value) and return
        them all (docs/bm25.md). Raises InvalidMemoryArgument (ZA280) for a value out of range.

        >>> client.memory_bm25_configure(k1=1.5).k1                               # doctest: +SKIP
        1.5
        """
        p = _clean(dict(k1=k1, b=b, postings_budget=postings_budget,
                        max_postings_budget=max_postings_budget, rescore_extra=rescore_extra,
                        refresh_after=refresh_after))
        return self._execute(Call(QUERIES["memory_bm25_configure"], p, _row(BM25Settings)))


def adapt(q: Query, params: dict[str, Any]) -> list[Any]:
    """Python values -> what psycopg should send (jsonb wrappers, vector literals), in the order
    of ``params`` (the order :meth:`Query.sql` numbers the placeholders in)."""
    if q.required or q.ints:
        check_arguments(q, params)
    out = []
    jsonb = q.jsonb
    intervals = q.intervals
    for k, v in params.items():
        if k in jsonb:
            if not isinstance(v, Jsonb):
                v = Jsonb(v)
        elif k == "outcomes":
            v = [Jsonb(o) for o in v]
        elif k in ("embedding", "query_embedding"):
            v = to_vector_literal(v)
        elif k in intervals and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = timedelta(seconds=v)
        out.append(v)
    return out


def check_arguments(q: Query, params: Mapping[str, Any]) -> None:
    """Refuse, before the call, a required argument left ``None`` (absent from ``params``) and an
    integer argument that is not an ``int`` or does not fit its SQL type: otherwise the server
    finds no function for the types sent (42883) and cannot say which argument is wrong.

    >>> from animus.queries import QUERIES
    >>> check_arguments(QUERIES["search_memory_text"], {"query": "x", "k": 2.5})
    Traceback (most recent call last):
    ...
    animus.errors.ArgumentTypeError: search_memory_text: k must be an int (SQL integer), got float 2.5
    """
    get = params.get
    for k in q.required:
        if get(k) is None:
            raise ArgumentTypeError(f"{q.name}: {k} is required, got None")
    for k, bits in q.ints:
        v = get(k)
        if v is None:
            continue
        limit = _INT_LIMITS[bits]
        if type(v) is not int:
            if not isinstance(v, int) or isinstance(v, bool):
                raise ArgumentTypeError(f"{q.name}: {k} must be an int (SQL {_INT_TYPES[bits]}), "
                                        f"got {type(v).__name__} {_short(v)}")
        if not -limit <= v < limit:
            raise ArgumentValueError(f"{q.name}: {k} must fit in a SQL {_INT_TYPES[bits]} "
                                     f"({-limit}..{limit - 1}), got {v}")


_INT_LIMITS = {32: 1 << 31, 64: 1 << 63}
_INT_TYPES = {32: "integer", 64: "bigint"}


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# Run when a call fails with 42883 (undefined function): is schema animus there, and a function
# of that name? Only when neither is missing is NotDeployed wrong: the arguments' types are.
DEPLOYED_SQL = ("SELECT pg_catalog.to_regnamespace('animus') IS NOT NULL AS schema_exists, EXISTS (SELECT FROM "
                "pg_catalog.pg_proc WHERE pronamespace = pg_catalog.to_regnamespace('animus') "
                "AND proname = %s) AS function_exists")


def undefined_function_error(q: Query, params: Mapping[str, Any], err: AnimusError,
                             deployed: tuple[bool, bool] | None) -> AnimusError:
    """What a 42883 of call ``q`` means, given ``deployed`` = (schema exists, function exists)
    from :data:`DEPLOYED_SQL` (None when that check itself failed: the server's error stands)."""
    if deployed is None:
        return err
    schema, function = deployed
    if not schema:
        return NotDeployed("schema animus does not exist in this database: deploy it "
                           "(sqitch deploy, or psql -f sql/animus.sql)", sqlstate=err.sqlstate,
                           function=err.function)
    if not function:
        return NotDeployed(f"function {q.qualified} does not exist: this database has an older "
                           "animus; deploy the current version (sqitch deploy)",
                           sqlstate=err.sqlstate, function=err.function)
    given = ", ".join(f"{k}: {type(v).__name__}" for k, v in params.items()
                      if k != "trace_context")
    return ArgumentTypeError(f"{q.name}: no form of {q.qualified} takes arguments of these types "
                             f"({given}): check the type of each argument",
                             sqlstate=err.sqlstate, hint=err.hint, function=err.function)


_NAMES: dict[tuple[bytes, ...], tuple[str, ...]] = {}


def shape_result(q: Query, cur, rows: list[tuple]) -> Any:
    """What the query's ``post`` function gets: for a scalar query the value (None without a
    row); otherwise ``(column names, tuples)``. The names are read from each result itself (a
    function whose columns changed is mapped by its new names), decoded once per column list."""
    if q.shape == "scalar":
        return rows[0][0] if rows else None
    res = cur.pgresult
    raw = tuple(map(res.fname, range(res.nfields)))
    names = _NAMES.get(raw)
    if names is None:
        names = _NAMES[raw] = tuple(n.decode() for n in raw)
    return names, rows


class PooledConnection(psycopg.Connection):
    """A pool connection keeping the tuple-row cursors for the client's calls: a cursor per call
    costs its construction and a row maker (~10 µs of a 0.5 ms call). The connection's own
    row factory (dict rows) is untouched for code using ``client.pool`` directly."""

    __slots__ = ("_call_cursors",)

    def call_cursor(self, q: Query) -> psycopg.Cursor:
        curs = getattr(self, "_call_cursors", None)
        if curs is None:
            curs = self._call_cursors = [None, None]
        cur = curs[q.infinite]
        if cur is None or cur.closed:
            cur = curs[q.infinite] = _cursor_for(self, q.infinite)
        return cur


class AsyncPooledConnection(psycopg.AsyncConnection):
    """:class:`PooledConnection` for the async pool."""

    __slots__ = ("_call_cursors",)

    call_cursor = PooledConnection.call_cursor


class Telemetry:
    """Starts and ends the span and records the metrics of one call (hot path: kept lean)."""

    __slots__ = ("inst", "server", "dbname", "_static")

    def __init__(self, inst: Instruments, server: Mapping[str, Any], dbname: str | None = None) -> None:
        self.inst = inst
        self.server = dict(server)
        self.dbname = dbname
        self._static: dict[tuple[str, str | None], tuple[str, dict[str, Any], dict[str, Any], tuple]] = {}

    def _describe(self, q: Query, queue: str | None):
        """(span name, span attributes, metric attributes, their tally key), made once per
        query and queue."""
        key = (q.name, queue)
        hit = self._static.get(key)
        if hit is None:
            if q.kind == "db":
                attrs = db_attrs(q.qualified, self.server)
                if self.dbname:
                    attrs["db.namespace"] = self.dbname
                name = attrs["db.query.summary"]
                metric = dict(attrs)
                metric.pop("db.query.summary")
            else:
                attrs = messaging_attrs(q.kind, q.name, queue, self.server)
                name = f"{q.kind} {queue}" if queue else q.kind
                metric = {k: v for k, v in attrs.items() if k != "server.port"}
            hit = (name, attrs, metric, tuple(metric.items()))
            self._static[key] = hit
        return hit

    def begin(self, call: Call):
        q = call.query
        desc = self._describe(q, call.queue)
        name, attrs = desc[0], desc[1]
        kind = q.kind
        if kind == "receive":
            # A receive span is made only when the read returned messages (or failed), back-dated
            # to the call's start (see _late_span): an idle worker's empty polls make no spans.
            return None, desc, time.perf_counter()
        span = self.inst.tracer.start_span(name, kind=SPAN_KIND[kind], attributes=attrs)
        if kind == "send":
            # also when sampled out: the worker's link still names the submitter's trace
            trace_context = _traceparent(span.get_span_context())
            if trace_context is not None:
                call.params["trace_context"] = trace_context
        return span, desc, time.perf_counter()

    def activate(self, span):
        """The context manager making ``span`` current during the call (nothing when deferred)."""
        return _NO_SPAN if span is None else trace.use_span(span, end_on_exit=False)

    @staticmethod
    def attach(span):
        """Make ``span`` current; returns the token for :meth:`detach` (None when deferred).

        Cheaper than :meth:`activate` (no generator context manager); the failure paths record
        the error on the span themselves (:meth:`fail`, :meth:`abort`)."""
        return None if span is None else _attach(_set_value(_SPAN_KEY, span))

    @staticmethod
    def detach(token) -> None:
        if token is not None:
            _detach(token)

    def _late_span(self, call: Call, t0: float):
        """The deferred receive span, started at the call's start time."""
        name, attrs, _, _ = self._describe(call.query, call.queue)
        start_ns = time.time_ns() - int((time.perf_counter() - t0) * 1e9)
        return self.inst.tracer.start_span(name, kind=SPAN_KIND[call.query.kind], attributes=attrs,
                                           start_time=start_ns)

    def ok(self, call: Call, span, desc, t0: float, result: Any) -> None:
        elapsed = time.perf_counter() - t0
        kind = call.query.kind
        _, _, metric, key = desc
        inst = self.inst
        if kind == "db":
            inst.record_later(inst.db_duration, elapsed, metric)
        else:
            inst.record_later(inst.messaging_duration, elapsed, metric)
            if kind == "send":
                inst.sent_messages.add(call.message_count, metric, key)
            elif kind == "receive":
                if not result:
                    return   # empty read: the duration metric only, no span
                inst.consumed_messages.add(len(result), metric, key)
                if span is None:
                    span = self._late_span(call, t0)
        if span.is_recording():
            # result attributes and the end, with this end time, on the telemetry thread
            defer(_finish, span, call, result, time.time_ns())
        else:
            span.end()

    def abort(self, call: Call, span, t0: float, exc: BaseException) -> None:
        """A failure that is not the database's (bad Python value, cancellation)."""
        _abort(span if span is not None else self._late_span(call, t0), exc)

    def fail(self, call: Call, span, desc, t0: float, err: AnimusError) -> None:
        elapsed = time.perf_counter() - t0
        error_type = err.sqlstate or type(err).__name__
        attrs = dict(desc[2])
        attrs["error.type"] = error_type
        inst = self.inst
        if call.query.kind == "db":
            if err.sqlstate:
                attrs["db.response.status_code"] = err.sqlstate
            inst.record_later(inst.db_duration, elapsed, attrs)
        else:
            inst.record_later(inst.messaging_duration, elapsed, attrs)
        if span is None:
            span = self._late_span(call, t0)
        if span.is_recording():
            span.set_attribute("error.type", error_type)
            if err.sqlstate:
                span.set_attribute("db.response.status_code", err.sqlstate)
            # Only the primary message: DETAIL may quote an argument's value.
            span.add_event("exception", {"exception.type": f"animus.{type(err).__name__}",
                                         "exception.message": err.message})
            span.set_status(Status(StatusCode.ERROR, f"{err.sqlstate or ''} {err.message}".strip()))
        span.end()


class WaitSpan:
    """The span (and duration metric) of one ``wait`` / ``wait_many``: messaging conventions,
    operation ``wait`` (type receive: the caller receives the item's result), kind CLIENT."""

    __slots__ = ("tel", "span", "t0", "attrs", "single")

    def __init__(self, tel: Telemetry, work_ids: Sequence[Any], single: bool) -> None:
        attrs = messaging_attrs("receive", "wait", None, tel.server)
        metric = {k: v for k, v in attrs.items() if k != "server.port"}
        span_attrs = dict(attrs)
        if single:
            span_attrs["animus.work.id"] = str(work_ids[0])
        else:
            span_attrs["messaging.batch.message_count"] = len(work_ids)
        self.tel = tel
        self.attrs = metric
        self.single = single
        self.span = tel.inst.tracer.start_span("wait", kind=SPAN_KIND["receive"], attributes=span_attrs)
        self.t0 = time.perf_counter()

    def _record(self, attrs: dict[str, Any]) -> None:
        inst = self.tel.inst
        inst.record_later(inst.messaging_duration, time.perf_counter() - self.t0, attrs)

    def ok(self, results: Sequence[WaitResult]) -> None:
        self._record(self.attrs)
        span = self.span
        if span.is_recording() and self.single and results:
            if results[0].state:
                span.set_attribute("animus.work.state", results[0].state)
            if results[0].canonical_id is not None:
                span.set_attribute("animus.work.canonical_id", str(results[0].canonical_id))
        span.end()

    def fail(self, exc: BaseException) -> None:
        error_type = getattr(exc, "sqlstate", None) or type(exc).__name__
        attrs = dict(self.attrs)
        attrs["error.type"] = error_type
        self._record(attrs)
        span = self.span
        if span.is_recording():
            span.set_attribute("error.type", error_type)
            state = getattr(exc, "state", None)
            if state:
                span.set_attribute("animus.work.state", state)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()


def check_wait_timeout(timeout: Any) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ArgumentTypeError(f"wait: timeout must be seconds (int or float) or None, got {type(timeout).__name__}")
    if timeout < 0:
        raise ArgumentValueError(f"wait: timeout must not be negative, got {timeout}")


_NO_SPAN = contextlib.nullcontext()
_SPAN_KEY = _trace_span_key
_attach, _detach, _set_value = _context.attach, _context.detach, _context.set_value


def _traceparent(sc) -> Jsonb | None:
    """The ``trace_context`` argument for span context ``sc``: what the W3C propagator would
    inject, as jsonb (None when invalid). Built directly, no Context object, no propagator round
    trip and, without a tracestate, no JSON encoder: this runs on every submit."""
    if not sc.is_valid:
        return None
    traceparent = f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"
    if sc.trace_state:
        return Jsonb({"traceparent": traceparent, "tracestate": sc.trace_state.to_header()})
    return Jsonb(f'{{"traceparent": "{traceparent}"}}', dumps=str)   # hex digits: nothing to escape


def _abort(span, exc: BaseException) -> None:
    if span.is_recording():
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
    span.end()


def _finish(span, call: Call, result: Any, end_ns: int) -> None:
    _result_attrs(span, call, result)
    span.end(end_ns)


# The state a successful call of these scalar-returning settle functions leaves the item in
# (cancel_work returns false for an item cancelled already: cancelled all the same).
_SETTLED_STATE = {"complete_work": "completed", "cancel_work": "cancelled", "release_work": "queued"}


def _result_attrs(span, call: Call, result: Any) -> None:
    """Attributes known only from the result, set in one call (one lock in the SDK)."""
    kind = call.query.kind
    a: dict[str, Any] = {}
    if kind == "send":
        if isinstance(result, SubmitResult):
            if result.msg_id is not None:
                a["messaging.message.id"] = str(result.msg_id)
            if result.work_id is not None:
                a["animus.work.id"] = str(result.work_id)
            if result.status:
                a["animus.work.status"] = result.status
        elif isinstance(result, list):
            a["messaging.batch.message_count"] = len(result)
    elif kind == "receive" and isinstance(result, list):
        a["messaging.batch.message_count"] = len(result)
        if len(result) == 1 and result[0].msg_id is not None:
            a["messaging.message.id"] = str(result[0].msg_id)
    elif kind == "settle":
        wid = call.params.get("work_id")
        if wid is not None:
            a["animus.work.id"] = str(wid)
        elif call.params.get("work_ids") is not None:
            a["messaging.batch.message_count"] = call.message_count   # work_ids may be a literal
        if isinstance(result, SettleResult) and result.state:
            a["animus.work.state"] = result.state
        elif isinstance(result, HeartbeatResult) and result.state:
            a["animus.work.state"] = result.state
        elif result is not None and call.query.name in _SETTLED_STATE:
            a["animus.work.state"] = _SETTLED_STATE[call.query.name]
    elif kind == "db" and isinstance(result, list):
        a["db.response.returned_rows"] = len(result)
    if a:
        span.set_attributes(a)


class _ReplicaFailed(Exception):
    """Internal: a read-only call failed on a replica for want of the server (the client retries
    it on the primary; see animus.replicas)."""


def replica_telemetry(inst: Instruments, dsn) -> "Telemetry":
    """The telemetry of calls answered by replica ``dsn``: its server.address / server.port and
    ``animus.db.replica = true`` on their spans and metrics."""
    server = server_attrs(dsn)
    server["animus.db.replica"] = True
    return Telemetry(inst, server, dsn.dbname)


def with_replicas(config, replicas: Any):
    """``config`` with ``replicas`` (a URL, comma-separated URLs, a list; None keeps the
    configured ones, ``[]`` removes them) as its replica_urls."""
    if replicas is None:
        return config
    import dataclasses

    from animus.config import replica_dsns
    return dataclasses.replace(config, replica_urls=replica_dsns(replicas))


def server_attrs(dsn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    host = dsn.host
    if host and "," not in host:
        out["server.address"] = host
        if dsn.port:
            out["server.port"] = dsn.port
    return out
