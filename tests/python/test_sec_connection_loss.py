"""Connection loss during a Python call: a clear, retryable error (animus.ConnectionFailed), the
next call works; an animus.Worker whose connections are all killed reconnects with backoff and
carries on, and the item it held when the connections died is redelivered, not lost."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from animus_fixtures import wait_for
from test_sec_faults import record



def kill_other_sessions(admin, db: str) -> int:
    return admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                         " WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                         [db]).fetchone()[0]


def test_connection_killed_during_a_call_raises_connection_failed_and_the_retry_works(client, db_url, queue_name):
    first = client.submit_work("loss", "test", dedup_key="k", queue=queue_name)
    with psycopg.connect(db_url) as blocker, psycopg.connect(db_url, autocommit=True) as admin:
        # Block every write to the work items, so the submit below waits inside the server...
        blocker.execute("LOCK TABLE animus.work_items IN EXCLUSIVE MODE")
        outcome: dict = {}

        def call():
            try:
                outcome["result"] = client.submit_work("loss", "test", dedup_key="k", queue=queue_name)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                outcome["error"] = exc

        t = threading.Thread(target=call)
        t.start()
        pid = wait_for(lambda: admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            " AND pid <> %s", [blocker.info.backend_pid]).fetchone(), 15)
        assert pid, "the call never reached the server"
        # ... and kill its connection mid-call.
        admin.execute("SELECT pg_terminate_backend(%s)", [pid[0]])
        t.join(15)
        blocker.rollback()
    err = outcome.get("error")
    assert isinstance(err, animus.ConnectionFailed), f"expected ConnectionFailed, got {err!r}"
    assert isinstance(err, animus.AnimusError) and str(err), "the error must say what happened"
    # Retryable: the same call again succeeds on a fresh connection, and merges (nothing was written twice).
    again = client.submit_work("loss", "test", dedup_key="k", queue=queue_name)
    assert again.status == "merged" and again.canonical_id == first.work_id


def test_worker_reconnects_after_losing_every_connection_and_loses_nothing(client, db_url, queue_name):
    done: list[str] = []
    started = threading.Event()

    def handler(item):
        if item.params.get("slow"):
            started.set()
            time.sleep(1.0)          # in flight while its connections are killed
        done.append(str(item.id))
        return {"ok": True}

    worker = animus.Worker(client, {"loss": handler}, queue=queue_name, concurrency=2,
                           visibility_timeout=2, poll_interval=0.2)
    t = threading.Thread(target=worker.run, kwargs={"install_signal_handlers": False}, daemon=True)
    t.start()
    kills = 0
    try:
        slow = client.submit_work("loss", "test", params={"slow": True}, queue=queue_name)
        assert started.wait(15), "the worker never started the first item"
        with psycopg.connect(db_url, autocommit=True) as admin:
            db = admin.info.dbname
            kills += kill_other_sessions(admin, db)
            time.sleep(0.3)
            kills += kill_other_sessions(admin, db)       # again, while it reconnects
            ids = []
            for i in range(5):
                ids.append(wait_for(lambda: _submit(client, queue_name, i), 15))
            states = lambda: admin.execute("SELECT state, count(*) FROM animus.work_items WHERE id = ANY(%s) GROUP BY 1",
                                           [[slow.work_id, *ids]]).fetchall()
            assert wait_for(lambda: states() == [("completed", 6)], 30), f"the worker did not carry on: {states()}"
            attempts = admin.execute("SELECT attempts FROM animus.work_items WHERE id = %s", [slow.work_id]).fetchone()[0]
    finally:
        worker.stop(abort=True)
        t.join(15)
    assert t.is_alive() is False
    assert attempts >= 1
    record(test="connection_loss", sessions_killed=kills, items=6, completed=6, lost=0)


def _submit(client, queue, i):
    try:
        return client.submit_work("loss", "test", params={"i": i}, queue=queue).work_id
    except animus.ConnectionFailed:
        return None       # the pool still held a killed connection: retry, as an application would
