"""animus.Worker against the real queue: wake-up, complete, retry, dead-letter, heartbeats,
graceful SIGTERM, and SIGKILL mid-item (a real subprocess) losing nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from animus_fixtures import wait_for, run_worker

HERE = Path(__file__).resolve().parent


class Boom(Exception):
    pass


class Fatal(animus.NonRetryable):
    pass



def state_of(conn, work_id):
    return conn.execute("SELECT state, attempts, error, outcome FROM animus.work_items WHERE id = %s",
                        [work_id]).fetchone()



def test_worker_completes_retries_and_dead_letters(client, conn, queue_name):
    # A retry backoff far longer than the test: the failed item stays queued at attempt 1 however
    # slowly the machine runs (with the default 2 s backoff a later wake-up of the worker could
    # claim it again before the test looked, moving it on to attempt 2, 3, dead).
    client.configure_queue(queue_name, backoff_base=120, backoff_jitter=0)

    def ok(item):
        return {"echo": item.params["x"]}

    def flaky(item):
        raise Boom("transient")

    def fatal(item):
        raise Fatal("bad input, never retry")

    worker = animus.Worker(client, {"ok": ok, "flaky": flaky, "fatal": fatal}, queue=queue_name,
                           concurrency=2, visibility_timeout=10, poll_interval=30)
    t = run_worker(worker)
    try:
        a = client.submit_work("ok", "test", params={"x": 42}, queue=queue_name)
        b = client.submit_work("flaky", "test", queue=queue_name, max_attempts=3)
        c = client.submit_work("fatal", "test", queue=queue_name, max_attempts=3)
        assert wait_for(lambda: state_of(conn, a.work_id)[0] == "completed", 60)
        assert state_of(conn, a.work_id)[3] == {"echo": 42}
        st = wait_for(lambda: (s := state_of(conn, b.work_id))[1] >= 1 and s[0] == "queued" and s, 60)
        assert st, f"the flaky item was not failed back to the queue: {state_of(conn, b.work_id)}"
        assert st[:2] == ("queued", 1) and "Boom: transient" in st[2]    # back in the queue...
        retry_in = conn.execute(                                           # ...after the backoff
            "SELECT run_at - clock_timestamp() FROM animus.work_items WHERE id = %s",
            [b.work_id]).fetchone()[0].total_seconds()
        assert 90 < retry_in <= 120
        st = wait_for(lambda: (s := state_of(conn, c.work_id))[0] == "dead" and s, 60)
        assert st, f"the fatal item was not dead-lettered: {state_of(conn, c.work_id)}"
        assert st[1] == 1 and "Fatal" in st[2]                       # dead at the first attempt
        assert wait_for(lambda: (worker.processed, worker.failed) == (1, 2), 30)
    finally:
        worker.stop()
        t.join(30)
    assert not t.is_alive()


def test_worker_wakes_on_notify_not_on_poll(client, conn, queue_name):
    seen = threading.Event()
    worker = animus.Worker(client, {"ping": lambda item: seen.set()}, queue=queue_name,
                           concurrency=1, visibility_timeout=10, poll_interval=60)
    t = run_worker(worker)
    try:
        time.sleep(0.5)   # the worker has done its first (empty) read and is waiting
        t0 = time.monotonic()
        client.submit_work("ping", "test", queue=queue_name)
        assert seen.wait(5), "the worker did not wake up"
        assert time.monotonic() - t0 < 5 and worker.wakeups["poll"] == 0
        assert worker.wakeups["notify"] >= 1
    finally:
        worker.stop()
        t.join(10)


def test_an_item_submitted_inside_the_throttle_window_does_not_wait_for_the_poll(client, conn, queue_name):
    """The database sends at most one wake-up per queue per notify_throttle: an item submitted
    just after a wake-up gets none. The worker reads again when the window has passed, so the
    item runs within about the throttle, not after the fallback poll (60 s here)."""
    client.configure_queue(queue_name, notify_throttle=4)
    started, release, done = threading.Event(), threading.Event(), threading.Event()
    at_item_2: dict = {}

    def job(item):
        if item.params["n"] == 1:
            started.set()
            release.wait(60)    # holds its slot: no slot-freed read can pick up item 2
        else:
            at_item_2.update(worker.wakeups)   # what led to item 2's claim (its own return frees a slot)
            done.set()

    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=2,
                           visibility_timeout=30, poll_interval=60, notify_throttle=4)
    t = run_worker(worker)
    try:
        time.sleep(0.5)                     # the worker has done its first (empty) read
        client.submit_work("job", "test", params={"n": 1}, queue=queue_name)   # wakes the worker
        assert started.wait(30)
        client.submit_work("job", "test", params={"n": 2}, queue=queue_name)   # inside the window
        assert done.wait(30), "the second item waited for the fallback poll"
        assert at_item_2["poll"] == 0 and at_item_2["slot"] == 0
        assert at_item_2["notify"] == 1 and at_item_2["recheck"] == 1
    finally:
        release.set()
        worker.stop()
        t.join(30)


def test_heartbeats_keep_a_long_item_claimed(client, conn, queue_name):
    runs = []

    def long(item):
        runs.append(item.attempts)
        time.sleep(3.5)          # well past the 1.5 s visibility timeout
        return {"ok": True}

    w1 = animus.Worker(client, {"long": long}, queue=queue_name, concurrency=1,
                       visibility_timeout=1.5, poll_interval=0.2)
    w2 = animus.Worker(client, {"long": long}, queue=queue_name, concurrency=1,
                       visibility_timeout=1.5, poll_interval=0.2)
    t1, t2 = run_worker(w1), run_worker(w2)
    try:
        r = client.submit_work("long", "test", queue=queue_name)
        assert wait_for(lambda: state_of(conn, r.work_id)[0] == "completed", 15)
        assert runs == [1] and state_of(conn, r.work_id)[1] == 1   # never redelivered
    finally:
        w1.stop(); w2.stop()
        t1.join(10); t2.join(10)


def test_a_worker_frozen_past_its_timeout_cannot_complete_an_item_another_worker_claimed(
        client, conn, queue_name, caplog):
    """Claim fencing: the frozen worker's completion carries its attempt (1); the item was claimed
    again (attempt 2) and completed by the second worker, so the late completion raises StaleClaim
    (logged, not written) and the item is completed exactly once."""
    started = threading.Event()
    runs = []

    def job(item):
        runs.append(item.attempts)
        if item.attempts == 1:
            started.set()
            time.sleep(3.0)      # frozen: no heartbeat (interval 60 s) past the 1 s timeout
        return {"attempt": item.attempts}

    frozen = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=1,
                           visibility_timeout=1, heartbeat_interval=60, poll_interval=0.2)
    caplog.set_level("WARNING", logger="animus.worker")
    t1 = run_worker(frozen)
    t2 = other = None
    try:
        r = client.submit_work("job", "test", queue=queue_name)
        assert started.wait(10)
        other = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=1,
                              visibility_timeout=10, poll_interval=0.2)
        t2 = run_worker(other)
        assert wait_for(lambda: state_of(conn, r.work_id)[0] == "completed", 10)
        assert wait_for(lambda: any("stale claim" in m for m in caplog.messages), 10), \
            "the frozen worker's late completion was not refused"
        state, attempts, _, outcome = state_of(conn, r.work_id)
        assert (state, attempts, outcome) == ("completed", 2, {"attempt": 2})   # the second's result
        assert sorted(runs) == [1, 2]
        assert wait_for(lambda: (frozen.processed, other.processed) == (0, 1), 30)
        assert any(str(r.work_id) in m and "stale claim" in m for m in caplog.messages)
    finally:
        frozen.stop()
        if other is not None:
            other.stop()
        t1.join(10)
        if t2 is not None:
            t2.join(10)


def test_a_hung_handler_is_failed_at_its_time_limit_and_the_retry_completes_once(
        client, conn, queue_name, caplog):
    """A handler that hangs (its process healthy, heartbeats would keep the claim forever) is
    failed as retryable after handler_timeout, no longer heartbeated; the retry completes the item
    at attempt 2; when the hung handler finally returns, its result is dropped, never settled."""
    client.configure_queue(queue_name, backoff_base=0.2, backoff_jitter=0)
    hang = threading.Event()
    runs = []

    def job(item):
        runs.append(item.attempts)
        if item.attempts == 1:
            hang.wait(120)       # "forever": until the test lets it go
            return {"attempt": 1, "late": True}
        return {"attempt": item.attempts}

    # the visibility timeout (30 s) is far beyond the test's waits: the retry comes from the
    # handler time limit (3 s: ample for attempt 2 to return on a loaded machine), not from an
    # expired claim; heartbeats every 10 s, so the limit is enforced between them
    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=2,
                           visibility_timeout=30, poll_interval=0.2, handler_timeout=3)
    caplog.set_level("INFO", logger="animus.worker")
    t = run_worker(worker)
    try:
        r = client.submit_work("job", "test", queue=queue_name, max_attempts=3)
        assert wait_for(lambda: state_of(conn, r.work_id)[0] == "completed", 60)
        state, attempts, error, outcome = state_of(conn, r.work_id)
        assert (state, attempts, outcome) == ("completed", 2, {"attempt": 2})
        assert runs == [1, 2] and worker.timed_out == 1 and worker.hung == 1
        assert any(str(r.work_id) in m and "timed out after 3s at attempt 1" in m for m in caplog.messages)
        hang.set()                                   # the hung handler returns at last
        assert wait_for(lambda: any(str(r.work_id) in m and "result dropped" in m
                                    for m in caplog.messages), 30)
        assert wait_for(lambda: worker.hung == 0, 30)
        assert state_of(conn, r.work_id)[:2] + (state_of(conn, r.work_id)[3],) == \
            ("completed", 2, {"attempt": 2})         # settled once, by attempt 2
        assert wait_for(lambda: worker.processed == 1, 30)
    finally:
        hang.set()
        worker.stop()
        t.join(30)
    assert not t.is_alive()


def test_a_handler_that_always_hangs_is_dead_lettered_and_hung_threads_keep_their_slots(
        client, conn, queue_name):
    client.configure_queue(queue_name, backoff_base=0.2, backoff_jitter=0)
    hang = threading.Event()
    runs = []

    def stuck(item):
        runs.append(item.attempts)
        hang.wait(120)
        return {"late": True}

    worker = animus.Worker(client, {"stuck": stuck, "ok": lambda item: {"ok": True}},
                           queue=queue_name, concurrency=2, visibility_timeout=30,
                           poll_interval=0.2, handler_timeouts={"stuck": 1})
    assert worker.timeout_for("stuck") == 1 and worker.timeout_for("ok") == 300   # 10 x 30 s
    t = run_worker(worker)
    try:
        r = client.submit_work("stuck", "test", queue=queue_name, max_attempts=2)
        st = wait_for(lambda: (s := state_of(conn, r.work_id))[0] == "dead" and s, 60)
        assert st, f"not dead-lettered: {state_of(conn, r.work_id)}"
        assert st[1] == 2 and "HandlerTimeout" in st[2] and runs == [1, 2]
        # both hung threads still hold their slots: nothing more is claimed, however long we wait
        assert wait_for(lambda: worker.hung == 2, 30)
        other = client.submit_work("ok", "test", queue=queue_name)
        time.sleep(1.5)                                        # ~7 polls of 0.2 s
        assert state_of(conn, other.work_id)[:2] == ("queued", 0)
        hang.set()                                             # the hung handlers return...
        assert wait_for(lambda: state_of(conn, other.work_id)[0] == "completed", 60)  # slots free
        assert state_of(conn, r.work_id)[:2] == ("dead", 2)   # ...and their results are dropped
        assert wait_for(lambda: worker.processed == 1, 30) and worker.timed_out == 2
    finally:
        hang.set()
        worker.stop()
        t.join(30)
    assert not t.is_alive()


def test_a_handler_abandoned_at_shutdown_never_settles_its_released_item(client, conn, queue_name, caplog):
    """After a release the abandoned handler must not settle: the worker does not try (it marked the
    item released), and the database would refuse it anyway (the next claim has a new token)."""
    started, finish = threading.Event(), threading.Event()

    def job(item):
        started.set()
        finish.wait(10)
        return {"by": "abandoned"}

    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=1,
                           visibility_timeout=30, poll_interval=0.2, shutdown_timeout=0.1)
    caplog.set_level("INFO", logger="animus.worker")
    t = run_worker(worker)
    r = client.submit_work("job", "test", queue=queue_name)
    assert started.wait(10)
    worker.stop()
    t.join(10)
    assert not t.is_alive()
    assert state_of(conn, r.work_id)[:2] == ("queued", 1)            # released (the claim does not count)
    [again] = client.read_work(queue_name, vt=30)                     # someone else claims it
    assert again.attempts == 2                                        # a new claim token
    finish.set()                                                      # the abandoned handler returns
    assert wait_for(lambda: any(str(r.work_id) in m and "not completing it" in m for m in caplog.messages), 5)
    state, attempts, _, outcome = state_of(conn, r.work_id)
    assert (state, attempts, outcome) == ("running", 2, None)         # untouched: the new claim's
    assert client.complete_work(again.id, outcome={"by": "new"}, attempt=again.attempts)


@pytest.fixture
def worker_log(conn):
    conn.execute("CREATE TABLE IF NOT EXISTS py_worker_log (work_id uuid, pid int, event text, "
                 "at timestamptz DEFAULT clock_timestamp())")
    conn.execute("GRANT ALL ON py_worker_log TO PUBLIC")
    yield
    conn.execute("DROP TABLE IF EXISTS py_worker_log")


def spawn_worker(db_url: str, queue: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(HERE)}
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    return subprocess.Popen([sys.executable, "-m", "animus.cli", "worker", "py_worker_handlers:HANDLERS",
                             "--queue", queue, "--no-telemetry", "--concurrency", "1", *extra],
                            env=env, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def log_rows(conn, work_id):
    return conn.execute("SELECT pid, event FROM py_worker_log WHERE work_id = %s ORDER BY at",
                        [work_id]).fetchall()


def test_sigkill_mid_item_loses_nothing_and_another_worker_completes_it_once(
        client, conn, queue_name, worker_log, db_url):
    first = spawn_worker(db_url, queue_name, "--visibility-timeout", "2", "--poll-interval", "0.5")
    second = None
    try:
        r = client.submit_work("slow", "test", params={"seconds": 1.0}, queue=queue_name)
        # the first worker starts the item ... and is killed in the middle of it
        assert wait_for(lambda: log_rows(conn, r.work_id), 20), "first worker never started"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert state_of(conn, r.work_id)[0] == "running"
        second = spawn_worker(db_url, queue_name, "--visibility-timeout", "5", "--poll-interval", "0.5")
        assert wait_for(lambda: state_of(conn, r.work_id)[0] == "completed", 30)
        time.sleep(1.0)   # give a (wrong) second completion the chance to show up
        rows = log_rows(conn, r.work_id)
        assert rows == [(first.pid, "start"), (second.pid, "start"), (second.pid, "done")]
        state, attempts, _, outcome = state_of(conn, r.work_id)
        assert (state, attempts, outcome) == ("completed", 2, {"pid": second.pid})
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)


def test_sigterm_finishes_the_in_flight_item_then_exits(client, conn, queue_name, worker_log, db_url):
    proc = spawn_worker(db_url, queue_name, "--visibility-timeout", "10", "--poll-interval", "0.5")
    try:
        r = client.submit_work("slow", "test", params={"seconds": 1.5}, queue=queue_name)
        assert wait_for(lambda: log_rows(conn, r.work_id), 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert state_of(conn, r.work_id)[0] == "completed"
        assert [e for _, e in log_rows(conn, r.work_id)] == ["start", "done"]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_releases_an_item_that_does_not_finish_in_time(client, conn, queue_name, worker_log, db_url):
    proc = spawn_worker(db_url, queue_name, "--visibility-timeout", "30", "--poll-interval", "0.5",
                        "--shutdown-timeout", "0.5")
    try:
        r = client.submit_work("slow", "test", params={"seconds": 30}, queue=queue_name)
        assert wait_for(lambda: log_rows(conn, r.work_id), 20)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0 and time.monotonic() - t0 < 10
        # released with release_work: queued again, the claim the worker read recorded as released
        state, attempts, _, _ = state_of(conn, r.work_id)
        assert (state, attempts) == ("queued", 1)
        assert conn.execute("SELECT released FROM animus.work_items WHERE id = %s", [r.work_id]).fetchone()[0] == 1
        # claimable again at once, not after the 30 s timeout, with a new claim token
        items = client.read_work(queue_name, vt=5, qty=1)
        assert [(i.id, i.attempts) for i in items] == [(r.work_id, 2)]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_handler_timeout_dead_letters_a_hung_item(client, conn, queue_name, worker_log, db_url):
    proc = spawn_worker(db_url, queue_name, "--visibility-timeout", "30", "--poll-interval", "0.5",
                        "--handler-timeout", "1")
    try:
        r = client.submit_work("slow", "test", params={"seconds": 60}, queue=queue_name, max_attempts=1)
        st = wait_for(lambda: (s := state_of(conn, r.work_id))[0] == "dead" and s, 60)
        assert st and st[1] == 1 and "HandlerTimeout" in st[2]   # long before the 30 s timeout
        assert [e for _, e in log_rows(conn, r.work_id)] == ["start"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_wake_ups_for_other_queues_do_not_trigger_reads(client, conn, queue_name):
    other = queue_name + "_other"
    client.create_queue(other, notify_throttle=0)
    try:
        worker = animus.Worker(client, {"ping": lambda item: None}, queue=queue_name,
                               concurrency=1, visibility_timeout=10, poll_interval=60)
        t = run_worker(worker)
        try:
            time.sleep(0.5)
            for _ in range(3):
                client.submit_work("ping", "test", queue=other)
                time.sleep(0.05)
            time.sleep(0.5)
            assert worker.wakeups["notify"] == 0 and worker.processed == 0
        finally:
            worker.stop()
            t.join(10)
    finally:
        client.drop_queue(other)


@pytest.mark.parametrize("spec,message", [
    ("no_colon", "expected module:handlers"),
    ("no_such_module_xyz:HANDLERS", "cannot import"),
    ("py_worker_handlers:MISSING", "has no attribute"),
])
def test_cli_rejects_a_bad_handlers_spec_clearly(spec, message, db_url):
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(HERE)}
    res = subprocess.run([sys.executable, "-m", "animus.cli", "worker", spec, "--no-telemetry"],
                         env=env, cwd=HERE, capture_output=True, text=True, timeout=30)
    assert res.returncode != 0 and message in res.stderr
