"""Awaiting a result: client.wait / wait_many (sync and async) over one LISTEN connection per
client, watch_work's race with concurrent completions, the polling fallback, and the SQL
wait_work from psql (docs/work-queue.md and docs/python.md, "Waiting for a result")."""
from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import uuid

import psycopg
import pytest
from psycopg import sql

import animus
from animus.waiting import LISTENER_APPLICATION_NAME
from animus_fixtures import client, otel, queue_name, wait_for  # noqa: F401
from conftest import PSQL


def _claim(c, queue, n=1):
    """Claims n items (read_work skips an item whose row a watch_work holds locked at that instant:
    it is visible again at once, so read again)."""
    items = []
    deadline = time.monotonic() + 10
    while len(items) < n and time.monotonic() < deadline:
        items += c.read_work(queue, qty=n - len(items), vt=60)
    assert len(items) == n
    return items


def _later(delay, fn, *args, **kwargs):
    """Runs fn after delay on another thread (its own pooled connection): the waiter is waiting."""
    t = threading.Timer(delay, fn, args, kwargs)
    t.start()
    return t


def _listeners(conn) -> int:
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name = %s", [LISTENER_APPLICATION_NAME]).fetchone()[0]


# ------------------------------------------------------------------------------------ outcomes
def test_wait_returns_the_outcome_of_a_completed_item(client, queue_name):
    r = client.submit_work("t", "s", queue=queue_name)
    item = _claim(client, queue_name)[0]
    _later(0.3, client.complete_work, item.id, outcome={"answer": 42})
    t0 = time.monotonic()
    assert client.wait(r.work_id, timeout=10) == {"answer": 42}
    assert 0.25 < time.monotonic() - t0 < 5, "returned when the item completed, not before, not at the timeout"


def test_wait_raises_work_failed_for_a_dead_item_and_work_cancelled(client, queue_name):
    dead = client.submit_work("t", "s", queue=queue_name)
    item = _claim(client, queue_name)[0]
    _later(0.2, client.fail_work, item.id, "the model refused", retryable=False)
    with pytest.raises(animus.WorkFailed) as e:
        client.wait(dead.work_id, timeout=10)
    assert e.value.error == "the model refused" and e.value.work_id == dead.work_id and e.value.state == "dead"

    gone = client.submit_work("t", "s", queue=queue_name)
    _later(0.2, client.cancel_work, gone.work_id)
    with pytest.raises(animus.WorkCancelled) as e:
        client.wait(gone.work_id, timeout=10)
    assert e.value.state == "cancelled"


def test_a_retry_is_not_an_end(client, queue_name):
    r = client.submit_work("t", "s", queue=queue_name, max_attempts=3)
    item = _claim(client, queue_name)[0]
    _later(0.2, client.fail_work, item.id, "transient")
    with pytest.raises(animus.WaitTimeout):
        client.wait(r.work_id, timeout=0.8)     # failed with retries left: queued again, not ended
    with psycopg.connect(client.config.database_url.reveal(), autocommit=True) as c:   # the backoff, skipped
        c.execute(sql.SQL("UPDATE pgmq.{} SET vt = clock_timestamp()").format(sql.Identifier("q_" + queue_name)))
    item = _claim(client, queue_name)[0]
    _later(0.2, client.complete_work, item.id, outcome="second try")
    assert client.wait(r.work_id, timeout=10) == "second try"


def test_a_merged_submission_awaits_its_canonical_item(client, queue_name):
    first = client.submit_work("t", "s", queue=queue_name, dedup_key="k")
    dup = client.submit_work("t", "other", queue=queue_name, dedup_key="k")
    assert dup.status == "merged" and dup.canonical_id == first.work_id
    item = _claim(client, queue_name)[0]
    _later(0.3, client.complete_work, item.id, outcome="shared")
    res = client.wait_many([dup.work_id, first.work_id], timeout=10)
    assert [(x.work_id, x.canonical_id, x.state, x.outcome) for x in res] == [
        (dup.work_id, first.work_id, "completed", "shared"), (first.work_id, first.work_id, "completed", "shared")]


