"""Retention without long locks (animus.purge_work in batches) and the lean settle path (a settled
item's message is deleted unless the queue archives): proved with concurrent sessions."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

import animus
from animus.retention import Retention
from animus_fixtures import client, otel, queue_name  # noqa: F401


def _ended(conn, queue: str, n: int, age: str = "2 days") -> list:
    conn.execute("SELECT count(*) FROM animus.submit_work_batch("
                 " (SELECT jsonb_agg(jsonb_build_object('work_type', 'p', 'source', 'test')) FROM generate_series(1, %s)),"
                 " queue => %s)", [n, queue])
    ids = [r[0] for r in conn.execute("SELECT work_id FROM animus.read_work(%s, qty => %s)", [queue, n])]
    conn.execute("SELECT count(*) FROM animus.complete_work(%s::uuid[])", [ids])
    conn.execute(f"UPDATE animus.work_items SET resolved_at = resolved_at - interval '{age}' WHERE id = ANY (%s)", [ids])
    return ids


def _claim_and_complete(db_url: str, queue: str, n: int, done: list, errors: list) -> None:
    """A worker thread's body: claims items of type 'n' in batches of 50 and completes them until
    n are done (their ids appended to done); an exception goes to errors."""
    try:
        with psycopg.connect(db_url, autocommit=True) as c:
            while len(done) < n:
                ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work(%s, qty => 50, work_types => ARRAY['n'])",
                                               [queue])]
                if ids:
                    got = c.execute("SELECT work_id FROM animus.complete_work(%s::uuid[]) WHERE completed", [ids]).fetchall()
                    done.extend(r[0] for r in got)
    except BaseException as exc:  # noqa: BLE001
        errors.append(exc)


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
        _claim_and_complete(db_url, queue_name, 1000, done, errors)

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



def test_a_queue_and_its_archive_get_autovacuum_settings_that_keep_up_with_retention(conn, queue_name):
    """The queue table is vacuumed after a fixed 1,000 dead rows, the archive (which retention
    purges in batches) after 2 % + 2,000, both without cost delay: not at PostgreSQL's 20 %."""
    def options(table: str) -> dict:
        row = conn.execute("SELECT c.reloptions FROM pg_class c WHERE c.oid = %s::regclass", (f"pgmq.{table}",)).fetchone()
        return dict(o.split("=", 1) for o in (row[0] or []))

    q, a = options(f"q_{queue_name}"), options(f"a_{queue_name}")
    assert (q["autovacuum_vacuum_scale_factor"], q["autovacuum_vacuum_threshold"], q["autovacuum_vacuum_cost_delay"]) == ("0", "1000", "0")
    assert (a["autovacuum_vacuum_scale_factor"], a["autovacuum_vacuum_threshold"], a["autovacuum_vacuum_cost_delay"]) == ("0.02", "2000", "0")

# ---------------------------------------------------------------- paced retention (animus.retention)

def _counts(conn, queue: str) -> dict:
    return dict(conn.execute("SELECT state, count(*) FROM animus.work_items WHERE queue_name = %s GROUP BY state",
                             [queue]).fetchall())


def _archived(conn, queue: str, n: int, age: str) -> None:
    """n archive rows archived ``age`` ago (a queue that archives settled messages)."""
    conn.execute(f"INSERT INTO pgmq.a_{queue} (msg_id, read_ct, enqueued_at, archived_at, vt, message)"
                 f" SELECT 1000000 + g, 1, now() - interval '{age}', now() - interval '{age}', now(), '{{}}'"
                 f"   FROM generate_series(1, %s) g", [n])


