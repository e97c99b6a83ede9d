"""Queues shared by tenants: per-queue grants proven with real concurrent sessions of two
tenants (each a login role member of animus_producer / animus_worker), a stranger (a login with
no animus role) who cannot block queue administration, and the Worker's side of the queue's
limits: it claims only the work types it handles, coalesces spurious wake-ups, and never reports
a heartbeat refused for an item it has just completed."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from test_py_worker import run_worker, wait_for


PASSWORD = "tenant-" + uuid.uuid4().hex


def login_url(db_url: str, role: str) -> str:
    parts = urlsplit(db_url)
    return urlunsplit(parts._replace(netloc=f"{role}:{PASSWORD}@{parts.hostname}:{parts.port}"))


@pytest.fixture
def tenants(conn, db_url):
    """Two tenants a and b, each with a queue, a producer login and a worker login; the group
    roles' '*' grants are revoked for the test (confined, as an admin would) and restored."""
    tag = uuid.uuid4().hex[:6]
    out = {}
    for t in ("a", "b"):
        q = f"tn_{t}_{tag}"
        conn.execute("SELECT animus.create_queue(%s)", [q])
        prod, work = f"animus_tn_prod_{t}_{tag}", f"animus_tn_work_{t}_{tag}"
        conn.execute(f"CREATE ROLE {prod} LOGIN PASSWORD '{PASSWORD}' IN ROLE animus_producer")
        conn.execute(f"CREATE ROLE {work} LOGIN PASSWORD '{PASSWORD}' IN ROLE animus_worker")
        conn.execute("SELECT animus.grant_queue(%s, %s), animus.grant_queue(%s, %s)", [prod, q, work, q])
        out[t] = {"queue": q, "producer": login_url(db_url, prod), "worker": login_url(db_url, work),
                  "roles": (prod, work)}
    conn.execute("SELECT animus.revoke_queue('animus_producer', '*'), animus.revoke_queue('animus_worker', '*')")
    try:
        yield out
    finally:
        conn.execute("SELECT animus.grant_queue('animus_producer', '*'), animus.grant_queue('animus_worker', '*')")
        for t in out.values():
            conn.execute("SELECT animus.drop_queue(%s)", [t["queue"]])
            for role in t["roles"]:
                conn.execute(f"DROP ROLE {role}")


