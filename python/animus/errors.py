"""Exceptions: SQLSTATEs raised by the database mapped to a small hierarchy.

Every exception raised by a client call is an :class:`AnimusError`. Those that come from the
database carry ``sqlstate``, ``detail`` and ``hint`` as PostgreSQL sent them (``animus`` puts the
offending value in DETAIL only where that is safe). A merged duplicate submission is *not* an
error: ``submit_work`` returns it with ``status == "merged"``.

::

    AnimusError
    ├── ConfigError                 missing/malformed configuration (raised before any I/O)
    ├── ConnectionFailed            the server cannot be reached, refused the login, or ended the
    │                               session (57P01-57P03, class 08): retry on a new connection
    ├── NotDeployed                 schema animus / a function is missing: deploy first
    │                               (42883 only when the function really is absent)
    ├── PermissionDenied            the role lacks EXECUTE (42501)
    ├── HandlerTimeout              names a worker handler's attempt failed for its time limit
    ├── WaitError                   client.wait: the awaited item did not complete
    │   ├── WorkFailed              it ended dead (``error``: its last error)
    │   ├── WorkCancelled           it was cancelled
    │   └── WaitTimeout             also a TimeoutError: it had not ended within the timeout
    └── DatabaseError               anything else the server raised
        ├── InvalidArgument         every ZA0xx (null/empty, out of range, bad JSON, bad option),
        │   │                       ZA320/ZA321 (a namespace grant's unknown role, bad namespace)
        │   ├── ArgumentTypeError   also a TypeError: a Python value of the wrong type, or None
        │   │                       for a required argument (raised before the call), or a
        │   │                       42883 from a deployed function (no form takes those types)
        │   └── ArgumentValueError  also a ValueError: an integer outside its SQL type's range
        ├── NotFound                QueueNotFound ZA101, WorkNotFound ZA102, MemoryNotFound ZA207,
        │                           ConcurrencyLimitNotFound ZA128, ScheduleNotFound ZA136
        ├── InvalidState            WorkNotRunning ZA103, WorkAlreadyEnded ZA104,
        │                           IllegalTransition ZA105, StaleClaim ZA108,
        │                           WorkNotDead ZA165, DeadWorkHandled ZA166,
        │                           StepNotRunning ZA114, MemoryStateError ZA209/ZA210
        ├── WorkError               every ZA1xx (QueueExists ZA106, InvalidWorkArgument ZA107,
        │                           ZA115-ZA119, ZA125-ZA127, ZA129 and ZA155, StepReused ZA113,
        │                           InvalidSchedule ZA130-ZA134 and ZA137-ZA140, ScheduleExists
        │                           ZA135, and the work classes above)
        └── MemoryStoreError        every ZA2xx (InvalidMemoryArgument ZA201-ZA208 with its
                                    DimensionMismatch ZA200, and the memory classes above)

Durable handlers (animus.durable) also see :class:`EventTimeout` (an ``AnimusError``: a wait for
an event passed its timeout) and :class:`WorkSuspended`, a ``BaseException`` (not an
``Exception``: a handler's ``except Exception`` cannot swallow it) raised by ``ctx.sleep`` and
``ctx.wait_for_event`` when the item was given back to the queue.

Classes of the two areas inherit from both their area and their kind, e.g. ``WorkNotRunning`` is
an ``InvalidState`` and a ``WorkError``.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "AnimusError", "ConfigError", "ConnectionFailed", "NotDeployed", "PermissionDenied",
    "DatabaseError", "InvalidArgument", "ArgumentTypeError", "ArgumentValueError",
    "DimensionMismatch", "NotFound", "InvalidState", "WorkError", "MemoryStoreError",
    "NonRetryable", "WorkSuspended", "QueueNotFound", "WorkNotFound", "WorkNotRunning",
    "WorkAlreadyEnded", "IllegalTransition", "StaleClaim", "QueueExists", "InvalidWorkArgument",
    "ConcurrencyLimitNotFound", "MemoryNotFound", "InvalidMemoryArgument", "MemoryStateError",
    "HandlerTimeout", "from_psycopg", "WaitError", "WorkFailed", "WorkCancelled", "WaitTimeout",
    "StepReused", "StepNotRunning", "EventTimeout", "ScheduleNotFound", "ScheduleExists",
    "InvalidSchedule", "WorkNotDead", "DeadWorkHandled", "SQLSTATE_CLASSES"
]


class AnimusError(Exception):
    """Base of every animus exception."""

    sqlstate: str | None = None
    detail: str | None = None
    hint: str | None = None

    def __init__(self, message: str, *, sqlstate: str | None = None, detail: str | None = None,
                 hint: str | None = None, function: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint
        self.function = function

    def __str__(self) -> str:
        parts = [self.message]
        if self.sqlstate:
            parts[0] = f"[{self.sqlstate}] {self.message}"
        if self.detail:
            parts.append(f"DETAIL: {self.detail}")
        if self.hint:
            parts.append(f"HINT: {self.hint}")
        return "\n".join(parts)


class ConfigError(AnimusError):
    """The configuration is missing or malformed."""


class ConnectionFailed(AnimusError):
    """The database cannot be reached, or refused the login."""


class NotDeployed(AnimusError):
    """Schema ``animus`` or one of its functions does not exist in this database."""


class PermissionDenied(AnimusError):
    """The connected role may not execute this function (grant it one of the animus roles)."""


class DatabaseError(AnimusError):
    """An error raised by the server that has no more specific class."""


class InvalidArgument(DatabaseError):
    """Bad input, rejected by the database or, for a wrong Python type, by the client before the
    call (nothing was written)."""


class ArgumentTypeError(InvalidArgument, TypeError):
    """An argument of the wrong Python type, or ``None`` for a required one; names the argument.

    Raised by the client before the call (``sqlstate`` None), or from SQLSTATE 42883 when the
    function is deployed but takes no argument of that type (``sqlstate`` '42883').

    >>> import animus
    >>> issubclass(animus.ArgumentTypeError, TypeError)
    True
    """


class ArgumentValueError(InvalidArgument, ValueError):
    """An integer outside the range of its SQL type (e.g. ``priority=2**31`` for an ``integer``),
    refused before the call; names the argument."""


class NotFound(DatabaseError):
    """The work item, queue or memory does not exist."""


class InvalidState(DatabaseError):
    """The call is not legal in the item's current state (e.g. completing an item not running)."""