def test_replace_mode_waiters_get_the_run_they_belong_to(client, queue_name):
    running = client.submit_work("t", "s", queue=queue_name, dedup_key="r", params={"v": 1})
    item = _claim(client, queue_name)[0]
    follow = client.submit_work("t", "s", queue=queue_name, dedup_key="r", params={"v": 2}, on_duplicate="replace")
    latest = client.submit_work("t", "s", queue=queue_name, dedup_key="r", params={"v": 3}, on_duplicate="replace")
    assert follow.status == "created" and latest.status == "replaced" and latest.canonical_id == follow.work_id
    client.complete_work(item.id, outcome={"ran": item.params["v"]})
    nxt = _claim(client, queue_name)[0]
    assert nxt.id == follow.work_id and nxt.params == {"v": 3}
    _later(0.2, client.complete_work, nxt.id, outcome={"ran": nxt.params["v"]})
    assert client.wait(running.work_id, timeout=10) == {"ran": 1}, "the running item's waiter gets its own run"
    assert client.wait(latest.work_id, timeout=10) == {"ran": 3}, "a replacing submission gets the follow-up's run (latest params)"
    assert client.wait(follow.work_id, timeout=10) == {"ran": 3}


def test_wait_times_out_and_unknown_ids(client, queue_name):
    r = client.submit_work("t", "s", queue=queue_name)
    t0 = time.monotonic()
    with pytest.raises(animus.WaitTimeout) as e:
        client.wait(r.work_id, timeout=0.3)
    assert isinstance(e.value, TimeoutError) and e.value.state == "queued"
    assert 0.3 <= time.monotonic() - t0 < 3
    [x] = client.wait_many([r.work_id], timeout=0)
    assert x.timed_out and not x.ended and x.state in (None, "queued")
    with pytest.raises(animus.WorkNotFound):
        client.wait(uuid.uuid4(), timeout=5)
    with pytest.raises(animus.ArgumentValueError):
        client.wait(r.work_id, timeout=-1)
    ended = client.submit_work("t", "s", queue=queue_name)
    client.cancel_work(ended.work_id)
    [x] = client.wait_many([ended.work_id], timeout=5)
    assert x.state == "cancelled" and x.ended and not x.timed_out


def test_async_wait_outcomes(db_url, queue_name):
    async def main():
        a = await animus.connect_async(db_url, pool_min_size=1, pool_max_size=2)
        try:
            ok = await a.submit_work("t", "s", queue=queue_name)
            bad = await a.submit_work("t", "s", queue=queue_name)
            never = await a.submit_work("t", "s", queue=queue_name, delay=3600)
            items = {i.id: i for i in await a.read_work(queue_name, qty=2)}
            assert set(items) == {ok.work_id, bad.work_id}

            async def settle():
                await asyncio.sleep(0.2)
                await a.complete_work(ok.work_id, outcome=[1, 2])
                await a.fail_work(bad.work_id, "nope", retryable=False)
            task = asyncio.create_task(settle())
            assert await a.wait(ok.work_id, timeout=10) == [1, 2]
            with pytest.raises(animus.WorkFailed):
                await a.wait(bad.work_id, timeout=10)
            with pytest.raises(animus.WaitTimeout):
                await a.wait(never.work_id, timeout=0.2)
            await task
        finally:
            await a.close()
    asyncio.run(main())


def test_wait_span(client, otel, queue_name):
    r = client.submit_work("t", "s", queue=queue_name)
    item = _claim(client, queue_name)[0]
    _later(0.1, client.complete_work, item.id, outcome=1)
    client.wait(r.work_id, timeout=10)
    [span] = otel.spans("wait")
    assert span.attributes["messaging.operation.name"] == "wait"
    assert span.attributes["animus.work.id"] == str(r.work_id)
    assert span.attributes["animus.work.state"] == "completed"
    with pytest.raises(animus.WaitTimeout):
        client.wait(client.submit_work("t", "s", queue=queue_name).work_id, timeout=0.05)
    failed = [s for s in otel.spans("wait") if s.attributes.get("error.type")]
    assert [s.attributes["error.type"] for s in failed] == ["WaitTimeout"]


# ------------------------------------------------------------------------------------ the cost
def test_producers_pay_nothing_unless_someone_waits(client, conn, queue_name):
    """Without a waiter no notification is sent and no row is marked; with one, exactly one."""
    with psycopg.connect(client.config.database_url.reveal(), autocommit=True) as lconn:
        lconn.execute("LISTEN animus_work_done")
        plain = client.submit_work("t", "s", queue=queue_name)
        client.complete_work(_claim(client, queue_name)[0].id)
        assert list(lconn.notifies(timeout=0.3)) == [], "an item nobody awaits ends silently"
        assert conn.execute("SELECT count(*) FROM animus.work_awaited WHERE work_id = %s",
                            [plain.work_id]).fetchone()[0] == 0, "and nothing is marked"

        awaited = client.submit_work("t", "s", queue=queue_name)
        [row] = client.watch_work([awaited.work_id])
        assert row.state == "queued" and not row.ended
        client.complete_work(_claim(client, queue_name)[0].id)
        got = [n.payload for n in lconn.notifies(timeout=2, stop_after=1)]
        assert got == [str(awaited.work_id)]


