"""The asyncio-native worker: coroutine handlers as tasks on one loop (hundreds in flight, no
thread each), claims that fill every free slot in one read_work, batched settles, coroutine
handlers cancelled at their time limit, WorkSuspended, batch handlers, run_async."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from animus_fixtures import wait_for, run_worker


def state_of(conn, work_id):
    return conn.execute("SELECT state, attempts, error, outcome, released FROM animus.work_items "
                        "WHERE id = %s", [work_id]).fetchone()


def states(conn, queue):
    return dict(conn.execute("SELECT state, count(*) FROM animus.work_items WHERE queue_name = %s "
                             "GROUP BY 1", [queue]).fetchall())


def test_three_hundred_coroutine_handlers_are_in_flight_at_once_on_one_thread(client, conn, otel, queue_name):
    """300 items, concurrency 300: every handler is running before any returns (they all wait for
    the 300th), all on the worker's one event-loop thread; the claims take a few read_work calls
    (not one per item) and the completions a few complete_work calls."""
    n = 300
    client.submit_work_batch([{"work_type": "io", "source": "test", "params": {"i": i}} for i in range(n)],
                             queue=queue_name)
    running = 0
    peak = 0
    threads: set[int] = set()
    all_in: asyncio.Event | None = None

    async def io(item, ctx):
        nonlocal running, peak, all_in
        assert ctx.is_async and ctx.aclient is not None and ctx.client is client
        if all_in is None:
            all_in = asyncio.Event()
        threads.add(threading.get_ident())
        running += 1
        peak = max(peak, running)
        if running == n:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 30)     # an I/O-bound call, as an agent makes
        running -= 1
        return {"i": item.params["i"]}

    worker = animus.Worker(client, {"io": io}, queue=queue_name, concurrency=n, visibility_timeout=30,
                           poll_interval=0.5)
    t = run_worker(worker)
    try:
        assert wait_for(lambda: worker.processed == n, 60), (worker.processed, states(conn, queue_name))
    finally:
        worker.stop()
        t.join(30)
    assert peak == n and len(threads) == 1 and threading.get_ident() not in threads
    assert states(conn, queue_name) == {"completed": n}
    assert worker.reads <= 10, f"{worker.reads} read_work calls for {n} items"
    completes = [s for s in otel.spans(f"settle {queue_name}")
                 if s.attributes["messaging.operation.name"] in ("complete_work", "complete_work_many")]
    assert 1 <= len(completes) <= 20, f"{len(completes)} complete_work calls for {n} items"
    assert sum(s.attributes.get("messaging.batch.message_count", 1) for s in completes) == n


def test_a_coroutine_handler_is_cancelled_at_its_time_limit_and_frees_its_slot(client, conn, queue_name):
    """Unlike a thread, a coroutine can be stopped: at handler_timeout its attempt is failed and
    the task cancelled (CancelledError at its await); its slot frees, so with concurrency 1 the
    next item runs although the first would have slept for a minute."""
    seen: list[str] = []

    async def slow(item, ctx):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append(ctx.stop_reason)
            raise
        return {"late": True}

    async def quick(item):
        return {"ok": True}

    worker = animus.Worker(client, {"slow": slow, "quick": quick}, queue=queue_name, concurrency=1,
                           visibility_timeout=30, poll_interval=0.2, handler_timeouts={"slow": 1})
    t = run_worker(worker)
    try:
        a = client.submit_work("slow", "test", queue=queue_name, max_attempts=1)
        st = wait_for(lambda: (s := state_of(conn, a.work_id))[0] == "dead" and s, 30)
        assert st and st[2].startswith("animus.HandlerTimeout: ")
        b = client.submit_work("quick", "test", queue=queue_name)
        assert wait_for(lambda: state_of(conn, b.work_id)[0] == "completed", 20)
        assert seen == ["timeout"] and worker.hung == 0 and worker.timed_out == 1
    finally:
        worker.stop()
        t.join(30)


def test_ctx_wait_async_ends_early_when_the_item_is_cancelled(client, conn, queue_name):
    result: list = []

    async def job(item, ctx):
        t0 = time.monotonic()
        stopped = await ctx.wait_async(30)
        result.append((stopped, ctx.stop_reason, time.monotonic() - t0 < 20))
        return {"not": "recorded"}

    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=2, visibility_timeout=3,
                           heartbeat_interval=0.2, poll_interval=0.2)
    t = run_worker(worker)
    try:
        r = client.submit_work("job", "test", queue=queue_name)
        assert wait_for(lambda: state_of(conn, r.work_id)[0] == "running", 10)
        time.sleep(0.5)
        assert client.cancel_work(r.work_id)
        assert wait_for(lambda: result, 10)
        assert result == [(True, "cancelled", True)]
        time.sleep(0.3)
        assert state_of(conn, r.work_id)[:4:3] == ("cancelled", None)
    finally:
        worker.stop()
        t.join(10)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_handler_that_gave_its_item_back_and_raised_work_suspended_is_not_settled(
        client, conn, otel, queue_name, kind):
    """WorkSuspended: the handler released its own item (as a durable sleep does); the worker
    neither completes nor fails it, and does not count it failed."""
    def give_back(item, ctx):
        ctx.client.release_work(item.id, attempt=item.attempts, delay=120)
        raise animus.WorkSuspended()

    async def give_back_async(item, ctx):
        await ctx.aclient.release_work(item.id, attempt=item.attempts, delay=120)
        raise animus.WorkSuspended()

    worker = animus.Worker(client, {"job": give_back if kind == "sync" else give_back_async},
                           queue=queue_name, concurrency=1, visibility_timeout=10, poll_interval=0.2)
    t = run_worker(worker)
    try:
        r = client.submit_work("job", "test", queue=queue_name)
        assert wait_for(lambda: worker.suspended == 1, 20)
        time.sleep(0.3)
        state, attempts, error, outcome, released = state_of(conn, r.work_id)
        assert (state, attempts, error, outcome, released) == ("queued", 1, None, None, 1)
        assert (worker.processed, worker.failed) == (0, 0)
    finally:
        worker.stop()
        t.join(10)
    [span] = otel.spans(f"process {queue_name}")
    assert span.attributes["animus.work.suspended"] is True
    assert "error.type" not in span.attributes


def test_batch_handlers_get_lists_and_settle_one_outcome_per_item(client, conn, otel, queue_name):
    """A batch handler gets up to batch_size items of its type per call; an exception instance in
    its result fails that item (NonRetryable: dead), the others complete with their outcomes."""
    calls: list[int] = []

    def squares(items):
        calls.append(len(items))
        return [animus.NonRetryable("odd one out") if it.params["i"] == 7 else {"sq": it.params["i"] ** 2}
                for it in items]

    client.submit_work_batch([{"work_type": "sq", "source": "test", "params": {"i": i}} for i in range(50)],
                             queue=queue_name)
    worker = animus.Worker(client, {}, batch_handlers={"sq": squares}, batch_size=20, queue=queue_name,
                           concurrency=50, visibility_timeout=10, poll_interval=0.2)
    t = run_worker(worker)
    try:
        assert wait_for(lambda: worker.processed + worker.failed == 50, 30)
    finally:
        worker.stop()
        t.join(10)
    assert sum(calls) == 50 and max(calls) <= 20
    assert states(conn, queue_name) == {"completed": 49, "dead": 1}
    rows = dict(conn.execute("SELECT params->>'i', outcome FROM animus.work_items WHERE queue_name = %s "
                             "AND state = 'completed'", [queue_name]).fetchall())
    assert all(rows[str(i)] == {"sq": i * i} for i in range(50) if i != 7)
    process = otel.spans(f"process {queue_name}")
    assert len(process) == len(calls)
    assert sum(s.attributes["messaging.batch.message_count"] for s in process) == 50


def test_run_async_runs_inside_an_asyncio_application(client, conn, queue_name):
    async def main():
        done = asyncio.Event()

        async def job(item):
            done.set()
            return {"in": "app"}

        worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=4, poll_interval=0.2)
        runner = asyncio.create_task(worker.run_async())
        r = await asyncio.to_thread(client.submit_work, "job", "test", queue=queue_name)
        await asyncio.wait_for(done.wait(), 20)
        while (await asyncio.to_thread(state_of, conn, r.work_id))[0] != "completed":
            await asyncio.sleep(0.05)
        worker.stop()
        await asyncio.wait_for(runner, 20)
        return r

    r = asyncio.run(main())
    assert state_of(conn, r.work_id)[3] == {"in": "app"}


def test_one_stale_claim_in_a_settle_batch_drops_only_that_item(client, conn, otel, queue_name, caplog):
    """Claim fencing survives batching: six results go out in one batch; one claim has gone stale
    meanwhile, so the database refuses the batch (ZA108, nothing written), and the worker settles
    its items one by one: the stale one is dropped, the other five complete."""
    release = threading.Event()
    started: list = []

    def job(item):
        started.append(item)
        release.wait(30)
        return {"i": item.params["i"]}

    ids = [r.work_id for r in client.submit_work_batch(
        [{"work_type": "job", "source": "test", "params": {"i": i}} for i in range(6)], queue=queue_name)]
    worker = animus.Worker(client, {"job": job}, queue=queue_name, concurrency=6, visibility_timeout=30,
                           heartbeat_interval=60, poll_interval=0.2, settle_delay=0.5)
    caplog.set_level("WARNING", logger="animus.worker")
    t = run_worker(worker)
    try:
        assert wait_for(lambda: len(started) == 6, 20)
        stale = started[0].id
        # as if the claim had expired and another worker had claimed the item again
        conn.execute("UPDATE animus.work_items SET attempts = attempts + 1 WHERE id = %s", [stale])
        release.set()
        assert wait_for(lambda: worker.processed == 5, 20)
        assert wait_for(lambda: any("stale claim" in m and str(stale) in m for m in caplog.messages), 20)
    finally:
        release.set()
        worker.stop()
        t.join(10)
    assert state_of(conn, stale)[:2] == ("running", 2)    # untouched: not ours any more
    assert all(state_of(conn, i)[0] == "completed" for i in ids if i != stale)
    refused = [s for s in otel.spans(f"settle {queue_name}") if s.attributes.get("error.type") == "ZA108"]
    ops = [s.attributes["messaging.operation.name"] for s in refused]
    assert ops == ["complete_work_many", "complete_work"]   # the batch, then the stale item alone


def test_slow_handlers_get_no_items_claimed_ahead(client, conn, queue_name):
    """The prefetch only claims ahead what the slots will start within ~10 ms: behind 0.5 s
    handlers no item waits claimed in this worker (another worker could run it); fast handlers
    do get items claimed ahead, and so need fewer claims than items / concurrency."""
    client.submit_work_batch([{"work_type": "slow", "source": "test"} for _ in range(4)], queue=queue_name)
    ahead: list[int] = []

    async def slow(item):
        ahead.append(worker.claimed_ahead)
        await asyncio.sleep(0.5)

    worker = animus.Worker(client, {"slow": slow}, queue=queue_name, concurrency=1, poll_interval=0.2)
    t = run_worker(worker)
    try:
        assert wait_for(lambda: worker.processed == 4, 30)
    finally:
        worker.stop()
        t.join(10)
    assert ahead == [0, 0, 0, 0]

    client.submit_work_batch([{"work_type": "fast", "source": "test"} for _ in range(400)], queue=queue_name)
    fast_ahead: list[int] = []

    async def fast(item):
        fast_ahead.append(worker.claimed_ahead)

    worker = animus.Worker(client, {"fast": fast}, queue=queue_name, concurrency=4, poll_interval=0.2)
    t = run_worker(worker)
    try:
        assert wait_for(lambda: worker.processed == 400, 60)
    finally:
        worker.stop()
        t.join(10)
    assert max(fast_ahead) > 0 and max(fast_ahead) <= 4
    assert worker.reads < 400 / 4, f"{worker.reads} claims of at most 4 items each: nothing claimed ahead"
