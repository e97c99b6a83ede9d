"""Work queue under real concurrency: many sessions (threads, each with its own psycopg connection)
hammer the same dedup keys and read the same queue. Also roles and the wake-up NOTIFY."""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest
from psycopg import errors


@pytest.fixture
def queue(conn):
    name = "tq_" + uuid.uuid4().hex[:12]
    conn.execute("SELECT animus.create_queue(queue => %s)", (name,))
    yield name
    conn.execute("SELECT animus.drop_queue(%s)", (name,))


def run_threads(n, target):
    """Start n threads running target(i) at the same moment; re-raise the first exception."""
    barrier = threading.Barrier(n)
    failures: list[BaseException] = []

    def wrapped(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def active_per_key(conn, queue):
    return conn.execute(
        """SELECT work_type, dedup_key, count(*) FROM animus.work_items
            WHERE queue_name = %s AND state IN ('queued', 'running') AND waits_for IS NULL
            GROUP BY 1, 2 HAVING count(*) > 1""", (queue,)).fetchall()


def test_concurrent_submitters_on_hot_keys_make_one_active_item_per_key(db_url, conn, queue):
    """16 sessions submit the same 4 keys while 2 workers complete items (so keys end and are
    re-created mid-race): every call returns a row, none errors, never two active items per key."""
    keys = [f"person={n}" for n in range(4)]
    results: list[tuple] = []
    lock = threading.Lock()
    stop = threading.Event()
    violations: list = []

    def submitter(i):
        with psycopg.connect(db_url, autocommit=True) as c:
            for n in range(60):
                row = c.execute(
                    "SELECT work_id, status, canonical_id, msg_id FROM animus.submit_work("
                    " work_type => 'engage', source => %s, dedup_key => %s, queue => %s,"
                    " params => jsonb_build_object('n', %s::int))",
                    (f"s{i}", random.choice(keys), queue, n)).fetchone()
                assert row is not None
                with lock:
                    results.append(row)

    def worker(_):
        with psycopg.connect(db_url, autocommit=True) as c:
            while not stop.is_set():
                for (wid,) in c.execute("SELECT work_id FROM animus.read_work(queue => %s, qty => 3)", (queue,)).fetchall():
                    c.execute("SELECT animus.complete_work(work_id => %s)", (wid,))
                bad = active_per_key(c, queue)
                if bad:
                    violations.append(bad)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    try:
        run_threads(16, submitter)
    finally:
        stop.set()
        for w in workers:
            w.join()

    assert len(results) == 16 * 60
    statuses = Counter(r[1] for r in results)
    assert set(statuses) <= {"created", "merged"}
    assert statuses["merged"] > 0 and statuses["created"] >= len(keys)
    assert violations == [] and active_per_key(conn, queue) == []
    # every merged row points at an item of the same key, and every created item has its message
    assert conn.execute(
        """SELECT count(*) FROM animus.work_items m JOIN animus.work_items c ON c.id = m.merged_into
            WHERE m.queue_name = %s AND m.state = 'merged' AND c.dedup_key IS DISTINCT FROM m.dedup_key""",
        (queue,)).fetchone()[0] == 0
    created = [r for r in results if r[1] == "created"]
    assert all(r[0] == r[2] and r[3] is not None for r in created)
    assert all(r[2] in {c[0] for c in created} for r in results if r[1] == "merged")


def test_concurrent_replace_keeps_one_running_plus_one_queued(db_url, conn, queue):
    """Debounce under concurrency: 8 sessions replace the same key while a worker runs items:
    at most one running and one queued item for the key at any time, and no errors."""
    stop = threading.Event()
    violations: list = []
    statuses: Counter = Counter()
    lock = threading.Lock()

    def replacer(i):
        with psycopg.connect(db_url, autocommit=True) as c:
            for n in range(40):
                (status,) = c.execute(
                    "SELECT status FROM animus.submit_work(work_type => 'digest', source => %s, dedup_key => 'd',"
                    " queue => %s, on_duplicate => 'replace', params => jsonb_build_object('n', %s::int))",
                    (f"r{i}", queue, n)).fetchone()
                with lock:
                    statuses[status] += 1

    def worker():
        with psycopg.connect(db_url, autocommit=True) as c:
            while not stop.is_set():
                rows = c.execute("SELECT work_id FROM animus.read_work(queue => %s)", (queue,)).fetchall()
                counts = c.execute(
                    "SELECT count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'queued')"
                    " FROM animus.work_items WHERE queue_name = %s AND dedup_key = 'd'", (queue,)).fetchone()
                if counts[0] > 1 or counts[1] > 1:
                    violations.append(counts)
                time.sleep(0.005)
                for (wid,) in rows:
                    c.execute("SELECT animus.complete_work(work_id => %s)", (wid,))

    w = threading.Thread(target=worker)
    w.start()
    try:
        run_threads(8, replacer)
    finally:
        stop.set()
        w.join()
    assert sum(statuses.values()) == 8 * 40
    assert set(statuses) <= {"created", "replaced"} and statuses["replaced"] > 0
    assert violations == []


def test_concurrent_readers_never_get_the_same_item_twice(db_url, conn, queue):
    conn.execute(
        "SELECT count(*) FROM animus.submit_work_batch("
        " (SELECT jsonb_agg(jsonb_build_object('work_type', 'job', 'source', 'test')) FROM generate_series(1, 1500)),"
        " queue => %s)", (queue,))
    seen: list[str] = []
    lock = threading.Lock()

    def reader(i):
        with psycopg.connect(db_url, autocommit=True) as c:
            while True:
                ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work(queue => %s, qty => %s)",
                                               (queue, random.randint(1, 25))).fetchall()]
                if not ids:
                    return
                with lock:
                    seen.extend(ids)
                if i % 2:
                    c.execute("SELECT count(*) FROM animus.complete_work(work_ids => %s)", (ids,))
                else:
                    for wid in ids:
                        c.execute("SELECT animus.complete_work(work_id => %s)", (wid,))

    run_threads(8, reader)
    assert len(seen) == 1500
    assert len(set(seen)) == 1500, "an item was handed to two readers"
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'completed'",
                        (queue,)).fetchone()[0] == 1500