# ------------------------------------------------------------------------------------ races
def test_waits_registered_while_workers_complete(db_url, queue_name):
    """Thousands of items completed by four workers while waiters register: every waiter gets
    its own item's outcome (none hangs). A waiter registering just before, during or after the
    completion is settled either by watch_work's read or by the notification."""
    n = 2000
    c = animus.connect(db_url, pool_min_size=2, pool_max_size=8)
    try:
        subs = c.submit_work_batch([{"work_type": "t", "source": "race", "params": {"i": i}} for i in range(n)],
                                   queue=queue_name)
        ids = [s.work_id for s in subs]
        stop = threading.Event()

        def worker():
            while not stop.is_set():
                items = c.read_work(queue_name, qty=25, vt=60)
                if not items:
                    time.sleep(0.01)
                    continue
                c.complete_work_many([i.id for i in items], outcomes=[{"i": i.params["i"]} for i in items])

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
        for w in workers:
            w.start()
        results: dict[int, object] = {}
        errors: list[BaseException] = []

        def waiter(chunk):
            try:
                for i in chunk:
                    results[i] = c.wait(ids[i], timeout=60)
            except BaseException as exc:   # reported below
                errors.append(exc)

        waiters = [threading.Thread(target=waiter, args=(range(k, n, 20),)) for k in range(20)]
        for w in waiters:
            w.start()
        for w in waiters:
            w.join(90)
        stop.set()
        assert errors == []
        assert not any(w.is_alive() for w in waiters), "a waiter hangs"
        assert results == {i: {"i": i} for i in range(n)}
    finally:
        c.close()


def test_one_listen_connection_for_thousands_of_waiters(db_url, conn, queue_name):
    """2,000 async waiters on one AsyncClient, then 100 sync waiter threads on one Client: the
    server sees one listener connection per client beside the pool, whatever the waiters."""
    app = "wt_" + uuid.uuid4().hex[:8]
    url = db_url + ("&" if "?" in db_url else "?") + f"application_name={app}"
    pool_max = 3

    def backends():
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND application_name = %s", [app]).fetchone()[0]

    async def async_part():
        a = await animus.connect_async(url, pool_min_size=1, pool_max_size=pool_max)
        try:
            subs = await a.submit_work_batch([{"work_type": "t", "source": "many"} for _ in range(2000)], queue=queue_name)
            tasks = [asyncio.create_task(a.wait(s.work_id, timeout=60)) for s in subs]
            await asyncio.sleep(0.5)
            listener = a._waits.listener
            assert await asyncio.to_thread(wait_for, lambda: listener.outstanding == 2000 and listener.watch_calls > 0
                                           and not listener._pending, 20)
            assert _listeners(conn) == 1, "one LISTEN connection for 2,000 waiters"
            assert backends() <= pool_max
            done = 0
            while done < 2000:
                items = await a.read_work(queue_name, qty=500)
                if items:
                    await a.complete_work_many([i.id for i in items], outcomes=[str(i.id) for i in items])
                done += len(items)
            outcomes = await asyncio.gather(*tasks)
            assert outcomes == [str(s.work_id) for s in subs]
            assert listener.connections == 1
            assert listener.watch_calls < 200, f"watch_work is called in batches ({listener.watch_calls} calls)"
        finally:
            await a.close()

    asyncio.run(async_part())
    assert wait_for(lambda: _listeners(conn) == 0, 5), "close() ends the listener connection"

    c = animus.connect(url, pool_min_size=1, pool_max_size=pool_max)
    try:
        subs = c.submit_work_batch([{"work_type": "t", "source": "threads"} for _ in range(100)], queue=queue_name)
        out: dict[int, object] = {}
        threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, c.wait(subs[i].work_id, timeout=60)))
                   for i in range(100)]
        for t in threads:
            t.start()
        assert wait_for(lambda: c._waits is not None and c._waits.listener is not None
                        and c._waits.listener.outstanding == 100 and c._waits.listener.watch_calls > 0
                        and not c._waits.listener._pending, 20)
        assert _listeners(conn) == 1, "one LISTEN connection for 100 waiting threads"
        assert backends() <= pool_max, "the waiting threads hold no pooled connection"
        done = 0
        while done < 100:    # a read skips items a watch_work holds locked at that instant
            items = c.read_work(queue_name, qty=100)
            if items:
                c.complete_work_many([i.id for i in items], outcomes=[str(i.id) for i in items])
            done += len(items)
        for t in threads:
            t.join(30)
        assert out == {i: str(subs[i].work_id) for i in range(100)}
    finally:
        c.close()


