"""The pipelined batch path of animus.Worker (issue 14, batching on): with batch handlers up to
``claim_pipeline`` read_work calls are in flight at once while the last batch is handled and
settled. Every item is still settled exactly once, by concurrent worker processes too, and a
stop in the middle of a claim releases what that claim brought back."""
from __future__ import annotations

import asyncio
import collections
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from animus_fixtures import run_worker, wait_for

HERE = Path(__file__).resolve().parent


def states(conn, queue):
    return dict(conn.execute("SELECT state, count(*) FROM animus.work_items WHERE queue_name = %s "
                             "GROUP BY 1", [queue]).fetchall())


@pytest.fixture
def worker_log(conn):
    conn.execute("CREATE TABLE IF NOT EXISTS py_worker_log (work_id uuid, pid int, event text, "
                 "at timestamptz DEFAULT clock_timestamp())")
    conn.execute("GRANT ALL ON py_worker_log TO PUBLIC")
    conn.execute("TRUNCATE py_worker_log")
    yield
    conn.execute("DROP TABLE IF EXISTS py_worker_log")


def spawn_batch_worker(db_url: str, queue: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(HERE)}
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    return subprocess.Popen([sys.executable, "-m", "animus.cli", "worker", "py_worker_handlers:BATCH_HANDLERS",
                             "--queue", queue, "--no-telemetry", "--batch", "--batch-size", "50",
                             "--concurrency", "200", "--poll-interval", "0.2", "--log-level", "warning"],
                            env=env, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_pipelined_worker_processes_settle_every_item_exactly_once(client, conn, queue_name, worker_log, db_url):
    """Two `animus worker --batch` processes (two claims in flight each) drain one queue of 4,000
    items submitted while they run: every item is completed once, at its first attempt, by the
    worker whose handler ran it (the outcome names the pid that logged it), none is lost or run
    twice, and both processes took part."""
    n = 4000
    procs = [spawn_batch_worker(db_url, queue_name) for _ in range(2)]
    try:
        # both workers are up (each LISTENs on the wake-up channel) before the items come
        assert wait_for(lambda: conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%%' AND pid <> pg_backend_pid() "
            "AND datname = current_database()").fetchone()[0] >= 2, 30), "workers did not start"
        for i in range(0, n, 500):
            client.submit_work_batch([{"work_type": "tally", "source": "test", "params": {"i": j}}
                                      for j in range(i, i + 500)], queue=queue_name)
        assert wait_for(lambda: states(conn, queue_name).get("completed", 0) == n, 120), states(conn, queue_name)
        time.sleep(0.5)   # a (wrong) second run or settle would show up now
        assert states(conn, queue_name) == {"completed": n}
        bad = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s "
                           "AND (attempts <> 1 OR released <> 0)", [queue_name]).fetchone()[0]
        assert bad == 0
        runs = conn.execute("SELECT work_id, count(*), min(pid) FROM py_worker_log GROUP BY 1").fetchall()
        assert len(runs) == n and all(c == 1 for _, c, _ in runs)   # each handled once, none lost
        pids = {w: p for w, _, p in runs}
        mismatched = [r for r in conn.execute(
            "SELECT id, (outcome->>'pid')::int FROM animus.work_items WHERE queue_name = %s", [queue_name])
            if pids.get(r[0]) != r[1]]
        assert mismatched == []
        assert set(pids.values()) == {p.pid for p in procs}, "both workers should have taken items"
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                out, _ = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            assert p.returncode == 0, out


def make_worker(client, queue, seen, **kw):
    async def tally(items):
        for item in items:
            seen[item.id] += 1
        return None

    return animus.Worker(client, {}, batch_handlers={"t": tally}, batch_size=50, concurrency=200,
                         queue=queue, poll_interval=0.2, schedules=False, **kw)


def test_batch_claims_are_pipelined_two_at_a_time(client, conn, queue_name):
    """With batch handlers two read_work calls are in flight at once (claim_pipeline 2, each for at
    most half the slots), and never more; 1 with claim_pipeline=1."""
    for pipeline, expected in ((None, 2), (1, 1)):
        client.submit_work_batch([{"work_type": "t", "source": "test"} for _ in range(3000)], queue=queue_name)
        seen: collections.Counter = collections.Counter()
        kw = {} if pipeline is None else {"claim_pipeline": pipeline}
        w = make_worker(client, queue_name, seen, **kw)
        assert (w.claim_pipeline, w.claim_size) == ((2, 100) if pipeline is None else (1, 10000))
        orig = w._read
        now = peak = 0
        asked = []

        async def read(qty):
            nonlocal now, peak
            now += 1
            peak = max(peak, now)
            asked.append(qty)
            try:
                await asyncio.sleep(0.01)   # a slower claim: the next one starts meanwhile
                return await orig(qty)
            finally:
                now -= 1

        w._read = read
        t = run_worker(w)
        try:
            assert wait_for(lambda: states(conn, queue_name) == {"completed": 3000}, 60), states(conn, queue_name)
        finally:
            w.stop()
            t.join(30)
        assert not t.is_alive()
        assert peak == expected
        assert max(asked) <= w.claim_size
        assert len(seen) == 3000 and set(seen.values()) == {1}
        conn.execute("SELECT animus.purge_work(older_than => '0', queue => %s)", [queue_name])