def test_paced_retention_deletes_exactly_the_ended_items_older_than_the_cut(client, conn, queue_name):
    """Ended items (completed, dead, cancelled) older than the cut go with their merged
    submissions, steps, dead-letter actions and archived messages as old; queued and running
    items, items that ended after the cut and newer archive rows stay, whatever their age."""
    client.configure_queue(queue_name, archive_messages=True)
    old_done = _ended(conn, queue_name, 30)                      # completed 2 days ago
    new_done = _ended(conn, queue_name, 7, age="1 hour")         # completed an hour ago
    # an old dead item with a dead-letter action, an old cancelled one
    dead = client.submit_work("d", "test", queue=queue_name, max_attempts=1).work_id
    [item] = client.read_work(queue_name)
    client.fail_work(item.id, "boom", attempt=item.attempts)
    assert client.discard_dead_work(dead)
    cancelled = client.submit_work("c", "test", queue=queue_name).work_id
    assert client.cancel_work(cancelled)
    # a step of an old completed item, a merged submission of an old canonical item
    conn.execute("INSERT INTO animus.work_steps (work_id, step_name, occurrence, kind, state, attempt, started_at)"
                 " VALUES (%s, 's', 1, 'step', 'done', 1, now())", [old_done[0]])
    canonical = client.submit_work("m", "test", queue=queue_name, dedup_key="k").work_id
    merged = client.submit_work("m", "test", queue=queue_name, dedup_key="k")
    assert merged.status == "merged"
    [item] = client.read_work(queue_name, work_types=["m"])
    client.complete_work(item.id, attempt=item.attempts)
    conn.execute("UPDATE animus.work_items SET resolved_at = now() - interval '3 days'"
                 " WHERE id = ANY (%s) OR merged_into = ANY (%s)", [[dead, cancelled, canonical], [canonical]])
    # old items that have not ended: queued for days, running for days
    queued = client.submit_work("q", "test", queue=queue_name).work_id
    running = client.submit_work("r", "test", queue=queue_name).work_id
    assert [i.id for i in client.read_work(queue_name, work_types=["r"])] == [running]
    conn.execute("UPDATE animus.work_items SET created_at = now() - interval '5 days', updated_at = now() - interval '5 days'"
                 " WHERE id = ANY (%s)", [[queued, running]])
    conn.execute(f"DELETE FROM pgmq.a_{queue_name}")
    _archived(conn, queue_name, 25, "2 days")
    conn.execute(f"UPDATE pgmq.a_{queue_name} SET archived_at = now() WHERE msg_id > 1000020")   # 5 new ones

    p = Retention(client, "1 day", queue=queue_name, batch_size=4).run_pass()

    gone = old_done + [dead, cancelled, canonical, merged.work_id]
    assert p.caught_up and p.items_deleted == len(gone) and p.archived_messages_deleted == 20
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [gone]).fetchone()[0] == 0
    left = {r[0]: r[1] for r in conn.execute("SELECT id, state FROM animus.work_items WHERE queue_name = %s", [queue_name])}
    assert left == {**{i: "completed" for i in new_done}, queued: "queued", running: "running"}
    assert conn.execute("SELECT count(*) FROM animus.work_steps WHERE work_id = %s", [old_done[0]]).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM animus.dead_work_actions WHERE work_id = %s", [dead]).fetchone()[0] == 0
    assert conn.execute(f"SELECT array_agg(msg_id ORDER BY msg_id) FROM pgmq.a_{queue_name}").fetchone()[0] == \
        list(range(1000021, 1000026))
    assert client.read_work(queue_name, work_types=["q"])[0].id == queued      # still claimable


def test_paced_retention_keeps_to_its_batch_size_rate_and_time(client, conn, queue_name):
    """Every purge_work call deletes at most batch_size items per queue; a pass with a rate cap
    takes at least as long as the cap requires; max_time stops a pass with rows left."""
    _ended(conn, queue_name, 300)
    calls: list[int] = []
    real = client.purge_work

    def spy(*a, **k):
        rows = real(*a, **k)
        calls.append(sum(r["items_deleted"] for r in rows))
        return rows

    client.purge_work = spy
    try:
        t0 = time.monotonic()
        p = Retention(client, "1 day", queue=queue_name, batch_size=20, rate=1000).run_pass()
        took = time.monotonic() - t0
        assert p.caught_up and p.items_deleted == 300
        assert max(calls) <= 20 and calls[-1] == 0 and sum(calls) == 300
        assert took >= (300 - 20) / 1000, f"300 rows at <= 1000 rows/s took {took:.3f} s"
        _ended(conn, queue_name, 200)
        calls.clear()
        p = Retention(client, "1 day", queue=queue_name, batch_size=10, pause=0.05, max_time=0.2).run_pass()
        assert not p.caught_up and 0 < p.items_deleted <= 10 * len(calls) < 200
        assert p.seconds < 2
    finally:
        del client.purge_work
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0] == \
        200 - p.items_deleted


def test_paced_retention_beside_a_worker(client, db_url, conn, queue_name):
    """Retention with a schedule (a pass every 0.1 s, batches of 50, rate capped) beside a worker
    claiming and completing: no error, every new item completes once and stays (retention 1 day),
    every old one is purged."""
    old = _ended(conn, queue_name, 1500)
    conn.execute("SELECT count(*) FROM animus.submit_work_batch("
                 " (SELECT jsonb_agg(jsonb_build_object('work_type', 'n', 'source', 'test')) FROM generate_series(1, 1000)),"
                 " queue => %s)", [queue_name])
    r = Retention(client, "1 day", queue=queue_name, batch_size=50, rate=20000, every=0.1)
    done: list = []
    errors: list[BaseException] = []
    result: list = []

    def worker():
        _claim_and_complete(db_url, queue_name, 1000, done, errors)

    def retention():
        try:
            result.append(r.run())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker), threading.Thread(target=retention)]
    for t in threads:
        t.start()
    threads[0].join(120)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and conn.execute(
            "SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [old]).fetchone()[0]:
        time.sleep(0.1)
    r.stop()
    threads[1].join(30)
    assert not errors, errors[0]
    assert result and result[0].caught_up
    assert len(done) == len(set(done)) == 1000
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [old]).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'completed'",
                        [queue_name]).fetchone()[0] == 1000


