"""Durable steps, sleeps and event waits inside a work handler (docs/durable.md).

The database keeps the record (``animus.start_step`` / ``finish_step``, ``sleep_work``,
``await_event``); this module is the handler-side half, in a sync form (a :class:`~animus.Client`)
and an async form (an :class:`~animus.AsyncClient`, functions ending in ``_async``). Handlers
reach it through the worker's context::

    def onboard(item, ctx):
        profile = ctx.step("fetch_profile", fetch_profile, item.params["user"])  # once per item
        ctx.sleep(3600)                                   # the item is given back for an hour
        decision = ctx.wait_for_event(f"approval:{item.id}", timeout=86400)
        return {"profile": profile, "approved": decision["approved"]}

Rules the functions follow:

- A step is keyed by the item, its name and its **occurrence**: the n-th step of that name in one
  run of the handler (counted per context, so a loop calling ``ctx.step("page", ...)`` records
  ``page`` 1, 2, 3...). A handler must call its steps in the same order on every run.
- A completed step returns its recorded result without running; a step that raised runs again on
  the next attempt (the exception propagates: the worker fails the attempt as usual).
- Results are stored as JSON: the value returned (on the first run too) is the JSON round trip of
  what ``fn`` returned (a tuple comes back as a list). A value JSON cannot hold (a datetime, a set,
  NaN) is recorded as a failure of the step and raises ``TypeError``.
- The fingerprint of a step is ``fn``'s ``module.qualname``: reusing a name and occurrence for
  another function raises :class:`~animus.StepReused` (ZA113).
- ``sleep`` / ``sleep_until`` / ``wait_for_event`` raise :class:`~animus.WorkSuspended` (a
  ``BaseException``) when the item was given back; the worker ends the handler without settling
  the item, which runs again from the start when its time or event comes, replaying its steps.
- Each call is an INTERNAL span ``step <name>`` (a child of the worker's ``process`` span) with
  ``animus.step.name``, ``animus.step.occurrence``, ``animus.step.kind`` and
  ``animus.step.replayed``.

The context passed in is anything with ``item`` (``id``, ``attempts``: the claim), ``client``
(sync) or ``aclient`` (async), and ``occurrences`` (a dict); :class:`Context` is a minimal one for
code that claims items itself, the worker's :class:`~animus.WorkContext` is another.
"""
from __future__ import annotations

import contextlib
import json
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from opentelemetry.trace import SpanKind, Status, StatusCode

from animus.errors import EventTimeout, WorkSuspended

__all__ = ["Context", "fingerprint", "step", "sleep", "sleep_until", "wait_for_event",
           "step_async", "sleep_async", "sleep_until_async", "wait_for_event_async"]


@dataclass
class Context:
    """A durable context for an item claimed with ``read_work`` outside the Worker: ``item`` is
    the claimed :class:`~animus.WorkItem` (its ``attempts`` is the claim token)."""

    item: Any
    client: Any = None
    aclient: Any = None
    occurrences: dict[str, int] = field(default_factory=dict)
    suspended: bool = False

    def _suspend_guard(self) -> Any:
        return contextlib.nullcontext()

    def _mark_suspended(self) -> None:
        self.suspended = True


def fingerprint(fn: Callable[..., Any]) -> str | None:
    """``module.qualname`` of ``fn`` (of the function a ``functools.partial`` wraps)."""
    target = getattr(fn, "func", fn)
    qualname = getattr(target, "__qualname__", None) or getattr(type(target), "__qualname__", None)
    module = getattr(target, "__module__", None) or getattr(type(target), "__module__", None)
    if not qualname:
        return None
    return f"{module}.{qualname}" if module else qualname


def _next(ctx: Any, name: str) -> int:
    occ = ctx.occurrences.get(name, 0) + 1
    ctx.occurrences[name] = occ
    return occ


def _error_text(exc: BaseException, limit: int = 4000) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:limit] or type(exc).__name__


def _encode(name: str, value: Any) -> Any:
    """The JSON round trip of ``value``; TypeError naming the step when JSON cannot hold it."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"step {name!r}: its result is not JSON-serialisable ({exc}); return JSON "
                        f"values (dict, list, str, int, float, bool, None)") from exc


def _span(client: Any, name: str, occ: int, kind: str):
    return client._tel.inst.tracer.start_as_current_span(
        f"step {name}", kind=SpanKind.INTERNAL,
        attributes={"animus.step.name": name, "animus.step.occurrence": occ, "animus.step.kind": kind},
        record_exception=False, set_status_on_exception=False)


def _seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, timedelta) else value


def _suspended(work_id: Any, resume_at: Any, reason: str, span: Any) -> WorkSuspended:
    span.set_attribute("animus.work.suspended", True)
    return WorkSuspended(work_id, resume_at, reason)


# ----------------------------------------------------------------------------------- sync forms
def step(ctx: Any, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` once for this item as step ``name``; later runs of the handler
    get its recorded result back without running it."""
    client, item = ctx.client, ctx.item
    occ = _next(ctx, name)
    with _span(client, name, occ, "step") as span:
        started = client.start_step(item.id, name, item.attempts, occurrence=occ, fingerprint=fingerprint(fn))
        span.set_attribute("animus.step.replayed", bool(started.done))
        if started.done:
            return started.result
        try:
            value = _encode(name, fn(*args, **kwargs))
        except Exception as exc:
            client.finish_step(item.id, name, item.attempts, occurrence=occ, error=_error_text(exc))
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            raise
        client.finish_step(item.id, name, item.attempts, result=value, occurrence=occ)
        return value