def test_a_stop_during_a_pipelined_claim_releases_what_it_claimed(client, conn, queue_name):
    """The worker is told to stop while a claim is in flight (held after the database answered):
    the claim is awaited, not cancelled; its items are never started and are released at once
    (queued, the attempt not counted); what was running finishes. Nothing is lost or settled
    twice: a second worker completes the rest, and every item ran exactly once."""
    n = 2000
    client.submit_work_batch([{"work_type": "t", "source": "test"} for _ in range(n)], queue=queue_name)
    seen: collections.Counter = collections.Counter()
    w = make_worker(client, queue_name, seen)
    orig = w._read
    calls = 0
    held: list = []
    in_hold, gate = threading.Event(), threading.Event()

    async def read(qty):
        nonlocal calls
        items = await orig(qty)
        calls += 1
        if calls == 3 and items:
            held.extend(items)
            in_hold.set()
            while not gate.is_set():
                await asyncio.sleep(0.01)
        return items

    w._read = read
    t = run_worker(w)
    try:
        assert in_hold.wait(30), "the third claim never came back"
        w.stop()
        time.sleep(0.2)      # the claim loop has seen the stop; the claim is still held
        assert t.is_alive()  # ... and the worker waits for it
    finally:
        gate.set()
        t.join(30)
    assert not t.is_alive()
    assert held
    rows = conn.execute("SELECT state, attempts, released FROM animus.work_items WHERE id = ANY(%s)",
                        [[i.id for i in held]]).fetchall()
    assert len(rows) == len(held) and {r[0] for r in rows} == {"queued"}
    assert all(a - r == 0 for _, a, r in rows)         # released: the attempt is not counted
    assert all(seen[i.id] == 0 for i in held)          # never started
    st = states(conn, queue_name)
    assert set(st) <= {"completed", "queued"} and sum(st.values()) == n, st   # nothing left running
    assert sum(seen.values()) == st.get("completed", 0)
    # a second worker takes what was released (and any queued rest): each item ran once in all
    w2 = make_worker(client, queue_name, seen)
    t2 = run_worker(w2)
    try:
        assert wait_for(lambda: states(conn, queue_name) == {"completed": n}, 60), states(conn, queue_name)
    finally:
        w2.stop()
        t2.join(30)
    assert len(seen) == n and set(seen.values()) == {1}


def test_claimed_items_decode_requesters_when_read_and_pickle_as_work_items(client, conn, queue_name):
    """After the first claim the worker asks for requesters as text (decoded when a handler reads
    it): the handler sees the same list read_work gives (here the submission itself, with its
    source and trace context), the item pickles as a plain WorkItem, and dataclasses.replace
    keeps the decoded value."""
    import dataclasses
    import pickle

    ids = [r.work_id for r in client.submit_work_batch(
        [{"work_type": "t", "source": f"src-{i}", "params": {"i": i}} for i in range(30)], queue=queue_name)]
    got: list = []

    async def keep(items):
        got.extend(items)
        return None

    w = animus.Worker(client, {}, batch_handlers={"t": keep}, batch_size=5, concurrency=10, claim_size=5,
                      queue=queue_name, poll_interval=0.2, schedules=False)
    t = run_worker(w)
    try:
        assert wait_for(lambda: len(got) == 30, 30)
    finally:
        w.stop()
        t.join(30)
    lazy = [i for i in got if type(i) is not animus.WorkItem]
    assert lazy, "claims after the first should return lazily decoded items"
    for item in got:
        assert item.params == {"i": int(item.source.split("-")[1])}
        (req,) = item.requesters
        assert req["work_id"] == str(item.id) and req["source"] == item.source
        assert item.requesters_total == 1
    item = lazy[0]
    plain = pickle.loads(pickle.dumps(item))
    assert type(plain) is animus.WorkItem and plain.requesters == item.requesters and plain.id == item.id
    assert dataclasses.replace(item, priority=7).requesters == item.requesters
    assert repr(item).startswith("WorkItem(")
    assert sorted(i.id for i in got) == sorted(ids)