@pytest.mark.parametrize("kwargs, argument", [
    ({"older_than": None}, "older_than"),
    ({"older_than": "-1 day"}, "older_than"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 1000001}, "batch_size"),
])
def test_purge_work_refuses_bad_arguments_and_deletes_nothing(conn, queue_name, kwargs, argument):
    ids = _ended(conn, queue_name, 5)
    args = {"older_than": "0 seconds", "batch_size": 10, **kwargs}
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM animus.purge_work(older_than => %s::interval, queue => %s, batch_size => %s)",
                     [args["older_than"], queue_name, args["batch_size"]])
    diag = info.value.diag
    assert diag.sqlstate == "ZA002" and argument in diag.message_primary and diag.message_hint
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [ids]).fetchone()[0] == 5


def test_purge_work_refuses_an_unknown_queue(conn):
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM animus.purge_work(older_than => '0 seconds', queue => 'no_such_queue_x')")
    assert info.value.diag.sqlstate == "ZA101" and info.value.diag.message_hint


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": 1.5}, {"rate": 0}, {"duty": 0}, {"duty": 1.5}, {"pause": -1},
                                    {"max_time": 0}, {"every": 0}])
def test_retention_refuses_bad_settings(client, kwargs):
    with pytest.raises(ValueError):
        Retention(client, "1 day", **kwargs)


def test_a_session_resumes_where_it_stopped_and_a_new_pass_finds_what_was_locked(db_url, conn, queue_name):
    """purge_work resumes after the last item the session deleted (no scan over the index entries
    of the rows it deleted before); items ending at the same instant are all found, batch after
    batch; a row skipped because it was locked is purged by the next pass (the call after one
    that found nothing starts from the oldest again)."""
    ids = _ended(conn, queue_name, 50)        # one complete_work: many share an end time
    conn.execute("UPDATE animus.work_items SET resolved_at = now() - interval '2 days' WHERE id = ANY (%s)", [ids])
    with psycopg.connect(db_url) as holder, psycopg.connect(db_url, autocommit=True) as c:
        holder.execute("SELECT 1 FROM animus.work_items WHERE id = %s FOR UPDATE", [ids[0]])
        got = []
        while True:
            n = c.execute("SELECT items_deleted FROM animus.purge_work(older_than => '1 day', queue => %s, batch_size => 7)",
                          [queue_name]).fetchone()[0]
            got.append(n)
            if n == 0:
                break
        assert sum(got) == 49 and max(got) == 7
        holder.rollback()
        assert c.execute("SELECT items_deleted FROM animus.purge_work(older_than => '1 day', queue => %s, batch_size => 7)",
                         [queue_name]).fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue_name]).fetchone()[0] == 0


def test_paced_retention_keeps_to_its_share_of_time(client, conn, queue_name):
    """With duty 0.25, a pass spends at most a quarter of its time in purge_work calls (after a
    call of t seconds it sleeps 3 t): the time budget that slows retention down on a busy server."""
    _ended(conn, queue_name, 400)
    spent: list[float] = []
    real = client.purge_work

    def spy(*a, **k):
        t = time.monotonic()
        try:
            return real(*a, **k)
        finally:
            spent.append(time.monotonic() - t)

    client.purge_work = spy
    try:
        p = Retention(client, "1 day", queue=queue_name, batch_size=25, duty=0.25).run_pass()
    finally:
        del client.purge_work
    assert p.caught_up and p.items_deleted == 400 and p.calls == len(spent) == 17
    # the last call (it found nothing) ends the pass without a sleep after it
    assert sum(spent) <= 0.25 * p.seconds + spent[-1] + 0.01, (sum(spent), p.seconds)
    assert p.seconds >= 3 * sum(spent[:-1]) * 0.99


def test_animus_retention_on_the_command_line(tmp_path, db_url, conn, queue_name):
    """`animus retention` purges in batches until caught up and says what it deleted; a bad
    setting exits 2 with the argument named, an unknown queue stops it with 1."""
    from test_py_cli import animus_cli

    (tmp_path / ".env").write_text(f"DATABASE_URL={db_url}\n")
    old = _ended(conn, queue_name, 45)
    new = _ended(conn, queue_name, 5, age="1 hour")
    res = animus_cli("retention", "--older-than", "1 day", "--queue", queue_name, "--batch-size", "10",
                     "--duty", "0.5", "--no-telemetry", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "animus retention: 45 items, 0 archived messages deleted in 6 batches" in res.stdout
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [old]).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM animus.work_items WHERE id = ANY (%s)", [new]).fetchone()[0] == 5
    for args, flag in ((["--duty", "0"], "--duty"), (["--rate", "-1"], "--rate"), (["--batch-size", "0"], "--batch-size")):
        res = animus_cli("retention", "--no-telemetry", *args, cwd=tmp_path)
        assert res.returncode == 2 and f"argument {flag}:" in res.stderr, res.stderr
    res = animus_cli("retention", "--no-telemetry", "--queue", "no_such_queue_cli", cwd=tmp_path)
    assert res.returncode == 1 and "no work queue named 'no_such_queue_cli'" in res.stderr, res.stderr
