"""Durable steps, sleeps and events (docs/durable.md) with real workers: steps replay after a
failure, a handler timeout and a SIGKILL; sleeps hold no slot and count no failed attempt; events
delivered in both orders, after a timeout, and while no worker runs; the race of an emit with a
concurrent wait; the async forms against a real AsyncClient; spans; bad input."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from opentelemetry.trace import SpanKind

import animus
from animus import durable
from animus_fixtures import client, otel, queue_name, run_worker, wait_for  # noqa: F401

HERE = Path(__file__).resolve().parent


@pytest.fixture
def fast_queue(client, queue_name):
    """A queue whose retries are visible at once (no backoff)."""
    client.configure_queue(queue_name, backoff_base=0, backoff_jitter=0)
    return queue_name


def worker(client, queue, handlers, **kw):
    kw.setdefault("concurrency", 2)
    kw.setdefault("visibility_timeout", 10)
    kw.setdefault("poll_interval", 0.1)
    return animus.Worker(client, handlers, queue=queue, **kw)


def item_state(client, work_id):
    d = client.get_work(work_id)
    return d.item.state


def steps_of(conn, work_id):
    return conn.execute("SELECT step_name, occurrence, kind, state, attempt, result, error FROM animus.get_work_steps(%s)",
                        [work_id]).fetchall()


# -------------------------------------------------------------------------------- steps replay
def test_completed_steps_replay_after_a_failure_and_the_failed_step_runs_again(client, fast_queue, conn):
    runs = {"fetch": 0, "charge": 0, "page": 0}

    def fetch(user):
        runs["fetch"] += 1
        return {"user": user, "plan": "pro"}

    def charge(profile):
        runs["charge"] += 1
        if runs["charge"] == 1:
            raise RuntimeError("payment gateway timed out")
        return {"charged": profile["plan"]}

    def page(n):
        runs["page"] += 1
        return n * 10

    def handler(item, ctx):
        profile = ctx.step("fetch_profile", fetch, item.params["user"])
        pages = [ctx.step("page", page, n) for n in range(3)]       # occurrences 1, 2, 3
        return {"profile": profile, "pages": pages, "charge": ctx.step("charge", charge, profile)}

    w = worker(client, fast_queue, {"onboard": handler})
    t = run_worker(w)
    try:
        r = client.submit_work("onboard", "test", params={"user": "kelly"}, queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 20)
    finally:
        w.stop()
        t.join(10)
    d = client.get_work(r.work_id)
    assert d.item.outcome == {"profile": {"user": "kelly", "plan": "pro"}, "pages": [0, 10, 20],
                              "charge": {"charged": "pro"}}
    assert d.item.attempts == 2
    # fetch and the pages ran once (replayed on attempt 2); charge ran twice (it raised on attempt 1)
    assert runs == {"fetch": 1, "charge": 2, "page": 3}
    assert d.steps_total == 5
    by_name = {(s.name, s.occurrence): s for s in d.steps}
    assert by_name[("fetch_profile", 1)].attempt == 1 and by_name[("fetch_profile", 1)].state == "completed"
    assert [by_name[("page", n)].state for n in (1, 2, 3)] == ["completed"] * 3
    assert by_name[("charge", 1)].attempt == 2 and by_name[("charge", 1)].kind == "step"
    assert by_name[("charge", 1)].duration_ms is not None
    rows = {(n, o): (st, a, res) for n, o, _, st, a, res, _ in steps_of(conn, r.work_id)}
    assert rows[("page", 2)] == ("completed", 1, 10)
    assert rows[("charge", 1)] == ("completed", 2, {"charged": "pro"})


def test_a_step_is_replayed_after_a_handler_timeout(client, fast_queue):
    runs = []
    hang = threading.Event()

    def handler(item, ctx):
        value = ctx.step("expensive", lambda: runs.append(item.attempts) or len(runs))
        if item.attempts == 1:
            hang.wait(30)           # hung: the worker fails the attempt after handler_timeout
        return {"value": value}

    w = worker(client, fast_queue, {"slow": handler}, handler_timeout=1.0, concurrency=2)
    t = run_worker(w)
    try:
        r = client.submit_work("slow", "test", queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 20)
    finally:
        hang.set()
        w.stop()
        t.join(10)
    d = client.get_work(r.work_id)
    assert d.item.attempts == 2 and d.item.outcome == {"value": 1}
    assert runs == [1], "the step completed on attempt 1 ran once; attempt 2 replayed it"


# ------------------------------------------------------------------------------------ sleeps
def test_a_sleep_gives_the_slot_back_and_is_not_a_failed_attempt(client, fast_queue, conn):
    order = []
    before = []

    def sleeper(item, ctx):
        ctx.step("before", lambda: before.append(1) or "b")
        ctx.sleep(1.5)
        order.append(("sleeper", time.monotonic()))
        return {"slept": True}

    def quick(item):
        order.append(("quick", time.monotonic()))
        return {}

    # one slot: the quick item can only run while the sleeper does not hold it
    w = worker(client, fast_queue, {"sleeper": sleeper, "quick": quick}, concurrency=1)
    t = run_worker(w)
    try:
        t0 = time.monotonic()
        s = client.submit_work("sleeper", "test", queue=fast_queue, max_attempts=1)
        assert wait_for(lambda: steps_of(conn, s.work_id) and item_state(client, s.work_id) == "queued", 10)
        q = client.submit_work("quick", "test", queue=fast_queue)
        assert wait_for(lambda: item_state(client, q.work_id) == "completed", 10)
        assert wait_for(lambda: item_state(client, s.work_id) == "completed", 20)
    finally:
        w.stop()
        t.join(10)
    assert [n for n, _ in order] == ["quick", "sleeper"], "the quick item ran during the sleep"
    assert order[1][1] - t0 >= 1.5
    d = client.get_work(s.work_id)
    # max_attempts 1 and two claims: the sleep's claim was released, not counted as a failure
    assert (d.item.state, d.item.attempts, d.item.error) == ("completed", 2, None)
    assert conn.execute("SELECT released FROM animus.work_items WHERE id = %s", [s.work_id]).fetchone()[0] == 1
    assert before == [1]
    sleep = next(x for x in d.steps if x.kind == "sleep")
    assert sleep.state == "completed" and sleep.attempt == 2


def test_sleep_until_a_past_time_goes_straight_on(client, fast_queue):
    def handler(item, ctx):
        ctx.sleep_until(datetime.now(timezone.utc) - timedelta(seconds=5))
        return {"ok": True}

    w = worker(client, fast_queue, {"h": handler})
    t = run_worker(w)
    try:
        r = client.submit_work("h", "test", queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 10)
    finally:
        w.stop()
        t.join(10)
    assert client.get_work(r.work_id).item.attempts == 1


# ------------------------------------------------------------------------------------ events
def _approval_handler(seen):
    def handler(item, ctx):
        payload = ctx.wait_for_event(f"approval:{item.params['n']}", timeout=item.params.get("timeout"))
        seen.append(item.attempts)
        return {"approved": payload["approved"]}
    return handler


def test_an_event_emitted_before_the_wait_is_not_lost(client, fast_queue):
    seen = []
    assert client.emit_event("approval:1", {"approved": True}, queue=fast_queue) == 0
    ev = client.get_event("approval:1", queue=fast_queue)
    assert ev.emitted and ev.payload == {"approved": True} and ev.waiting == 0
    w = worker(client, fast_queue, {"approve": _approval_handler(seen)})
    t = run_worker(w)
    try:
        r = client.submit_work("approve", "test", params={"n": 1}, queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 10)
    finally:
        w.stop()
        t.join(10)
    assert seen == [1], "received at once, on the first run"
    assert client.get_work(r.work_id).item.outcome == {"approved": True}


def test_an_event_emitted_after_the_wait_wakes_the_parked_item(client, fast_queue, conn):
    seen = []
    # every wake-up NOTIFY is sent (no throttle window in which an emit would rely on the poll)
    client.configure_queue(fast_queue, notify_throttle=0)
    w = worker(client, fast_queue, {"approve": _approval_handler(seen)}, poll_interval=30)
    t = run_worker(w)
    try:
        r = client.submit_work("approve", "test", params={"n": 2}, queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "queued" and steps_of(conn, r.work_id), 10)
        assert client.get_event("approval:2", queue=fast_queue).waiting == 1
        # the same key in another queue is another event: it does not reach this item
        assert client.emit_event("approval:2", {"approved": False}) == 0
        t_emit = time.monotonic()
        assert client.emit_event("approval:2", {"approved": True}, queue=fast_queue) == 1
        # the worker polls every 30 s only: the emit's wake-up NOTIFY makes it claim the item
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 10)
        assert time.monotonic() - t_emit < 10
    finally:
        w.stop()
        t.join(10)
    d = client.get_work(r.work_id)
    assert d.item.outcome == {"approved": True} and seen == [2]
    assert d.item.attempts - conn.execute("SELECT released FROM animus.work_items WHERE id = %s",
                                          [r.work_id]).fetchone()[0] == 1, "the wait counted no attempt"


def test_a_wait_past_its_timeout_raises_event_timeout_in_the_handler(client, fast_queue, conn):
    outcomes = []

    def handler(item, ctx):
        try:
            ctx.wait_for_event("never", timeout=0.5)
        except animus.EventTimeout as exc:
            outcomes.append(exc.event_key)
            return {"timed_out": True}
        return {"timed_out": False}

    w = worker(client, fast_queue, {"h": handler})
    t = run_worker(w)
    try:
        r = client.submit_work("h", "test", queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 10)
    finally:
        w.stop()
        t.join(10)
    assert outcomes == ["never"]
    assert client.get_work(r.work_id).item.outcome == {"timed_out": True}
    [(name, _, kind, state, _, result, _)] = steps_of(conn, r.work_id)
    assert (name, kind, state, result) == ("event:never", "event", "completed", {"status": "timeout", "payload": None})


def test_an_event_emitted_while_no_worker_runs_is_delivered_when_one_starts(client, fast_queue):
    seen = []
    first = worker(client, fast_queue, {"approve": _approval_handler(seen)})
    t = run_worker(first)
    r = client.submit_work("approve", "test", params={"n": 3}, queue=fast_queue)
    try:
        assert wait_for(lambda: item_state(client, r.work_id) == "queued" and
                        client.get_event("approval:3", queue=fast_queue), 10)
    finally:
        first.stop()
        t.join(10)
    assert not t.is_alive()
    assert client.emit_event("approval:3", {"approved": True}, queue=fast_queue) == 1
    assert item_state(client, r.work_id) == "queued"
    second = worker(client, fast_queue, {"approve": _approval_handler(seen)})
    t2 = run_worker(second)
    try:
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 10)
    finally:
        second.stop()
        t2.join(10)
    assert client.get_work(r.work_id).item.outcome == {"approved": True}


def test_emit_racing_a_wait_never_loses_the_wake_up(client, fast_queue, db_url):
    """Concurrent sessions: each round one session parks an item on a key while another emits it.
    Whichever commits second must see the other: the item ends received or woken, never parked
    with the event emitted."""
    rounds = 25
    for i in range(rounds):
        client.submit_work("race", "test", params={"i": i}, queue=fast_queue)
    with psycopg.connect(db_url, autocommit=True) as a, psycopg.connect(db_url, autocommit=True) as b:
        items = a.execute("SELECT work_id, attempts, params FROM animus.read_work(%s, '60 seconds'::interval, 100)",
                          [fast_queue]).fetchall()
        assert len(items) == rounds
        results = []
        for work_id, attempts, params in items:
            key = f"race:{params['i']}"
            barrier = threading.Barrier(2)
            out = {}

            def waiter():
                barrier.wait()
                out["wait"] = a.execute("SELECT status FROM animus.await_event(%s, %s, %s)", [work_id, attempts, key]).fetchone()[0]

            def emitter():
                barrier.wait()
                out["emit"] = b.execute("SELECT animus.emit_event(%s, '{\"ok\": 1}', %s)", [key, fast_queue]).fetchone()[0]

            th = [threading.Thread(target=waiter), threading.Thread(target=emitter)]
            for x in th:
                x.start()
            for x in th:
                x.join(10)
            step = a.execute("SELECT state, result FROM animus.work_steps WHERE work_id = %s", [work_id]).fetchone()
            results.append((out["wait"], out["emit"], step))
        for wait_status, emitted_to, (state, result) in results:
            assert state == "completed" and result == {"status": "received", "payload": {"ok": 1}}, results
            # either the wait saw the event, or it parked and the emit delivered to it
            assert (wait_status, emitted_to) in (("received", 0), ("suspended", 1)), results


# ------------------------------------------------------------------------------- SIGKILL fault
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


def test_a_worker_sigkilled_between_two_steps_resumes_after_the_first_on_redelivery(
        client, conn, fast_queue, worker_log, db_url):
    first = spawn_worker(db_url, fast_queue, "--visibility-timeout", "2", "--poll-interval", "0.3")
    second = None
    log = lambda: conn.execute("SELECT pid, event FROM py_worker_log WHERE work_id = %s ORDER BY at",  # noqa: E731
                               [r.work_id]).fetchall()
    try:
        r = client.submit_work("two_steps", "test", queue=fast_queue)
        assert wait_for(lambda: ("between" in [e for _, e in log()]), 20), "first worker never got between the steps"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = spawn_worker(db_url, fast_queue, "--visibility-timeout", "5", "--poll-interval", "0.3")
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 30)
        assert log() == [(first.pid, "step1"), (first.pid, "between"), (second.pid, "step2")]
        d = client.get_work(r.work_id)
        assert d.item.attempts == 2 and d.item.outcome == {"one": 1, "two": 2, "pid": second.pid}
        assert [(s.name, s.attempt) for s in d.steps] == [("one", 1), ("two", 2)]
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)


# ------------------------------------------------------------------------------------ spans
def test_each_step_is_an_internal_span_under_the_process_span(client, otel, fast_queue):
    attempts = []

    def handler(item, ctx):
        attempts.append(item.attempts)
        ctx.step("fetch", lambda: {"a": 1})
        if item.attempts == 1:
            raise RuntimeError("retry me")
        if item.attempts == 2:
            ctx.sleep(0.2)                 # suspends: the item comes back 0.2 s later
        return ctx.step("use", lambda: 2)

    w = worker(client, fast_queue, {"h": handler})
    t = run_worker(w)
    try:
        r = client.submit_work("h", "test", queue=fast_queue)
        assert wait_for(lambda: item_state(client, r.work_id) == "completed", 10)
    finally:
        w.stop()
        t.join(10)
    processes = sorted(otel.spans(f"process {fast_queue}"), key=lambda s: s.start_time)
    assert len(processes) == 3 and attempts == [1, 2, 3]
    # the run that slept is marked suspended (not an error); the others are not
    assert [p.attributes.get("animus.work.suspended", False) for p in processes] == [False, True, False]
    assert processes[1].status.is_ok
    steps = otel.spans("step fetch") + otel.spans("step use")
    assert all(s.kind == SpanKind.INTERNAL for s in steps)
    fetch = sorted(otel.spans("step fetch"), key=lambda s: s.start_time)
    assert [s.parent.span_id for s in fetch] == [p.context.span_id for p in processes]
    assert [s.attributes["animus.step.replayed"] for s in fetch] == [False, True, True]
    [sleep] = [s for s in otel.spans("step sleep") if not s.attributes["animus.step.replayed"]]
    assert sleep.attributes["animus.work.suspended"] is True and sleep.parent.span_id == processes[1].context.span_id
    assert fetch[0].attributes["animus.step.name"] == "fetch" and fetch[0].attributes["animus.step.occurrence"] == 1
    # the start_step / finish_step calls are children of the step span
    starts = [s for s in otel.spans("SELECT animus.start_step") if s.parent.span_id == fetch[0].context.span_id]
    assert starts, [s.name for s in otel.spans()]


# ------------------------------------------------------------------------------- async forms
def test_the_async_forms_against_a_real_async_client(client, fast_queue, db_url, otel):
    calls = []

    async def fetch(x):
        await asyncio.sleep(0)
        calls.append(x)
        return {"x": x}

    async def main():
        aclient = await animus.connect_async(db_url, tracer_provider=otel.tracer_provider,
                                             meter_provider=otel.meter_provider)
        try:
            r = await aclient.submit_work("a", "test", queue=fast_queue)
            [item] = await aclient.read_work(fast_queue)
            ctx = durable.Context(item, aclient=aclient)
            assert await durable.step_async(ctx, "fetch", fetch, 1) == {"x": 1}
            assert await durable.step_async(ctx, "plain", lambda: [1, 2]) == [1, 2]
            with pytest.raises(animus.WorkSuspended) as exc:
                await durable.sleep_async(ctx, 60)
            assert exc.value.reason == "sleep" and ctx.suspended
            assert (await aclient.get_work(r.work_id)).item.state == "queued"
            # the resume: claimed again (made due now), a fresh context replays the steps
            with psycopg.connect(db_url, autocommit=True) as c:
                c.execute(f"UPDATE pgmq.q_{fast_queue} SET vt = clock_timestamp()")
                c.execute("UPDATE animus.work_steps SET wake_at = clock_timestamp() WHERE work_id = %s AND kind = 'sleep'",
                          [r.work_id])
            [item2] = await aclient.read_work(fast_queue)
            ctx2 = durable.Context(item2, aclient=aclient)
            assert await durable.step_async(ctx2, "fetch", fetch, 1) == {"x": 1}
            assert await durable.step_async(ctx2, "plain", lambda: [1, 2]) == [1, 2]
            await durable.sleep_async(ctx2, 60)             # the recorded time has passed: goes on
            with pytest.raises(animus.WorkSuspended):
                await durable.wait_for_event_async(ctx2, "go")
            assert await aclient.emit_event("go", {"v": 7}, queue=fast_queue) == 1
            [item3] = await aclient.read_work(fast_queue)
            ctx3 = durable.Context(item3, aclient=aclient)
            await durable.step_async(ctx3, "fetch", fetch, 1)
            await durable.step_async(ctx3, "plain", lambda: [1, 2])
            await durable.sleep_async(ctx3, 60)
            assert await durable.wait_for_event_async(ctx3, "go") == {"v": 7}
            with pytest.raises(animus.EventTimeout):
                await durable.wait_for_event_async(ctx3, "later", timeout=0)
            assert await aclient.complete_work(item3.id, attempt=item3.attempts)
            return [s.name for s in await aclient.get_work_steps(r.work_id)]
        finally:
            await aclient.close()

    names = asyncio.run(main())
    assert calls == [1], "the coroutine step ran once"
    assert names == ["fetch", "plain", "sleep", "event:go", "event:later"]


# ------------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_its_za_code_and_nothing_written(client, fast_queue, conn):
    r = client.submit_work("x", "test", queue=fast_queue)
    [item] = client.read_work(fast_queue)
    ctx = durable.Context(item, client=client)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        durable.step(ctx, "when", lambda: datetime.now())
    [(name, _, _, state, _, _, error)] = steps_of(conn, r.work_id)
    assert (name, state) == ("when", "failed") and "TypeError" in error

    def other():
        return 1
    with pytest.raises(animus.StepReused) as exc:
        durable.step(durable.Context(item, client=client), "when", other)
    assert exc.value.sqlstate == "ZA113" and exc.value.hint
    with pytest.raises(animus.InvalidWorkArgument) as exc:
        durable.sleep(ctx, -1)
    assert exc.value.sqlstate == "ZA117" and exc.value.hint
    with pytest.raises(animus.InvalidWorkArgument) as exc:
        durable.wait_for_event(ctx, "k" * 256)
    assert exc.value.sqlstate == "ZA118"
    with pytest.raises(animus.InvalidWorkArgument) as exc:
        client.emit_event("k" * 256, queue=fast_queue)
    assert exc.value.sqlstate == "ZA118"
    with pytest.raises(animus.StepNotRunning) as exc:
        client.finish_step(item.id, "never-started", item.attempts)
    assert exc.value.sqlstate == "ZA114"
    assert len(steps_of(conn, r.work_id)) == 1, "the refused calls wrote no step"
    assert item_state(client, r.work_id) == "running"
    # waiting on an ended item: ZA104
    client.complete_work(item.id, attempt=item.attempts)
    with pytest.raises(animus.WorkAlreadyEnded):
        client.await_event(item.id, item.attempts, "k")
    with pytest.raises(animus.WorkAlreadyEnded):
        client.sleep_work(item.id, item.attempts, delay=1)