def test_roles_can_only_do_their_job(db_url, queue):
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("SET ROLE animus_producer")
        (wid,) = c.execute("SELECT work_id FROM animus.submit_work('t', 'producer', queue => %s)", (queue,)).fetchone()
        assert c.execute("SELECT state FROM animus.get_work(%s)", (wid,)).fetchone()[0] == "queued"
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("SELECT * FROM animus.read_work(queue => %s)", (queue,))
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("SELECT * FROM animus.work_items")
        c.execute("SET ROLE animus_worker")
        (got,) = c.execute("SELECT work_id FROM animus.read_work(queue => %s)", (queue,)).fetchone()
        assert got == wid
        assert c.execute("SELECT animus.complete_work(work_id => %s)", (wid,)).fetchone()[0] is True
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("SELECT * FROM animus.submit_work('t', 'worker', queue => %s)", (queue,))
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("SELECT * FROM animus.purge_work()")
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("SELECT * FROM pgmq.read(%s, 30, 1)", (queue,))


def test_project_sqlstates_reach_the_client(db_url, queue):
    with psycopg.connect(db_url, autocommit=True) as c:
        with pytest.raises(psycopg.Error) as exc:
            c.execute("SELECT * FROM animus.submit_work('t', 's', queue => 'no_such_queue')")
        assert exc.value.diag.sqlstate == "ZA101"
        assert exc.value.diag.message_hint


def test_wakeup_notify_is_throttled(db_url, conn, queue):
    """Workers LISTEN on channel animus_work (payload: queue name). Submits in many transactions
    send at most one NOTIFY per queue per notify_throttle, and at least one."""
    conn.execute("SELECT animus.configure_queue(queue => %s, notify_throttle => '1 second')", (queue,))
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN animus_work")
        start = time.monotonic()
        for _ in range(40):
            conn.execute("SELECT * FROM animus.submit_work('t', 's', queue => %s)", (queue,))
        elapsed = time.monotonic() - start
        payloads = [n.payload for n in listener.notifies(timeout=0.5, stop_after=100)]
    mine = [p for p in payloads if p == queue]
    assert 1 <= len(mine) <= 1 + int(elapsed / 1.0) + 1
    # with the NOTIFY switched off, submits send none
    conn.execute("SELECT animus.configure_queue(queue => %s, notify => false)", (queue,))
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN animus_work")
        conn.execute("SELECT * FROM animus.submit_work('t', 's', queue => %s)", (queue,))
        assert [n.payload for n in listener.notifies(timeout=0.3, stop_after=10) if n.payload == queue] == []


