"""Per-key concurrency and rate limits, proved with concurrent sessions (each claimer thread has its
own connection): read_work never admits an item over its key's max_running or rate, keys are served
fairly, and everything ends, also after a worker dies holding keyed items and after cancel, release
and failed attempts. Plus the Python API and its errors."""
from __future__ import annotations

import collections
import random
import threading
import time
from datetime import timedelta

import psycopg
import pytest

import animus
from animus_fixtures import client, otel, queue_name, wait_for  # noqa: F401


def _claimer(db_url: str, queue: str, stop: threading.Event, log: list, *, qty: int = 5,
             work_s: tuple[float, float] = (0.0, 0.0), errors: list, action=None):
    """Claims in a loop on its own connection; logs (key, claimed_at, settling_at) per item."""
    try:
        with psycopg.connect(db_url, autocommit=True) as c:
            while not stop.is_set():
                rows = c.execute(
                    "SELECT r.work_id, r.attempts, w.concurrency_key FROM animus.read_work(%s, vt => '60 seconds', qty => %s) r"
                    " JOIN animus.work_items w ON w.id = r.work_id", [queue, qty]).fetchall()
                if not rows:
                    time.sleep(0.005)
                    continue
                claimed = time.monotonic()
                if work_s[1] > 0:
                    time.sleep(random.uniform(*work_s))
                for work_id, attempt, key in rows:
                    settling = time.monotonic()
                    log.append((key, claimed, settling))
                    if action is None:
                        c.execute("SELECT animus.complete_work(%s, attempt => %s)", [work_id, attempt])
                    else:
                        action(c, work_id, attempt)
    except Exception as e:  # noqa: BLE001 - surfaced by the test
        errors.append(e)


def _run_claimers(db_url, queue, n, done, timeout, **kw):
    stop = threading.Event()
    log: list = []
    errors: list = []
    threads = [threading.Thread(target=_claimer, args=(db_url, queue, stop, log), kwargs=dict(errors=errors, **kw), daemon=True)
               for _ in range(n)]
    for t in threads:
        t.start()
    try:
        ok = wait_for(done, timeout=timeout, step=0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors
    return ok, log


def _max_overlap(intervals):
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


def test_max_running_is_never_exceeded(db_url, conn, queue_name):
    """Safety: 6 claimer sessions on a backlog of 3 keys with max_running 3 each; a probe session
    watching the running count per key and the claimers' own logs never see more than 3."""
    conn.execute("SELECT animus.set_concurrency_limit(%s, max_running => 3)", [queue_name])
    items = [{"work_type": "t", "source": "test", "concurrency_key": f"k{i % 3}"} for i in range(180)]
    conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s, queue => %s)", [psycopg.types.json.Jsonb(items), queue_name])
    seen: dict[str, int] = collections.defaultdict(int)
    stop_probe = threading.Event()

    def probe():
        with psycopg.connect(db_url, autocommit=True) as c:
            while not stop_probe.is_set():
                for key, n in c.execute("SELECT concurrency_key, count(*) FROM animus.work_items WHERE queue_name = %s"
                                        " AND state = 'running' GROUP BY 1", [queue_name]):
                    seen[key] = max(seen[key], n)

    p = threading.Thread(target=probe, daemon=True)
    p.start()
    done = lambda: conn.execute("SELECT count(*) FILTER (WHERE state = 'completed') = 180 FROM animus.work_items"  # noqa: E731
                                " WHERE queue_name = %s", [queue_name]).fetchone()[0]
    try:
        ok, log = _run_claimers(db_url, queue_name, 6, done, 90, qty=4, work_s=(0.01, 0.03))
    finally:
        stop_probe.set()
        p.join(5)
    assert ok, "not every item completed"
    assert max(seen.values()) <= 3, f"the probe saw more than 3 running for a key: {dict(seen)}"
    assert max(seen.values()) == 3, f"the limit was never used up (no concurrency?): {dict(seen)}"
    by_key = collections.defaultdict(list)
    for key, a, b in log:
        by_key[key].append((a, b))
    for key, iv in by_key.items():
        # [claim returned, settle sent] lies inside the item's running time: an overlap of more
        # than 3 here would be one in the database too
        assert _max_overlap(iv) <= 3, f"key {key}: the claimers' logs overlap more than 3"
    assert conn.execute("SELECT count(*) FROM animus.concurrency_held WHERE queue_name = %s", [queue_name]).fetchone()[0] == 0