def sqlstate_of(conn, sql, params=()):
    try:
        conn.execute(sql, params)
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def test_two_tenants_running_at_once_see_and_settle_only_their_own_queue(tenants, conn):
    n = 150
    submitted = {"a": [], "b": []}
    completed = {"a": [], "b": []}
    refused: list[tuple[str, str, str | None]] = []   # (tenant, attack, sqlstate)
    errors: list[BaseException] = []
    done_submitting = threading.Event()

    def producer(t, other):
        try:
            with psycopg.connect(tenants[t]["producer"], autocommit=True) as c:
                for i in range(n):
                    submitted[t].append(c.execute("SELECT work_id FROM animus.submit_work('job', %s, queue => %s)",
                                                  [t, tenants[t]["queue"]]).fetchone()[0])
                    if i % 10 == 0:   # attacks on the other tenant, while it works
                        refused.append((t, "submit", sqlstate_of(
                            c, "SELECT animus.submit_work('job', 'x', queue => %s)", [tenants[other]["queue"]])))
                        if submitted[other]:
                            victim = submitted[other][-1]
                            refused.append((t, "get_work", sqlstate_of(c, "SELECT * FROM animus.get_work(%s)", [victim])))
                            refused.append((t, "cancel", sqlstate_of(c, "SELECT animus.cancel_work(%s)", [victim])))
                        refused.append((t, "queue_stats", sqlstate_of(
                            c, "SELECT * FROM animus.queue_stats(%s)", [tenants[other]["queue"]])))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def worker(t, other):
        try:
            with psycopg.connect(tenants[t]["worker"], autocommit=True) as c:
                idle_since = None
                while True:
                    rows = c.execute("SELECT work_id, attempts FROM animus.read_work(%s, qty => 5)",
                                     [tenants[t]["queue"]]).fetchall()
                    refused.append((t, "read_work", sqlstate_of(
                        c, "SELECT * FROM animus.read_work(%s)", [tenants[other]["queue"]])))
                    for wid, attempt in rows:
                        # Try to settle the other tenant's running items first.
                        for vid, in conn.execute("SELECT id FROM animus.work_items WHERE queue_name = %s AND state = 'running' LIMIT 1",
                                                 [tenants[other]["queue"]]).fetchall():
                            refused.append((t, "complete", sqlstate_of(c, "SELECT animus.complete_work(%s::uuid)", [vid])))
                            refused.append((t, "heartbeat", sqlstate_of(c, "SELECT * FROM animus.heartbeat_work(%s)", [vid])))
                        c.execute("SELECT animus.complete_work(%s::uuid, attempt => %s)", [wid, attempt])
                        completed[t].append(wid)
                    if rows:
                        idle_since = None
                    elif done_submitting.is_set():
                        idle_since = idle_since or time.monotonic()
                        if time.monotonic() - idle_since > 1.0:
                            return
                    else:
                        time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=f, args=(t, o)) for f in (producer, worker) for t, o in (("a", "b"), ("b", "a"))]
    producers, workers = threads[:2], threads[2:]
    for th in threads:
        th.start()
    for th in producers:
        th.join(120)
    done_submitting.set()
    for th in workers:
        th.join(120)
    assert errors == []
    for t in ("a", "b"):
        assert sorted(completed[t]) == sorted(submitted[t]), f"tenant {t}'s worker completed exactly tenant {t}'s items"
    assert not set(completed["a"]) & set(submitted["b"])
    expected = {"submit": "ZA109", "get_work": "ZA102", "cancel": "ZA102", "queue_stats": "ZA109",
                "read_work": "ZA109", "complete": "ZA102", "heartbeat": "ZA102"}
    assert {a for _, a, _ in refused} >= {"submit", "get_work", "cancel", "queue_stats", "read_work"}
    wrong = [(t, a, s) for t, a, s in refused if s != expected[a]]
    assert wrong == [], "every cross-tenant call was refused as if the queue or item did not exist"
    states = conn.execute("SELECT state, count(*) FROM animus.work_items WHERE queue_name = ANY(%s) GROUP BY state",
                          [[tenants["a"]["queue"], tenants["b"]["queue"]]]).fetchall()
    assert states == [("completed", 2 * n)], "no attack cancelled or settled another tenant's item"


def test_a_stranger_holding_the_old_lock_key_no_longer_blocks_create_queue(conn, db_url):
    role = "animus_stranger_" + uuid.uuid4().hex[:6]
    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")   # no animus role at all
    q = "tn_lock_" + uuid.uuid4().hex[:6]
    try:
        with psycopg.connect(login_url(db_url, role), autocommit=True) as stranger:
            stranger.execute("SELECT pg_advisory_lock(hashtext('animus.work_generate_queue_functions'))")
            # ... and cannot take the lock that replaced it either
            assert sqlstate_of(stranger, "SELECT 1 FROM animus.queue_admin_lock FOR UPDATE") == "42501"
            assert sqlstate_of(stranger, "DO $$ BEGIN LOCK TABLE animus.queue_admin_lock IN ACCESS SHARE MODE; END $$") == "42501"
            with psycopg.connect(db_url, autocommit=True) as admin:
                admin.execute("SET statement_timeout = '5s'")
                t0 = time.monotonic()
                assert admin.execute("SELECT animus.create_queue(%s)", [q]).fetchone()[0] is True
                assert admin.execute("SELECT animus.drop_queue(%s)", [q]).fetchone()[0] == 0
                assert time.monotonic() - t0 < 5
    finally:
        conn.execute(f"DROP ROLE {role}")


