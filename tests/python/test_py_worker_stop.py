"""How a handler learns it should stop (``ctx.cancelled``, a bool, and ``ctx.stop_reason``), what
the worker logs when it releases an item at shutdown, heartbeats that never race a completion,
and settings the Worker refuses or failures it stops on."""
from __future__ import annotations

import logging
import threading
import time

import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from animus_fixtures import wait_for, run_worker



def state_of(conn, work_id):
    return conn.execute("SELECT state, attempts, error, outcome, released FROM animus.work_items "
                        "WHERE id = %s", [work_id]).fetchone()



class Cooperative:
    """A handler written as docs/python.md shows: it checks ``if ctx.cancelled:`` and returns."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.returned = threading.Event()
        self.seen: list = []

    def __call__(self, item: animus.WorkItem, ctx: animus.WorkContext):
        self.seen.append(("start", ctx.cancelled, ctx.stop_reason))
        self.started.set()
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if ctx.cancelled:
                self.seen.append(("stop", ctx.cancelled, ctx.stop_reason))
                self.returned.set()
                return {"stopped": True}        # must not become the item's outcome
            time.sleep(0.02)
        self.returned.set()
        return {"ran": "to the end"}


def test_ctx_cancelled_is_false_while_running_and_true_after_cancel_work(client, conn, queue_name):
    job = Cooperative()
    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=1,
                           visibility_timeout=3, heartbeat_interval=0.2, poll_interval=0.2)
    t = run_worker(worker)
    try:
        r = client.submit_work("job", "test", queue=queue_name)
        assert job.started.wait(10)
        time.sleep(0.5)                                   # a few heartbeats: still running
        assert job.seen == [("start", False, None)] and not job.returned.is_set()
        assert client.cancel_work(r.work_id)
        assert job.returned.wait(10)
        assert job.seen[1] == ("stop", True, "cancelled")
        time.sleep(0.3)
        state, _, _, outcome, _ = state_of(conn, r.work_id)
        assert (state, outcome) == ("cancelled", None)    # not completed with the early return
        assert worker.processed == 0
    finally:
        worker.stop()
        t.join(10)


def test_ctx_cancelled_turns_true_at_the_handler_timeout(client, conn, queue_name):
    job = Cooperative()
    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=1,
                           visibility_timeout=10, poll_interval=0.2, handler_timeout=0.5)
    t = run_worker(worker)
    try:
        r = client.submit_work("job", "test", queue=queue_name, max_attempts=1)
        assert job.returned.wait(10)
        assert job.seen == [("start", False, None), ("stop", True, "timeout")]
        st = wait_for(lambda: (s := state_of(conn, r.work_id))[0] == "dead" and s)
        assert st and st[2].startswith("animus.HandlerTimeout: ") and st[3] is None
    finally:
        worker.stop()
        t.join(10)


def test_shutdown_releases_the_item_says_so_and_sets_ctx_cancelled(client, conn, queue_name, caplog):
    job = Cooperative()
    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=1,
                           visibility_timeout=30, poll_interval=0.2, shutdown_timeout=0.2)
    caplog.set_level(logging.INFO, logger="animus.worker")
    t = run_worker(worker)
    r = client.submit_work("job", "test", queue=queue_name)
    assert job.started.wait(10)
    worker.stop()                                          # what SIGTERM does
    t.join(10)
    assert not t.is_alive() and job.returned.wait(10)
    assert job.seen == [("start", False, None), ("stop", True, "shutdown")]
    state, attempts, _, outcome, released = state_of(conn, r.work_id)
    assert (state, attempts, outcome, released) == ("queued", 1, None, 1)
    mine = lambda: [m for m in caplog.messages if str(r.work_id) in m]  # noqa: E731
    assert wait_for(lambda: any("not completing it" in m for m in mine()), 5)
    assert any("released at shutdown" in m for m in mine()), mine()
    assert not any("was cancelled" in m for m in mine()), mine()


def test_a_heartbeat_never_follows_the_completion_it_raced(client, conn, queue_name, caplog, monkeypatch):
    """The completion is held open for 0.3 s while heartbeats are due every 10 ms: a heartbeat
    sent after it (refused, ZA104) used to be read as a cancellation and logged as one. The
    worker settles through its AsyncClient (single and batch forms): both are slowed."""
    import asyncio

    for name in ("complete_work", "complete_work_many"):
        real = getattr(animus.AsyncClient, name)

        async def slow_settle(self, *args, _real=real, **kwargs):
            ok = await _real(self, *args, **kwargs)
            await asyncio.sleep(0.3)          # the window a heartbeat of the ended item fell into
            return ok

        monkeypatch.setattr(animus.AsyncClient, name, slow_settle)   # the real call, then a pause
    contexts: list[animus.WorkContext] = []

    def job(item, ctx):
        contexts.append(ctx)
        time.sleep(0.05)                  # heartbeats run while the handler does
        return {"ok": True}

    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=2,
                           visibility_timeout=5, heartbeat_interval=0.01, poll_interval=0.2)
    caplog.set_level(logging.INFO, logger="animus.worker")
    t = run_worker(worker)
    try:
        ids = [client.submit_work("job", "test", queue=queue_name).work_id for _ in range(4)]
        assert wait_for(lambda: worker.processed == 4, 20)
    finally:
        worker.stop()
        t.join(10)
    assert all(state_of(conn, i)[0] == "completed" for i in ids)
    assert [m for m in caplog.messages if "heartbeat" in m] == []
    assert [c.cancelled for c in contexts] == [False] * 4


def test_many_short_items_at_concurrency_8_log_no_refused_heartbeat(client, conn, queue_name, caplog):
    worker = animus.Worker(client, {"noop": lambda item: None}, queue=queue_name, concurrency=8,
                           visibility_timeout=5, heartbeat_interval=0.002, poll_interval=0.2)
    caplog.set_level(logging.WARNING, logger="animus.worker")
    client.submit_work_batch([{"work_type": "noop", "source": "test"} for _ in range(400)],
                             queue=queue_name)
    t = run_worker(worker)
    try:
        assert wait_for(lambda: worker.processed == 400, 60)
    finally:
        worker.stop()
        t.join(10)
    assert [m for m in caplog.messages if "heartbeat" in m] == []


@pytest.mark.parametrize("kwargs,name", [
    ({"concurrency": 0}, "concurrency"), ({"concurrency": -3}, "concurrency"),
    ({"concurrency": 2.5}, "concurrency"), ({"visibility_timeout": -5}, "visibility_timeout"),
    ({"visibility_timeout": 0}, "visibility_timeout"), ({"poll_interval": 0}, "poll_interval"),
    ({"heartbeat_interval": -1}, "heartbeat_interval"), ({"shutdown_timeout": -1}, "shutdown_timeout"),
    ({"notify_throttle": "soon"}, "notify_throttle"), ({"handler_timeout": "x"}, "handler_timeout"),
])
def test_the_worker_refuses_bad_settings_naming_them(client, kwargs, name):
    with pytest.raises(ValueError, match=name):
        animus.Worker(client, {"job": lambda item: None}, **kwargs)


def test_the_worker_stops_on_an_unknown_queue_instead_of_retrying(client):
    worker = animus.Worker(client, {"job": lambda item: None}, queue="no_such_queue_here",
                           poll_interval=0.2)
    raised: list[BaseException] = []

    def run():
        try:
            worker.run(install_signal_handlers=False)
        except BaseException as exc:
            raised.append(exc)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():                      # still retrying: stop it, then fail
        worker.stop()
        t.join(10)
        pytest.fail("the worker kept retrying read_work on a queue that does not exist")
    assert len(raised) == 1 and isinstance(raised[0], animus.QueueNotFound)