def test_watch_never_waits_for_a_locked_row(client, db_url, queue_name):
    """A settle holds the item's row (its transaction is open): watch_work does not wait for it
    (no deadlock with many-id settles), says watching = false, and the waiter's listener looks
    again until the settle commits."""
    r = client.submit_work("t", "s", queue=queue_name)
    item = _claim(client, queue_name)[0]
    with psycopg.connect(db_url) as settle:            # not autocommit: the lock is held
        settle.execute("SELECT animus.complete_work(%s, '\"late\"'::jsonb)", [item.id])
        t0 = time.monotonic()
        [row] = client.watch_work([r.work_id])
        assert time.monotonic() - t0 < 2, "watch_work waited for the row lock"
        assert (row.state, row.ended, row.watching) == ("running", False, False)
        box: dict[str, object] = {}
        t = threading.Thread(target=lambda: box.__setitem__("out", client.wait(r.work_id, timeout=20)))
        t.start()
        time.sleep(0.3)
        assert t.is_alive()
        settle.commit()
    t.join(10)
    assert box.get("out") == "late"


# ------------------------------------------------------------------------------------ faults
def test_listener_killed_while_waiting(client, conn, queue_name):
    """The listener's connection is terminated; the item completes while it is gone: the
    reconnected listener checks every outstanding id again and the waiter returns."""
    r = client.submit_work("t", "s", queue=queue_name)
    item = _claim(client, queue_name)[0]
    box: dict[str, object] = {}
    t = threading.Thread(target=lambda: box.__setitem__("out", client.wait(r.work_id, timeout=30)))
    t.start()
    assert wait_for(lambda: client._waits is not None and client._waits.listener is not None
                    and client._waits.listener.outstanding == 1 and client._waits.listener.watch_calls > 0, 20)
    assert wait_for(lambda: _listeners(conn) == 1, 5)
    killed = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND application_name = %s", [LISTENER_APPLICATION_NAME]).fetchone()[0]
    assert killed == 1
    client.complete_work(item.id, outcome="after the kill")
    t.join(20)
    assert box.get("out") == "after the kill"
    assert client._waits.listener.connections >= 2, "the listener reconnected"


def test_polling_fallback_delivers_without_a_notification(db_url, conn, queue_name):
    """An end no notification announces (the mark removed behind the listener's back, as a lost
    notification would be) is found by the periodic re-check."""
    c = animus.connect(db_url, pool_min_size=1, pool_max_size=2)
    c.wait_poll_interval = 0.5
    try:
        r = c.submit_work("t", "s", queue=queue_name)
        item = _claim(c, queue_name)[0]
        box: dict[str, object] = {}
        t = threading.Thread(target=lambda: box.__setitem__("out", c.wait(r.work_id, timeout=30)))
        t.start()
        assert wait_for(lambda: conn.execute("SELECT count(*) FROM animus.work_awaited WHERE work_id = %s",
                                             [r.work_id]).fetchone()[0] == 1, 10)
        conn.execute("DELETE FROM animus.work_awaited WHERE work_id = %s", [r.work_id])
        c.complete_work(item.id, outcome="polled")
        t0 = time.monotonic()
        t.join(10)
        assert box.get("out") == "polled"
        assert time.monotonic() - t0 < 3
    finally:
        c.close()


# ------------------------------------------------------------------------------------ SQL wait_work
def _psql(url, sql):
    return subprocess.run([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          capture_output=True, text=True, timeout=60)


def test_sql_wait_work_returns_when_another_session_completes(client, db_url, queue_name):
    r = client.submit_work("t", "s", queue=queue_name)
    item = _claim(client, queue_name)[0]
    _later(0.5, client.complete_work, item.id, outcome={"from": "another session"})
    t0 = time.monotonic()
    out = _psql(db_url, f"SELECT state, outcome, timed_out FROM animus.wait_work('{r.work_id}', timeout => '20 seconds')")
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'completed|{"from": "another session"}|f'
    assert 0.4 < took < 5, took


def test_sql_wait_work_refuses_repeatable_read(client, db_url, queue_name):
    r = client.submit_work("t", "s", queue=queue_name)
    out = _psql(db_url, f"BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM animus.wait_work('{r.work_id}', '1 second'); COMMIT;")
    assert out.returncode != 0
    assert "REPEATABLE READ" in out.stderr and "ZA156" not in out.stdout
    with psycopg.connect(db_url) as c:
        c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT * FROM animus.wait_work(%s, '1 second')", [r.work_id])
        assert e.value.sqlstate == "ZA156"
