"""The parts of durable agent work used together by real workers: a Worker ticks schedules
(no separate scheduler), a keyed item that sleeps frees its key's slot, a coroutine handler's
durable steps, sleep and event wait on the asyncio worker, and client.wait on a durable item."""
from __future__ import annotations

import time

import animus
from animus_fixtures import client, otel, queue_name, run_worker, wait_for  # noqa: F401


def _worker(client, queue, handlers, **kw):
    kw.setdefault("concurrency", 4)
    kw.setdefault("visibility_timeout", 10)
    kw.setdefault("poll_interval", 0.1)
    kw.setdefault("maintenance_interval", 0.2)
    return animus.Worker(client, handlers, queue=queue, **kw)


def test_a_worker_ticks_schedules_and_runs_what_they_submit(client, queue_name, conn):
    ran = []
    client.create_schedule(f"{queue_name}_tick", work_type="tick", queue=queue_name, every="1 second",
                           params={"from": "schedule"})
    w = _worker(client, queue_name, {"tick": lambda item: ran.append(item.params) or {}})
    t = run_worker(w)
    try:
        assert wait_for(lambda: len(ran) >= 2, 15), "the worker ticked the schedule and ran its items"
    finally:
        w.stop()
        t.join(10)
    assert all(p.get("from") == "schedule" for p in ran)
    assert w.scheduled >= 2
    n = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND source = %s",
                     [queue_name, f"schedule:{queue_name}_tick"]).fetchone()[0]
    assert n == w.scheduled, "every tick's submission is one work item"
    client.drop_schedule(f"{queue_name}_tick")


def test_a_worker_with_schedules_off_submits_nothing(client, queue_name, conn):
    client.create_schedule(f"{queue_name}_off", work_type="tick", queue=queue_name, every="1 second")
    w = _worker(client, queue_name, {"tick": lambda item: {}}, schedules=False)
    t = run_worker(w)
    try:
        time.sleep(2.5)
    finally:
        w.stop()
        t.join(10)
    assert w.scheduled == 0
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s",
                        [queue_name]).fetchone()[0] == 0
    client.drop_schedule(f"{queue_name}_off")


def test_a_sleeping_keyed_item_gives_its_key_slot_to_the_next(client, queue_name, conn):
    client.configure_queue(queue_name, backoff_base=0, backoff_jitter=0)
    client.set_concurrency_limit(queue_name, key="tenant-a", max_running=1)
    order = []

    def sleeper(item, ctx):
        order.append(("sleeper", ctx.item.attempts))
        ctx.sleep(2)
        order.append(("sleeper-resumed", ctx.item.attempts))
        return {}

    def quick(item):
        order.append(("quick", item.attempts))
        return {}

    w = _worker(client, queue_name, {"sleeper": sleeper, "quick": quick})
    t = run_worker(w)
    try:
        s = client.submit_work("sleeper", "test", queue=queue_name, concurrency_key="tenant-a")
        assert wait_for(lambda: ("sleeper", 1) in order, 10)
        q = client.submit_work("quick", "test", queue=queue_name, concurrency_key="tenant-a")
        # the quick item of the same key runs while the sleeper sleeps (limit 1): the sleep freed it
        assert wait_for(lambda: client.get_work(q.work_id).item.state == "completed", 10)
        assert client.get_work(s.work_id).item.state == "queued"
        assert wait_for(lambda: client.get_work(s.work_id).item.state == "completed", 15)
    finally:
        w.stop()
        t.join(10)
    assert [n for n, _ in order] == ["sleeper", "quick", "sleeper", "sleeper-resumed"]


def test_coroutine_handler_steps_sleep_and_event_on_the_async_worker(client, queue_name, conn):
    client.configure_queue(queue_name, backoff_base=0, backoff_jitter=0, notify_throttle=0)
    calls = []

    async def fetch(user):
        calls.append(user)
        return {"user": user}

    async def agent(item, ctx):
        assert ctx.is_async
        profile = await ctx.step("fetch", fetch, item.params["user"])
        await ctx.sleep(0.5)
        approval = await ctx.wait_for_event(f"approval:{item.params['user']}", timeout=30)
        return {"profile": profile, "approved": approval["ok"]}

    w = _worker(client, queue_name, {"agent": agent})
    t = run_worker(w)
    try:
        s = client.submit_work("agent", "test", queue=queue_name, params={"user": "kelly"})
        assert wait_for(lambda: any(st.kind == "event" for st in client.get_work(s.work_id).steps), 15)
        client.emit_event("approval:kelly", {"ok": True}, queue=queue_name)
        outcome = client.wait(s.work_id, timeout=20)
    finally:
        w.stop()
        t.join(10)
    assert outcome == {"profile": {"user": "kelly"}, "approved": True}
    assert calls == ["kelly"], "the step ran once across three claims"
    d = client.get_work(s.work_id)
    assert d.item.attempts == 3 and d.item.state == "completed"