class WorkError(DatabaseError):
    """Another work-queue error (SQLSTATE ZA1xx)."""


class MemoryStoreError(DatabaseError):
    """Another memory error (SQLSTATE ZA2xx)."""


class QueueNotFound(NotFound, WorkError):
    """ZA101: the named work queue does not exist."""


class WorkNotFound(NotFound, WorkError):
    """ZA102: no work item has the given id."""


class WorkNotRunning(InvalidState, WorkError):
    """ZA103: the item is not running, so it cannot be completed, failed or heartbeated."""


class WorkAlreadyEnded(InvalidState, WorkError):
    """ZA104: the item already ended (a stale second completion, a cancelled item...)."""


class IllegalTransition(InvalidState, WorkError):
    """ZA105: a state change not in animus.work_state_transitions."""


class StaleClaim(InvalidState, WorkError):
    """ZA108: the claim (``attempt``) passed is no longer the item's current one: its visibility
    timeout expired and it was claimed again. Drop the result; nothing was written."""


class QueueExists(WorkError):
    """ZA106: create_queue for a queue that exists (pass if_not_exists=True)."""


class InvalidWorkArgument(InvalidArgument, WorkError):
    """ZA107 (invalid queue name) and other bad input specific to the work queue."""


class ConcurrencyLimitNotFound(NotFound, WorkError):
    """ZA128: drop_concurrency_limit named a (queue, key) without a limit."""
class StepReused(InvalidWorkArgument):
    """ZA113: a durable step's name and occurrence is used with a different meaning than the one
    recorded (another function, another kind, another event key)."""


class StepNotRunning(InvalidState, WorkError):
    """ZA114: finish_step for a step this claim has not started (or finished already)."""


class WorkNotDead(InvalidState, WorkError):
    """ZA165: retry_dead_work / discard_dead_work of an item that is not dead."""


class DeadWorkHandled(InvalidState, WorkError):
    """ZA166: the dead item was retried or discarded already (animus.dead_work_actions)."""