def test_a_worker_leaves_the_work_types_it_has_no_handler_for_queued(client, conn, queue_name):
    handled = client.submit_work("known", "test", queue=queue_name).work_id
    unhandled = client.submit_work("unknown", "test", queue=queue_name).work_id
    worker = animus.Worker(client, {"known": lambda item: {"ok": True}}, queue=queue_name, concurrency=2,
                           poll_interval=0.2)
    t = run_worker(worker)
    try:
        assert wait_for(lambda: worker.processed >= 1)
        time.sleep(0.6)          # a few more polls: the other type is still not claimed
    finally:
        worker.stop()
        t.join(10)
    assert conn.execute("SELECT state FROM animus.work_items WHERE id = %s", [handled]).fetchone()[0] == "completed"
    assert conn.execute("SELECT state, attempts FROM animus.work_items WHERE id = %s", [unhandled]).fetchone() == ("queued", 0)
    assert worker.failed == 0
    queued = {s.state: s.items for s in client.queue_stats(queue_name)}["queued"]
    assert queued == 1, "the unhandled item shows in queue_stats as queued"
    # A worker that has the handler runs it.
    later = animus.Worker(client, {"unknown": lambda item: None}, queue=queue_name, poll_interval=0.2)
    t = run_worker(later)
    try:
        assert wait_for(lambda: later.processed >= 1)
    finally:
        later.stop()
        t.join(10)


def test_a_flood_of_notifies_is_coalesced_into_one_read_per_throttle(client, conn, db_url, queue_name):
    # worker.reads counts its read_work calls (claims run on the worker's own async client)
    worker = animus.Worker(client, {"job": lambda item: None}, queue=queue_name, poll_interval=30,
                           notify_throttle=0.25)
    counting = worker
    t = run_worker(worker)
    role = "animus_stranger_" + uuid.uuid4().hex[:6]
    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    try:
        assert wait_for(lambda: counting.reads >= 1)
        time.sleep(0.3)
        before = counting.reads
        t0 = time.monotonic()
        with psycopg.connect(login_url(db_url, role), autocommit=True) as stranger:
            sent = 0
            while time.monotonic() - t0 < 1.5:     # any login may NOTIFY the channel
                stranger.execute("SELECT pg_notify('animus_work', %s)", [queue_name])
                sent += 1
        elapsed = time.monotonic() - t0
        time.sleep(0.4)
        reads = counting.reads - before
        assert sent > 100
        # at most one read per throttle window, plus the recheck after each
        assert reads <= 2 * (elapsed / 0.25 + 2), f"{reads} reads for {sent} notifications in {elapsed:.1f}s"
        assert worker.wakeups["coalesced"] > 0
        # and real work still wakes it up
        client.submit_work("job", "test", queue=queue_name)
        assert wait_for(lambda: worker.processed >= 1, timeout=5)
    finally:
        worker.stop()
        t.join(10)
        conn.execute(f"DROP ROLE {role}")


def test_heartbeats_never_race_completions(client, conn, queue_name, caplog):
    n = 1500
    client.submit_work_batch([{"work_type": "noop", "source": "test"} for _ in range(n)], queue=queue_name)
    worker = animus.Worker(client, {"noop": lambda item: None}, queue=queue_name, concurrency=8,
                           heartbeat_interval=0.005, poll_interval=0.2)
    with caplog.at_level(logging.WARNING, logger="animus"):
        t = run_worker(worker)
        try:
            assert wait_for(lambda: worker.processed >= n, timeout=120)
        finally:
            worker.stop()
            t.join(20)
    refused = [r.getMessage() for r in caplog.records if "heartbeat" in r.getMessage()]
    assert refused == [], f"{len(refused)} heartbeats refused for items that had just completed: {refused[:3]}"


def test_the_client_pages_through_every_submission_of_a_capped_item(client, queue_name):
    first = client.submit_work("hot", "first", queue=queue_name, dedup_key="k").work_id
    client.submit_work_batch([{"work_type": "hot", "source": f"s{i}", "dedup_key": "k"} for i in range(150)],
                             queue=queue_name)
    details = client.get_work(first)
    assert len(details.item.requesters) == 100 and details.item.requesters_total == 151
    seen, page = [], client.get_work_submissions(first, page_size=64)
    while page:
        seen += page
        page = client.get_work_submissions(first, after=page[-1].id, page_size=64)
    assert [s.source for s in seen] == [f"s{i}" for i in range(150)], "every merged submission, oldest first, once"
    [item] = client.read_work(queue_name, vt=30)
    assert len(item.requesters) == 100 and item.requesters_total == 151
