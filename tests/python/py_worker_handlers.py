"""Handlers for the worker tests that run `animus worker` in a real subprocess.

Each handler logs to table ``py_worker_log`` (created by the test) what it started and finished,
with the worker's pid, so a test can prove which worker did an item and how often.
"""
from __future__ import annotations

import os
import time

import psycopg


def _log(item, event: str) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as c:
        c.execute("INSERT INTO py_worker_log (work_id, pid, event) VALUES (%s, %s, %s)",
                  [item.id, os.getpid(), event])


def slow(item):
    """Logs 'start', sleeps params.seconds, logs 'done', returns the pid as outcome."""
    _log(item, "start")
    time.sleep(float(item.params.get("seconds", 1)))
    _log(item, "done")
    return {"pid": os.getpid()}


HANDLERS = {"slow": slow}


def two_steps(item, ctx):
    """Durable steps (docs/durable.md): step one logs 'step1'; between the steps the first attempt
    logs 'between' and hangs (to be SIGKILLed there); step two logs 'step2'."""
    one = ctx.step("one", lambda: _log(item, "step1") or 1)
    if item.attempts == 1:
        _log(item, "between")
        time.sleep(60)
    two = ctx.step("two", lambda: _log(item, "step2") or 2)
    return {"one": one, "two": two, "pid": os.getpid()}


HANDLERS["two_steps"] = two_steps


_TALLY_CONN = None


def tally(items):
    """A batch handler: logs 'done' for every item of the batch in one INSERT (with the worker's
    pid), returns the pid as each item's outcome."""
    global _TALLY_CONN
    if _TALLY_CONN is None:
        _TALLY_CONN = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    _TALLY_CONN.execute("INSERT INTO py_worker_log (work_id, pid, event) SELECT x, %s, 'done' FROM unnest(%s::uuid[]) x",
                        [os.getpid(), [i.id for i in items]])
    return [{"pid": os.getpid()}] * len(items)


BATCH_HANDLERS = {"tally": tally}
