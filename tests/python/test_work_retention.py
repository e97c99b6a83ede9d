"""Retention without long locks (animus.purge_work in batches) and the lean settle path (a settled
item's message is deleted unless the queue archives): proved with concurrent sessions."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401


def _ended(conn, queue: str, n: int, age: str = "2 days") -> list:
    conn.execute("SELECT count(*) FROM animus.submit_work_batch("
                 " (SELECT jsonb_agg(jsonb_build_object('work_type', 'p', 'source', 'test')) FROM generate_series(1, %s)),"
                 " queue => %s)", [n, queue])
    ids = [r[0] for r in conn.execute("SELECT work_id FROM animus.read_work(%s, qty => %s)", [queue, n])]
    conn.execute("SELECT count(*) FROM animus.complete_work(%s::uuid[])", [ids])
    conn.execute(f"UPDATE animus.work_items SET resolved_at = resolved_at - interval '{age}' WHERE id = ANY (%s)", [ids])
    return ids


def test_purge_skips_rows_another_session_holds_and_never_waits(db_url, conn, queue_name):
    """A session holds one old ended item locked (an operator inspecting it FOR UPDATE, a slow
    settle of a merged row): purge_work deletes the others at once, without waiting for the
    lock, and the held one on a later call once the lock is gone."""
    ids = _ended(conn, queue_name, 50)
    with psycopg.connect(db_url) as holder:          # a transaction: the lock is held until rollback
        holder.execute("SELECT 1 FROM animus.work_items WHERE id = %s FOR UPDATE", [ids[0]])
        t0 = time.monotonic()
        with psycopg.connect(db_url, autocommit=True) as c:
            c.execute("SET lock_timeout = '5s'")
            n = c.execute("SELECT items_deleted FROM animus.purge_work(older_than => '1 day', queue => %s)",
                          [queue_name]).fetchone()[0]
        assert time.monotonic() - t0 < 4, "purge_work waited for a row lock"
        assert n == 49
        holder.rollback()
    assert conn.execute("SELECT array_agg(id) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0] == [ids[0]]
    assert conn.execute("SELECT items_deleted FROM animus.purge_work(older_than => '1 day', queue => %s)",
                        [queue_name]).fetchone()[0] == 1


def test_claims_and_completions_go_on_while_retention_runs(db_url, conn, queue_name):
    """A purge loop (batch_size 100) on one session, a worker claiming and completing on another:
    every new item completes exactly once, nothing new is purged, every old item is purged."""
    old = _ended(conn, queue_name, 2000)
    conn.execute("SELECT count(*) FROM animus.submit_work_batch("
                 " (SELECT jsonb_agg(jsonb_build_object('work_type', 'n', 'source', 'test')) FROM generate_series(1, 1000)),"
                 " queue => %s)", [queue_name])
    stop = threading.Event()
    purged: list[int] = []
    done: list = []
    errors: list[BaseException] = []

    def purger():
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                while not stop.is_set():
                    n = c.execute("SELECT items_deleted FROM animus.purge_work(older_than => '1 day', queue => %s, batch_size => 100)",
                                  [queue_name]).fetchone()[0]
                    purged.append(n)
                    if n == 0:
                        return
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def worker():
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                while len(done) < 1000:
                    ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work(%s, qty => 50, work_types => ARRAY['n'])",
                                                   [queue_name])]
                    if ids:
                        got = c.execute("SELECT work_id FROM animus.complete_work(%s::uuid[]) WHERE completed", [ids]).fetchall()
                        done.extend(r[0] for r in got)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=purger), threading.Thread(target=worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    assert not errors, errors[0]
    assert len(done) == len(set(done)) == 1000
    assert sum(purged) == 2000 and max(purged) <= 100
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [old]).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'completed'",
                        [queue_name]).fetchone()[0] == 1000


def test_settled_messages_are_deleted_unless_the_queue_archives(client, conn, queue_name):
    r = client.submit_work("a", "test", queue=queue_name)
    [item] = client.read_work(queue_name)
    client.complete_work(item.id, attempt=item.attempts)
    assert conn.execute(f"SELECT count(*) FROM pgmq.q_{queue_name}").fetchone()[0] == 0
    assert conn.execute(f"SELECT count(*) FROM pgmq.a_{queue_name}").fetchone()[0] == 0
    assert client.get_work(r.work_id).item.state == "completed"       # animus keeps the outcome
    assert client.configure_queue(queue_name, archive_messages=True)["archive_messages"] is True
    r2 = client.submit_work("a", "test", queue=queue_name)
    [item] = client.read_work(queue_name)
    client.complete_work(item.id, attempt=item.attempts)
    assert conn.execute(f"SELECT count(*) FROM pgmq.a_{queue_name} WHERE message ->> 'work_id' = %s",
                        [str(r2.work_id)]).fetchone()[0] == 1
    rows = client.purge_work(0, queue=queue_name, batch_size=1)
    assert rows == [{"queue_name": queue_name, "items_deleted": 1, "archived_messages_deleted": 1}]
    with pytest.raises(animus.InvalidArgument):
        client.purge_work(0, queue=queue_name, batch_size=0)