def test_rate_per_window_is_never_exceeded(db_url, conn, queue_name):
    """Rate: 4 claimer sessions, a key limited to 6 cost units per 1-second window, items of cost 1
    and 2: the cost started in each window (by started_at) never exceeds 6, over several windows."""
    conn.execute("SELECT animus.set_concurrency_limit(%s, 'tok', rate => 6, period => '1 second')", [queue_name])
    items = [{"work_type": "t", "source": "test", "concurrency_key": "tok", "cost": 1 + i % 2} for i in range(30)]
    conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s, queue => %s)", [psycopg.types.json.Jsonb(items), queue_name])
    done = lambda: conn.execute("SELECT count(*) FILTER (WHERE state = 'completed') = 30 FROM animus.work_items"  # noqa: E731
                                " WHERE queue_name = %s", [queue_name]).fetchone()[0]
    ok, _ = _run_claimers(db_url, queue_name, 4, done, 30, qty=10)
    assert ok, "not every item completed"
    windows = conn.execute(
        "SELECT date_bin('1 second', started_at, '2000-01-01 00:00:00+00') AS w, sum(cost), count(*) FROM animus.work_items"
        " WHERE queue_name = %s GROUP BY 1 ORDER BY 1", [queue_name]).fetchall()
    assert len(windows) >= 7, f"45 cost units at 6 per second take at least 8 windows: {windows}"
    assert all(used <= 6 for _, used, _ in windows), f"a window started more than 6 cost units: {windows}"
    assert sum(n for *_, n in windows) == 30


def test_a_big_backlog_does_not_starve_a_small_key(db_url, conn, queue_name):
    """Fairness: 10,000 items of key a, then 10 of key b, max_running 2 per key, 4 claimers:
    every item of b completes while most of a's are still pending."""
    conn.execute("SELECT animus.set_concurrency_limit(%s, max_running => 2)", [queue_name])
    for _ in range(2):
        conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s, queue => %s)",
                     [psycopg.types.json.Jsonb([{"work_type": "t", "source": "big", "concurrency_key": "a"}] * 5000), queue_name])
    conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s, queue => %s)",
                 [psycopg.types.json.Jsonb([{"work_type": "t", "source": "small", "concurrency_key": "b"}] * 10), queue_name])
    t0 = time.monotonic()
    b_done = lambda: conn.execute("SELECT count(*) = 10 FROM animus.work_items WHERE queue_name = %s"  # noqa: E731
                                  " AND concurrency_key = 'b' AND state = 'completed'", [queue_name]).fetchone()[0]
    ok, _ = _run_claimers(db_url, queue_name, 4, b_done, 60, qty=50)
    took = time.monotonic() - t0
    assert ok, "key b's 10 items did not all complete behind key a's backlog"
    a_completed = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND concurrency_key = 'a'"
                               " AND state = 'completed'", [queue_name]).fetchone()[0]
    assert a_completed < 5000, f"{a_completed} of a's 10,000 completed before b's 10: b waited for a"
    print(f"fairness: b's 10 items done in {took:.2f} s, a completed {a_completed} of 10000 meanwhile")


def test_everything_ends_after_a_worker_dies_holding_keyed_items(db_url, conn, queue_name):
    """Liveness: a worker claims the 2 slots of a key with a 1 s visibility timeout and dies; the
    held items wait, the dead claims time out, are claimed again (keeping their slot), and every
    item completes without any sweep."""
    conn.execute("SELECT animus.set_concurrency_limit(%s, 'k', max_running => 2)", [queue_name])
    for _ in range(8):
        conn.execute("SELECT animus.submit_work('t', 's', queue => %s, concurrency_key => 'k')", [queue_name])
    with psycopg.connect(db_url, autocommit=True) as dying:
        n = len(dying.execute("SELECT * FROM animus.read_work(%s, vt => '1 second', qty => 8)", [queue_name]).fetchall())
    assert n == 2, "the dying worker got the key's 2 slots"
    done = lambda: conn.execute("SELECT count(*) FILTER (WHERE state = 'completed') = 8 FROM animus.work_items"  # noqa: E731
                                " WHERE queue_name = %s", [queue_name]).fetchone()[0]
    ok, _ = _run_claimers(db_url, queue_name, 3, done, 30, qty=4)
    assert ok, conn.execute("SELECT * FROM animus.concurrency_stats(%s)", [queue_name]).fetchall()


def test_everything_ends_after_cancel_release_and_failed_attempts(db_url, conn, queue_name):
    """Liveness: claimers that cancel, release, fail (retry) or complete items at random: every
    item ends (completed, cancelled or dead) and nothing stays held or queued."""
    conn.execute("SELECT animus.configure_queue(%s, backoff_base => '0', backoff_cap => '0')", [queue_name])
    conn.execute("SELECT animus.set_concurrency_limit(%s, max_running => 2)", [queue_name])
    items = [{"work_type": "t", "source": "test", "concurrency_key": f"k{i % 2}", "max_attempts": 3} for i in range(60)]
    conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s, queue => %s)", [psycopg.types.json.Jsonb(items), queue_name])
    rng = random.Random(7)

    def act(c, work_id, attempt):
        r = rng.random()
        if r < 0.15:
            c.execute("SELECT animus.cancel_work(%s)", [work_id])
        elif r < 0.35:
            c.execute("SELECT animus.release_work(%s, attempt => %s)", [work_id, attempt])
        elif r < 0.6:
            c.execute("SELECT * FROM animus.fail_work(%s, 'boom', attempt => %s)", [work_id, attempt])
        else:
            c.execute("SELECT animus.complete_work(%s, attempt => %s)", [work_id, attempt])

    done = lambda: conn.execute("SELECT count(*) FILTER (WHERE state IN ('queued', 'running')) = 0 FROM animus.work_items"  # noqa: E731
                                " WHERE queue_name = %s", [queue_name]).fetchone()[0]
    ok, log = _run_claimers(db_url, queue_name, 4, done, 60, qty=3, action=act)
    assert ok, conn.execute("SELECT * FROM animus.concurrency_stats(%s)", [queue_name]).fetchall()
    states = dict(conn.execute("SELECT state, count(*) FROM animus.work_items WHERE queue_name = %s GROUP BY 1", [queue_name]).fetchall())
    assert sum(states.values()) == 60 and states.get("completed", 0) > 0 and states.get("cancelled", 0) > 0, states
    assert conn.execute("SELECT count(*) FROM animus.concurrency_held WHERE queue_name = %s", [queue_name]).fetchone()[0] == 0


