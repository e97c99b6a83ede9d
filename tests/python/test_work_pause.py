"""Queue pause (animus.pause_queue / resume_queue): a paused queue accepts submissions and hands out
nothing, proved against concurrent claimers and a running Worker; resume wakes idle workers at once
(not at their fallback poll). Plus the client API and its errors."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

import animus
from animus_fixtures import client, otel, queue_name, run_worker, wait_for  # noqa: F401


def test_pause_takes_effect_for_every_claim_that_starts_after_it(db_url, conn, queue_name):
    """Four claimer sessions read in a loop while items keep arriving; once pause_queue has
    committed, no read_work call that starts afterwards returns an item (even with work waiting);
    after resume_queue they drain the backlog."""
    conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s::jsonb, queue => %s)",
                 ['[' + ','.join(['{"work_type": "t", "source": "s"}'] * 400) + ']', queue_name])
    stop = threading.Event()
    paused_at: list[float] = []
    calls: list[tuple[float, int]] = []      # (monotonic start of the call, items returned)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer():
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                while not stop.is_set():
                    t0 = time.monotonic()
                    ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work(%s, qty => 3)", [queue_name])]
                    if ids:
                        c.execute("SELECT count(*) FROM animus.complete_work(%s::uuid[])", [ids])
                    with lock:
                        calls.append((t0, len(ids)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        assert wait_for(lambda: sum(n for _, n in calls) >= 30, 20), "the claimers did not start"
        conn.execute("SELECT animus.pause_queue(%s)", [queue_name])
        paused_at.append(time.monotonic())
        # work keeps arriving while paused
        conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s::jsonb, queue => %s)",
                     ['[' + ','.join(['{"work_type": "t", "source": "late"}'] * 50) + ']', queue_name])
        assert wait_for(lambda: sum(1 for t0, _ in calls if t0 > paused_at[0]) >= 40, 20)
        after = [n for t0, n in calls if t0 > paused_at[0]]
        assert after and sum(after) == 0, f"{sum(after)} items handed out after the pause"
        queued = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'queued'",
                              [queue_name]).fetchone()[0]
        assert queued >= 50, "the backlog (and the submissions made while paused) waits"
        assert conn.execute("SELECT bool_and(paused) FROM animus.queue_stats(%s)", [queue_name]).fetchone()[0] is True
        conn.execute("SELECT animus.resume_queue(%s)", [queue_name])
        assert wait_for(lambda: conn.execute(
            "SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state <> 'completed'",
            [queue_name]).fetchone()[0] == 0, 30), "the backlog was not drained after the resume"
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors[0]


def test_worker_on_a_paused_queue_runs_nothing_and_resume_wakes_it(client, conn, queue_name):
    done: list[int] = []
    worker = animus.Worker(client, {"job": lambda item: done.append(item.params["n"])}, queue=queue_name,
                           concurrency=2, visibility_timeout=10, poll_interval=60)
    assert client.pause_queue(queue_name) is True
    for n in range(5):
        client.submit_work("job", "test", params={"n": n}, queue=queue_name)
    t = run_worker(worker)
    try:
        # the worker is up: it listens for wake-ups (and has read the paused queue: nothing)
        assert wait_for(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%animus_work%%' AND state = 'idle'").fetchone()[0] >= 1, 10)
        assert not wait_for(lambda: done, 1.0), "an item of a paused queue ran"
        assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'queued'",
                            [queue_name]).fetchone()[0] == 5
        t0 = time.monotonic()
        assert client.resume_queue(queue_name) is True
        assert wait_for(lambda: len(done) == 5, 10), "the worker did not run the backlog after resume"
        # woken by resume_queue's NOTIFY, not by the 60 s fallback poll
        assert time.monotonic() - t0 < 10 and worker.wakeups["poll"] == 0
        assert sorted(done) == list(range(5))
    finally:
        worker.stop()
        t.join(30)


def test_client_pause_api_and_errors(client, db_url, queue_name):
    assert client.pause_queue(queue_name) is True
    assert client.pause_queue(queue_name) is False
    stats = client.queue_stats(queue_name)
    assert stats and all(s.paused for s in stats) and all(s.paused_at is not None for s in stats)
    assert client.resume_queue(queue_name) is True
    assert client.resume_queue(queue_name) is False
    assert not any(s.paused for s in client.queue_stats(queue_name))
    with pytest.raises(animus.QueueNotFound):
        client.pause_queue("no_such_queue_x")
    with pytest.raises(animus.QueueNotFound):
        client.resume_queue("no_such_queue_x")
    # a worker role may not pause (EXECUTE is animus_admin's)
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("SET ROLE animus_worker")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT animus.pause_queue(%s)", [queue_name])