def test_stale_claim_is_fenced(db_url, queue):
    """Worker A's visibility timeout expires and worker B claims the item (attempt 2): A's
    complete_work with its attempt 1 is refused (ZA108, nothing written), B's completes; the item
    is completed exactly once, with B's outcome, and its message archived once."""
    with psycopg.connect(db_url, autocommit=True) as a, psycopg.connect(db_url, autocommit=True) as b:
        # archived (not deleted) settled messages: the archive shows how often the message was settled
        a.execute("SELECT animus.configure_queue(queue => %s, archive_messages => true)", (queue,))
        (wid, msg) = a.execute("SELECT work_id, msg_id FROM animus.submit_work('t', 's', queue => %s)", (queue,)).fetchone()
        (got_a, att_a) = a.execute("SELECT work_id, attempts FROM animus.read_work(queue => %s, vt => '0.2 seconds')",
                                   (queue,)).fetchone()
        assert (got_a, att_a) == (wid, 1)
        deadline = time.monotonic() + 10
        row = None
        while row is None and time.monotonic() < deadline:  # until A's timeout has expired
            time.sleep(0.1)
            row = b.execute("SELECT work_id, attempts FROM animus.read_work(queue => %s, vt => '30 seconds')",
                            (queue,)).fetchone()
        assert row == (wid, 2)
        with pytest.raises(psycopg.Error) as exc:
            a.execute("SELECT animus.complete_work(work_id => %s, outcome => '{\"by\": \"A\"}', attempt => %s)", (wid, att_a))
        assert exc.value.diag.sqlstate == "ZA108"
        assert exc.value.diag.message_hint
        with pytest.raises(psycopg.Error) as exc:
            a.execute("SELECT * FROM animus.heartbeat_work(work_id => %s, attempt => %s)", (wid, att_a))
        assert exc.value.diag.sqlstate == "ZA108"
        assert b.execute("SELECT state, outcome FROM animus.work_items WHERE id = %s", (wid,)).fetchone() == ("running", None)
        assert b.execute("SELECT animus.complete_work(work_id => %s, outcome => '{\"by\": \"B\"}', attempt => 2)",
                         (wid,)).fetchone()[0] is True
        assert b.execute("SELECT state, outcome, attempts FROM animus.work_items WHERE id = %s", (wid,)).fetchone() \
            == ("completed", {"by": "B"}, 2)
        assert b.execute(f"SELECT count(*) FROM pgmq.a_{queue} WHERE msg_id = %s", (msg,)).fetchone()[0] == 1
        assert b.execute(f"SELECT count(*) FROM pgmq.q_{queue} WHERE msg_id = %s", (msg,)).fetchone()[0] == 0


def test_fenced_completions_racing_reclaims_complete_each_item_once(db_url, conn, queue):
    """Worker A holds 60 items whose timeout has expired; A completes them with its attempt while
    worker B concurrently re-claims and completes them with its own: every item is completed by
    exactly one of them, and every refusal of A is a ZA108 for an item B claimed."""
    conn.execute("SELECT animus.configure_queue(queue => %s, archive_messages => true)", (queue,))   # count settles
    conn.execute("SELECT count(*) FROM animus.submit_work_batch("
                 " (SELECT jsonb_agg(jsonb_build_object('work_type', 'job', 'source', 'test')) FROM generate_series(1, 60)),"
                 " queue => %s)", (queue,))
    held = conn.execute("SELECT work_id, attempts FROM animus.read_work(queue => %s, vt => '0.2 seconds', qty => 100)",
                        (queue,)).fetchall()
    assert len(held) == 60
    time.sleep(0.4)
    a_done: list = []
    a_refused: list = []
    b_claimed: list = []
    b_done: list = []

    def worker(i):
        with psycopg.connect(db_url, autocommit=True) as c:
            if i == 0:
                for wid, att in held:
                    try:
                        c.execute("SELECT animus.complete_work(work_id => %s, attempt => %s)", (wid, att))
                        a_done.append(wid)
                    except psycopg.Error as exc:
                        assert exc.diag.sqlstate == "ZA108", exc
                        a_refused.append(wid)
            else:
                while True:
                    rows = c.execute("SELECT work_id, attempts FROM animus.read_work(queue => %s, qty => 3)", (queue,)).fetchall()
                    if not rows:
                        return
                    b_claimed.extend(w for w, _ in rows)
                    done = c.execute("SELECT work_id FROM animus.complete_work(work_ids => %s, attempts => %s) WHERE completed",
                                     ([w for w, _ in rows], [n for _, n in rows])).fetchall()
                    b_done.extend(w for (w,) in done)

    run_threads(2, worker)
    assert len(a_done) + len(b_done) == 60
    assert set(a_done).isdisjoint(b_done)
    assert set(a_refused) <= set(b_claimed)
    assert set(b_done) == set(b_claimed)
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'completed'",
                        (queue,)).fetchone()[0] == 60
    assert conn.execute(f"SELECT count(*), count(DISTINCT msg_id) FROM pgmq.a_{queue}").fetchone() == (60, 60)