def test_sweep_wakes_items_a_raised_limit_frees(conn, queue_name, client):
    """The safety net: held items of a key whose limit was raised behind the functions' back (a
    direct table update: no wake) are woken by sweep_concurrency_keys, as many as there are free slots."""
    client.set_concurrency_limit(queue_name, "k", max_running=1)
    for _ in range(5):
        client.submit_work("t", "s", queue=queue_name, concurrency_key="k")
    assert len(client.read_work(queue_name, qty=5)) == 1
    assert client.concurrency_stats(queue_name)[0].held == 4
    conn.execute("UPDATE animus.concurrency_limits SET max_running = 3 WHERE queue_name = %s", [queue_name])
    assert client.read_work(queue_name, qty=5) == [], "held items stay held until woken"
    assert client.sweep_concurrency_keys(queue_name) == 2, "2 free slots: 2 woken"
    assert len(client.read_work(queue_name, qty=5)) == 2
    assert client.sweep_concurrency_keys() == 0


def test_python_api_and_bad_input(client, queue_name, conn):
    lim = client.set_concurrency_limit(queue_name, "tenant-a", max_running=2, rate=100, period=60)
    assert (lim.queue, lim.key, lim.max_running, lim.rate, lim.period) == (queue_name, "tenant-a", 2, 100, timedelta(minutes=1))
    r = client.submit_work("t", "s", queue=queue_name, concurrency_key="tenant-a", cost=10)
    assert conn.execute("SELECT concurrency_key, cost FROM animus.work_items WHERE id = %s", [r.work_id]).fetchone() == ("tenant-a", 10)
    assert len(client.read_work(queue_name)) == 1
    (st,) = client.concurrency_stats(queue_name)
    assert (st.key, st.running, st.queued, st.held, st.window_used, st.max_running) == ("tenant-a", 1, 0, 0, 10, 2)
    client.configure_queue(queue_name, concurrency_param="tenant")
    r2 = client.submit_work("t", "s", queue=queue_name, params={"tenant": "tenant-b"})
    assert conn.execute("SELECT concurrency_key FROM animus.work_items WHERE id = %s", [r2.work_id]).fetchone()[0] == "tenant-b"
    assert client.drop_concurrency_limit(queue_name, "tenant-a").key == "tenant-a"

    before = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0]
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.submit_work("t", "s", queue=queue_name, concurrency_key=" ")
    assert e.value.sqlstate == "ZA125" and e.value.hint
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.submit_work("t", "s", queue=queue_name, concurrency_key="x" * 201)
    assert e.value.sqlstate == "ZA125"
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.submit_work("t", "s", queue=queue_name, cost=0)
    assert e.value.sqlstate == "ZA126"
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.submit_work("t", "s", queue=queue_name, params={"tenant": ""})
    assert e.value.sqlstate == "ZA125" and "tenant" in str(e.value)
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0] == before
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.set_concurrency_limit(queue_name, "k", rate=5)
    assert e.value.sqlstate == "ZA127" and "period" in str(e.value)
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.set_concurrency_limit(queue_name, "k", rate=5, period=0)
    assert e.value.sqlstate == "ZA127"
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.set_concurrency_limit(queue_name, "k", max_running=0)
    assert e.value.sqlstate == "ZA127"
    with pytest.raises(animus.ConcurrencyLimitNotFound) as e:
        client.drop_concurrency_limit(queue_name, "never")
    assert e.value.sqlstate == "ZA128"
    with pytest.raises(animus.QueueNotFound):
        client.set_concurrency_limit("t_no_such_queue", max_running=1)
    with pytest.raises(animus.InvalidWorkArgument) as e:
        client.configure_queue(queue_name, concurrency_param="  ")
    assert e.value.sqlstate == "ZA129"
    assert conn.execute("SELECT count(*) FROM animus.concurrency_limits WHERE queue_name = %s", [queue_name]).fetchone()[0] == 0