def sleep(ctx: Any, seconds: float | timedelta, *, name: str = "sleep") -> None:
    """Durable sleep of ``seconds`` from the first call: the item is given back (WorkSuspended)
    until then; the run after the resume goes on past it. Negative: InvalidWorkArgument (ZA117)."""
    _sleep(ctx, name, delay=_seconds(seconds))


def sleep_until(ctx: Any, when: datetime, *, name: str = "sleep") -> None:
    """Durable sleep until ``when`` (an aware datetime), as :func:`sleep`."""
    _sleep(ctx, name, wake_at=when)


def _sleep(ctx: Any, name: str, **when: Any) -> None:
    client, item = ctx.client, ctx.item
    occ = _next(ctx, name)
    with _span(client, name, occ, "sleep") as span:
        with ctx._suspend_guard():
            res = client.sleep_work(item.id, item.attempts, step_name=name, occurrence=occ, **when)
            if res.suspended:
                ctx._mark_suspended()
        span.set_attribute("animus.step.replayed", not res.suspended)
        if res.suspended:
            raise _suspended(item.id, res.resume_at, "sleep", span)


def wait_for_event(ctx: Any, key: str, timeout: float | timedelta | None = None, *,
                   name: str | None = None) -> Any:
    """The payload of event ``key`` of the item's queue (``animus.emit_event``), emitted before or
    after the call. Until it comes the item is given back (WorkSuspended); past ``timeout``
    seconds from the first call: :class:`~animus.EventTimeout`."""
    client, item = ctx.client, ctx.item
    name = name or f"event:{key}"
    occ = _next(ctx, name)
    with _span(client, name, occ, "event") as span:
        with ctx._suspend_guard():
            res = client.await_event(item.id, item.attempts, key, timeout=_seconds(timeout),
                                     step_name=name, occurrence=occ)
            if res.status == "suspended":
                ctx._mark_suspended()
        return _event_outcome(ctx, key, res, span)


def _event_outcome(ctx: Any, key: str, res: Any, span: Any) -> Any:
    span.set_attribute("animus.step.replayed", res.status != "suspended")
    if res.status == "received":
        return res.payload
    if res.status == "timeout":
        span.set_attribute("animus.event.timeout", True)
        raise EventTimeout(f"event {key!r} was not emitted before the wait's timeout", event_key=key)
    raise _suspended(ctx.item.id, None, "event", span)


# ---------------------------------------------------------------------------------- async forms
async def step_async(ctx: Any, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """:func:`step` with ``ctx.aclient``; ``fn`` may be a coroutine function or a plain one."""
    client, item = ctx.aclient, ctx.item
    occ = _next(ctx, name)
    with _span(client, name, occ, "step") as span:
        started = await client.start_step(item.id, name, item.attempts, occurrence=occ,
                                          fingerprint=fingerprint(fn))
        span.set_attribute("animus.step.replayed", bool(started.done))
        if started.done:
            return started.result
        try:
            value = fn(*args, **kwargs)
            if hasattr(value, "__await__"):
                value = await value
            value = _encode(name, value)
        except Exception as exc:
            await client.finish_step(item.id, name, item.attempts, occurrence=occ, error=_error_text(exc))
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            raise
        await client.finish_step(item.id, name, item.attempts, result=value, occurrence=occ)
        return value


async def sleep_async(ctx: Any, seconds: float | timedelta, *, name: str = "sleep") -> None:
    """:func:`sleep` with ``ctx.aclient``."""
    await _sleep_async(ctx, name, delay=_seconds(seconds))


async def sleep_until_async(ctx: Any, when: datetime, *, name: str = "sleep") -> None:
    """:func:`sleep_until` with ``ctx.aclient``."""
    await _sleep_async(ctx, name, wake_at=when)


async def _sleep_async(ctx: Any, name: str, **when: Any) -> None:
    client, item = ctx.aclient, ctx.item
    occ = _next(ctx, name)
    with _span(client, name, occ, "sleep") as span:
        # No lock held across the await: an async worker marks the item suspended itself.
        res = await client.sleep_work(item.id, item.attempts, step_name=name, occurrence=occ, **when)
        span.set_attribute("animus.step.replayed", not res.suspended)
        if res.suspended:
            ctx._mark_suspended()
            raise _suspended(item.id, res.resume_at, "sleep", span)


async def wait_for_event_async(ctx: Any, key: str, timeout: float | timedelta | None = None, *,
                               name: str | None = None) -> Any:
    """:func:`wait_for_event` with ``ctx.aclient``."""
    client, item = ctx.aclient, ctx.item
    name = name or f"event:{key}"
    occ = _next(ctx, name)
    with _span(client, name, occ, "event") as span:
        res = await client.await_event(item.id, item.attempts, key, timeout=_seconds(timeout),
                                       step_name=name, occurrence=occ)
        if res.status == "suspended":
            ctx._mark_suspended()
        return _event_outcome(ctx, key, res, span)