class EventTimeout(AnimusError, TimeoutError):
    """``ctx.wait_for_event(key, timeout=...)``: the event was not emitted before the deadline
    (recorded: a later run of the handler sees the same timeout)."""

    def __init__(self, message: str, *, event_key: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.event_key = event_key


class WorkSuspended(BaseException):
    """Raised by ``ctx.sleep`` / ``ctx.sleep_until`` / ``ctx.wait_for_event`` when the item was
    given back to the queue (queued, not a failed attempt) until ``resume_at`` (``None``: until
    an event, without timeout). The worker lets it end the handler without settling the item.

    A ``BaseException``: a handler's ``except Exception`` does not swallow it; let it propagate.
    """

    def __init__(self, work_id: Any = None, resume_at: Any = None, reason: str = "given back") -> None:
        super().__init__(f"work item {work_id} suspended ({reason}) until {resume_at}")
        self.work_id = work_id
        self.resume_at = resume_at
        self.reason = reason
class ScheduleNotFound(NotFound, WorkError):
    """ZA136: no schedule has the given name (or it is on a queue the caller may not use)."""


class ScheduleExists(WorkError):
    """ZA135: create_schedule with the name of an existing schedule."""


class InvalidSchedule(InvalidArgument, WorkError):
    """ZA130-ZA134, ZA137-ZA140: a malformed cron expression, an unknown time zone, a bad
    interval, policy or name (the message names the argument, and for cron the field and token)."""


class MemoryNotFound(NotFound, MemoryStoreError):
    """ZA207: no memory has the given id."""


class InvalidMemoryArgument(InvalidArgument, MemoryStoreError):
    """ZA201-ZA206, ZA208: a bad embedding, empty content, a malformed filter or batch;
    ZA216-ZA224: a bad expiry, supersession, visibility, group, link, graph depth, review grade
    or time, or boost weight; ZA225-ZA227: an unregistered model, a dimension that does not match,
    a bad model name; ZA228: an unknown fusion."""


class DimensionMismatch(InvalidMemoryArgument):
    """ZA200: an embedding does not have the dimension the memories table was deployed with."""


class MemoryStateError(InvalidState, MemoryStoreError):
    """ZA209/ZA210: the call does not fit the embedding (re-embedding) state."""


class HandlerTimeout(AnimusError):
    """A worker handler ran past its ``handler_timeout``: the worker failed the attempt (retryable;
    dead at max attempts) and abandoned the handler's thread.

    The worker does not raise it into the handler (a thread cannot be interrupted); its name marks
    the item's ``error`` (``animus.HandlerTimeout: handler for 'x' still running after …``) and the
    ``error.type`` of the ``process`` span. ``str(HandlerTimeout(...))`` is that error text.
    """

    def __str__(self) -> str:
        return f"animus.HandlerTimeout: {self.message}"


class WaitError(AnimusError):
    """``client.wait``: the awaited work item did not complete. ``work_id`` is the id waited for,
    ``canonical_id`` the item it resolved to (a merged submission's canonical item), ``state``
    its state then."""

    def __init__(self, message: str, *, work_id: Any = None, canonical_id: Any = None,
                 state: str | None = None, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.work_id = work_id
        self.canonical_id = canonical_id
        self.state = state
        self.error = error


class WorkFailed(WaitError):
    """The awaited item ended dead (out of attempts, or failed not retryable); ``error`` is the
    error it was dead-lettered with."""


class WorkCancelled(WaitError):
    """The awaited item was cancelled (``animus.cancel_work``)."""


class WaitTimeout(WaitError, TimeoutError):
    """The awaited item had not ended when the wait's timeout passed (``state``: its state then).
    Nothing changed: wait again, or cancel it."""


class NonRetryable(Exception):
    """Raise (or subclass) this in a worker handler to dead-letter the item at once."""


# Exact codes first (kept in step with animus.error_codes / docs/errors.md), then ranges.
SQLSTATE_CLASSES: dict[str, type[AnimusError]] = {
    "ZA001": InvalidArgument, "ZA002": InvalidArgument, "ZA003": InvalidArgument,
    "ZA004": InvalidArgument, "ZA010": NotDeployed, "ZA011": NotDeployed,
    "ZA101": QueueNotFound, "ZA102": WorkNotFound, "ZA103": WorkNotRunning,
    "ZA104": WorkAlreadyEnded, "ZA105": IllegalTransition, "ZA106": QueueExists,
    "ZA107": InvalidWorkArgument, "ZA108": StaleClaim,
    "ZA125": InvalidWorkArgument, "ZA126": InvalidWorkArgument, "ZA127": InvalidWorkArgument,
    "ZA128": ConcurrencyLimitNotFound, "ZA129": InvalidWorkArgument,
    "ZA155": InvalidWorkArgument,   # wait_work: timeout NULL or negative (ZA156, not READ COMMITTED: WorkError)
    "ZA113": StepReused, "ZA114": StepNotRunning, "ZA115": InvalidWorkArgument,
    "ZA116": InvalidWorkArgument, "ZA117": InvalidWorkArgument, "ZA118": InvalidWorkArgument,
    "ZA119": InvalidWorkArgument,
    "ZA130": InvalidSchedule, "ZA131": InvalidSchedule, "ZA132": InvalidSchedule, "ZA133": InvalidSchedule,
    "ZA134": InvalidSchedule, "ZA135": ScheduleExists, "ZA136": ScheduleNotFound, "ZA137": InvalidSchedule,
    "ZA138": InvalidSchedule, "ZA139": InvalidSchedule, "ZA140": InvalidSchedule,
    "ZA163": InvalidWorkArgument, "ZA164": InvalidWorkArgument, "ZA165": WorkNotDead,
    "ZA166": DeadWorkHandled, "ZA167": InvalidWorkArgument, "ZA168": InvalidWorkArgument,
    "ZA200": DimensionMismatch, "ZA207": MemoryNotFound,
    "ZA209": MemoryStateError, "ZA210": MemoryStateError,
    # lifecycle, sharing, links, review: bad expiry, supersession, visibility, group, link, depth, grade, time, boost
    "ZA216": InvalidMemoryArgument, "ZA217": InvalidMemoryArgument, "ZA218": InvalidMemoryArgument,
    "ZA219": InvalidMemoryArgument, "ZA220": InvalidMemoryArgument, "ZA221": InvalidMemoryArgument,
    "ZA222": InvalidMemoryArgument, "ZA223": InvalidMemoryArgument, "ZA224": InvalidMemoryArgument,
    # embedding models: not registered, dimension, name
    "ZA225": InvalidMemoryArgument, "ZA226": InvalidMemoryArgument, "ZA227": InvalidMemoryArgument,
    "ZA228": InvalidMemoryArgument,   # hybrid_search: unknown fusion, or alpha without fusion => 'convex'
    "ZA320": InvalidArgument, "ZA321": InvalidArgument,   # namespace grants: no such role, bad namespace
    "ZA350": InvalidMemoryArgument, "ZA351": InvalidMemoryArgument,   # vector index: kind, lists / probes
    "42501": PermissionDenied,
    "3F000": NotDeployed,   # invalid_schema_name: schema animus missing
    "42883": NotDeployed,   # undefined_function
    "42P01": NotDeployed,   # undefined_table
    # The server ended the session (pg_terminate_backend, a fast/immediate shutdown, a crash) or is
    # still starting: the connection is gone, not the request wrong -- retry on a new connection.
    "57P01": ConnectionFailed,   # admin_shutdown
    "57P02": ConnectionFailed,   # crash_shutdown
    "57P03": ConnectionFailed,   # cannot_connect_now
}


def register_codes(mapping: dict[str, type[AnimusError]]) -> None:
    SQLSTATE_CLASSES.update(mapping)


def _class_for(sqlstate: str | None) -> type[AnimusError]:
    if not sqlstate:
        return DatabaseError
    cls = SQLSTATE_CLASSES.get(sqlstate)
    if cls is not None:
        return cls
    if sqlstate.startswith("ZA0"):
        return InvalidArgument
    if sqlstate.startswith("ZA1"):
        return WorkError
    if sqlstate.startswith("ZA2"):
        return InvalidMemoryArgument
    if sqlstate.startswith("08"):
        return ConnectionFailed
    if sqlstate.startswith("28"):
        return ConnectionFailed
    return DatabaseError


def from_psycopg(exc: BaseException, *, function: str | None = None,
                 scrub: Any = None) -> AnimusError:
    """Map a psycopg exception to an :class:`AnimusError` (message scrubbed of the password)."""
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(exc, "sqlstate", None) or (diag.sqlstate if diag is not None else None)
    message = (diag.message_primary if diag is not None else None) or str(exc).strip() or type(exc).__name__
    detail = diag.message_detail if diag is not None else None
    hint = diag.message_hint if diag is not None else None
    if scrub is not None:
        message = scrub(message)
        detail = scrub(detail) if detail else detail
        hint = scrub(hint) if hint else hint
    cls = _class_for(sqlstate)
    if sqlstate is None:
        import psycopg

        if isinstance(exc, psycopg.OperationalError):
            cls = ConnectionFailed
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint, function=function)
