"""Faults: nothing acknowledged is lost.

* PostgreSQL killed with an immediate shutdown while 8 clients submit and 4 workers process, on a
  throwaway cluster (never the shared test server), then restarted: every submit that returned a
  row is present, every item is in exactly one terminal state, none is completed twice, the queue
  drains to empty. `make test` runs one crash; `make faults` (ANIMUS_FAULTS=full) several.
* Workers SIGKILLed mid-item, and a handler hanging past its visibility timeout: redelivered,
  attempts counted, dead-lettered at max_attempts, completed exactly once.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from animus_fixtures import queue_name  # noqa: F401
from test_py_worker import worker_log  # noqa: F401
from fault_cluster import Cluster, connect_retrying, scale

HERE = Path(__file__).resolve().parent
def record(**figures) -> None:
    """Figures for docs/faults.md: one JSON line per test, into $ANIMUS_FAULT_FIGURES when set
    (`make faults` sets it and prints the summary)."""
    path = os.environ.get("ANIMUS_FAULT_FIGURES")
    if path:
        with Path(path).open("a") as f:
            f.write(json.dumps(figures) + "\n")


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.start()
        c.deploy()
        yield c
    finally:
        c.destroy()


class Load:
    """8 submitting and 4 processing sessions, each its own connection, riding out crashes."""

    def __init__(self, url: str, queue: str, submitters: int = 8, workers: int = 4) -> None:
        self.url, self.queue = url, queue
        self.acked: list[tuple] = []          # (work_id, status, canonical_id) of every submit that returned
        self.completed: list[str] = []        # work ids whose complete_work returned true
        self.errors = Counter()
        self.stop_submit = threading.Event()
        self.stop_work = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.submitter, args=(i,), daemon=True) for i in range(submitters)]
        self.threads += [threading.Thread(target=self.worker, args=(j,), daemon=True) for j in range(workers)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _conn(self):
        return connect_retrying(self.url, time.monotonic() + 120)

    def submitter(self, i: int) -> None:
        rng = random.Random(i)
        conn, n = self._conn(), 0
        while not self.stop_submit.is_set():
            n += 1
            key = f"dup-{rng.randrange(6)}" if rng.random() < 0.2 else f"s{i}-{n}"
            try:
                row = conn.execute(
                    "SELECT work_id, status, canonical_id FROM animus.submit_work(work_type => 'fault', source => %s,"
                    " dedup_key => %s, queue => %s, max_attempts => 100, params => %s)",
                    [f"submitter-{i}", key, self.queue, json.dumps({"n": n})]).fetchone()
                with self.lock:
                    self.acked.append((str(row[0]), row[1], str(row[2]) if row[2] else None))
            except psycopg.OperationalError:
                with self.lock:
                    self.errors["submit_connection_lost"] += 1
                conn.close()
                conn = self._conn()
            time.sleep(0.002)
        conn.close()

    def worker(self, j: int) -> None:
        conn = self._conn()
        while not self.stop_work.is_set():
            try:
                rows = conn.execute("SELECT work_id, attempts FROM animus.read_work(%s, '2 seconds', 4)", [self.queue]).fetchall()
                for wid, attempt in rows:
                    try:
                        if conn.execute("SELECT animus.complete_work(work_id => %s, attempt => %s)", [wid, attempt]).fetchone()[0]:
                            with self.lock:
                                self.completed.append(str(wid))
                    except psycopg.DatabaseError as exc:
                        if isinstance(exc, psycopg.OperationalError):
                            raise
                        with self.lock:
                            self.errors[f"complete_{exc.sqlstate}"] += 1
                if not rows:
                    time.sleep(0.02)
            except psycopg.OperationalError:
                with self.lock:
                    self.errors["worker_connection_lost"] += 1
                conn.close()
                conn = self._conn()
        conn.close()

    def join(self) -> None:
        for t in self.threads:
            t.join(60)
            assert not t.is_alive(), "a load thread did not stop"


def test_immediate_shutdown_under_load_loses_nothing(cluster):
    url = cluster.url()
    queue = "faults_" + os.urandom(4).hex()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT animus.create_queue(%s)", [queue])
    rounds = scale(1, 5)
    load = Load(url, queue)
    t0 = time.monotonic()
    load.start()
    for _ in range(rounds):
        time.sleep(scale(1.5, 3.0))
        cluster.crash()
        time.sleep(0.3)
        cluster.start()
    time.sleep(scale(1.0, 2.0))
    load.stop_submit.set()
    # Drain: the workers keep going until nothing is queued or running (claims lost in a crash
    # become visible again after their 2 s visibility timeout).
    with connect_retrying(url, time.monotonic() + 60) as admin:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            active = admin.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state IN ('queued', 'running')",
                                   [queue]).fetchone()[0]
            if active == 0:
                break
            time.sleep(0.2)
        load.stop_work.set()
        load.join()
        seconds = time.monotonic() - t0

        items = {str(r[0]): r[1:] for r in admin.execute(
            "SELECT id, state, merged_into, attempts FROM animus.work_items WHERE queue_name = %s", [queue])}
        acked_ids = [a[0] for a in load.acked]
        missing = [w for w in acked_ids if w not in items]
        assert not missing, f"{len(missing)} acknowledged submissions are gone after the crash(es), e.g. {missing[:3]}"
        for wid, status, canonical in load.acked:
            if status == "merged":
                assert items[wid][1] is not None and str(items[wid][1]) == canonical, f"merged {wid} lost its canonical item"
        states = Counter(s for s, _, _ in items.values())
        assert set(states) <= {"completed", "merged"}, f"items left in other states after draining: {states}"
        assert active == 0, "the queue did not drain"
        for wid, (state, merged_into, _) in items.items():
            if state == "merged":
                assert items[str(merged_into)][0] == "completed", f"merged item {wid} points at an unfinished item"
        twice = [w for w, c in Counter(load.completed).items() if c > 1]
        assert not twice, f"items completed twice: {twice[:3]}"
        not_completed = [w for w in load.completed if items[w][0] != "completed"]
        assert not not_completed, "an acknowledged completion was lost in a crash"
        left = admin.execute("SELECT queue_length FROM pgmq.metrics(%s)", [queue]).fetchone()[0]
        assert left == 0, f"{left} pgmq messages left in the queue after draining"
        dup_keys = admin.execute(
            "SELECT dedup_key FROM animus.work_items WHERE queue_name = %s AND state IN ('queued', 'running')"
            " GROUP BY dedup_key HAVING count(*) > 1", [queue]).fetchall()
        assert not dup_keys
    record(test="immediate_shutdown", crashes=rounds, clients=8, workers=4, seconds=round(seconds, 1),
           submits_acked=len(load.acked), merged=sum(1 for a in load.acked if a[1] == "merged"),
           items=len(items), completed=len(load.completed), redelivered=sum(1 for _, _, a in items.values() if a > 1),
           errors=dict(load.errors), lost=len(missing), completed_twice=len(twice))


def claimant(db_url: str, queue: str, vt: float) -> tuple[subprocess.Popen, str, int]:
    p = subprocess.Popen([sys.executable, str(HERE / "fault_claimant.py"), db_url, queue, str(vt)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    assert line and line[0] == "claimed", f"claimant got nothing: {line}"
    return p, line[1], int(line[2])


def wait_visible(conn, queue: str, timeout: float = 10.0) -> None:
    """Until the queue has a visible message again (a claim expired)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if conn.execute("SELECT queue_visible_length FROM pgmq.metrics(%s)", [queue]).fetchone()[0] > 0:
            return
        time.sleep(0.05)
    raise AssertionError("the claim never expired")


def test_sigkilled_workers_redeliver_count_attempts_and_dead_letter(conn, db_url, queue_name):
    kills = 0
    # max_attempts = 3, every claimant killed mid-item: three attempts, then dead.
    doomed = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 'fault', source => 'kill', queue => %s,"
                          " max_attempts => 3)", [queue_name]).fetchone()[0]
    for attempt in (1, 2, 3):
        p, wid, attempts = claimant(db_url, queue_name, 0.5)
        assert (wid, attempts) == (str(doomed), attempt), "the item was not redelivered with its attempt counted"
        p.kill()
        p.wait(10)
        kills += 1
        wait_visible(conn, queue_name)
    assert conn.execute("SELECT count(*) FROM animus.read_work(%s, '5 seconds', 1)", [queue_name]).fetchone()[0] == 0
    state, attempts, error = conn.execute("SELECT state, attempts, error FROM animus.work_items WHERE id = %s", [doomed]).fetchone()
    assert (state, attempts) == ("dead", 3), "after 3 killed attempts the item must be dead-lettered"
    assert "timed out" in error

    # max_attempts = 5, killed twice, then a healthy worker completes it: exactly one completion.
    survivor = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 'fault', source => 'kill', queue => %s,"
                            " max_attempts => 5)", [queue_name]).fetchone()[0]
    for _ in range(2):
        p, _, _ = claimant(db_url, queue_name, 0.5)
        p.kill()
        p.wait(10)
        kills += 1
        wait_visible(conn, queue_name)
    row = conn.execute("SELECT work_id, attempts FROM animus.read_work(%s, '30 seconds', 1)", [queue_name]).fetchone()
    assert (row[0], row[1]) == (survivor, 3)
    assert conn.execute("SELECT animus.complete_work(%s)", [survivor]).fetchone()[0] is True
    with pytest.raises(psycopg.Error) as exc:
        conn.execute("SELECT animus.complete_work(%s)", [survivor])
    assert exc.value.sqlstate == "ZA104", "a second completion must be refused"
    assert conn.execute("SELECT queue_length FROM pgmq.metrics(%s)", [queue_name]).fetchone()[0] == 0
    record(test="sigkill_workers", kills=kills, dead_lettered=1, completed_once=1, lost=0)


def test_a_handler_hanging_past_its_visibility_timeout_is_redelivered_and_completed_once(conn, db_url, queue_name):
    wid = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 'fault', source => 'hang', queue => %s,"
                       " max_attempts => 2)", [queue_name]).fetchone()[0]
    hung, claimed, attempts = claimant(db_url, queue_name, 0.5)
    assert (claimed, attempts) == (str(wid), 1)
    try:
        wait_visible(conn, queue_name)     # the hung handler never heartbeats: its claim expires
        row = conn.execute("SELECT work_id, attempts FROM animus.read_work(%s, '30 seconds', 1)", [queue_name]).fetchone()
        assert (row[0], row[1]) == (wid, 2), "the item of a hung handler must be redelivered, counting an attempt"
        # The hung handler wakes up while the second worker still holds the item: its claim is stale.
        hung.stdin.write("wake up\n")
        hung.stdin.flush()
        late = hung.stdout.readline().split()
        assert late == ["error", "ZA108"], f"the late completion of the hung handler must be refused as stale, got {late}"
        assert conn.execute("SELECT state FROM animus.work_items WHERE id = %s", [wid]).fetchone()[0] == "running", \
            "a refused stale completion must write nothing"
        assert conn.execute("SELECT animus.complete_work(work_id => %s, attempt => 2)", [wid]).fetchone()[0] is True
    finally:
        hung.kill()
        hung.wait(10)
    assert conn.execute("SELECT state, attempts FROM animus.work_items WHERE id = %s", [wid]).fetchone() == ("completed", 2)

    # Hanging on every attempt: dead-lettered at max_attempts.
    wid2 = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 'fault', source => 'hang', queue => %s,"
                        " max_attempts => 2)", [queue_name]).fetchone()[0]
    procs = []
    try:
        for attempt in (1, 2):
            p, claimed, attempts = claimant(db_url, queue_name, 0.5)
            procs.append(p)
            assert (claimed, attempts) == (str(wid2), attempt)
            wait_visible(conn, queue_name)
        assert conn.execute("SELECT count(*) FROM animus.read_work(%s, '5 seconds', 1)", [queue_name]).fetchone()[0] == 0
        assert conn.execute("SELECT state, attempts FROM animus.work_items WHERE id = %s", [wid2]).fetchone() == ("dead", 2)
        for p in procs:
            p.stdin.write("wake up\n")
            p.stdin.flush()
            late = p.stdout.readline().split()
            assert late[0] == "error" and late[1] in ("ZA104", "ZA108"), f"a hung handler must not complete a dead item: {late}"
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
    record(test="hung_handler", hangs=3, redelivered=1, dead_lettered=1, late_completions_refused=3, lost=0)


def test_a_frozen_python_worker_loses_its_item_to_another_and_its_late_completion_is_refused(
        conn, db_url, queue_name, worker_log):
    """The real animus.Worker (CLI subprocess) hangs as a whole -- SIGSTOP: handler and heartbeats
    frozen -- past its visibility timeout: another Worker gets the item and completes it; when the
    frozen one resumes, its completion is refused and it carries on."""
    from test_py_worker import log_rows, spawn_worker
    first = spawn_worker(db_url, queue_name, "--visibility-timeout", "1", "--poll-interval", "0.3")
    second = None
    try:
        wid = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 'slow', source => 'freeze', queue => %s,"
                           " params => '{\"seconds\": 1.5}')", [queue_name]).fetchone()[0]
        end = time.monotonic() + 20
        while not log_rows(conn, wid) and time.monotonic() < end:
            time.sleep(0.05)
        assert log_rows(conn, wid) == [(first.pid, "start")], "the first worker never started the item"
        os.kill(first.pid, signal.SIGSTOP)
        second = spawn_worker(db_url, queue_name, "--visibility-timeout", "10", "--poll-interval", "0.3")
        end = time.monotonic() + 30
        while conn.execute("SELECT state FROM animus.work_items WHERE id = %s", [wid]).fetchone()[0] != "completed" \
                and time.monotonic() < end:
            time.sleep(0.1)
        os.kill(first.pid, signal.SIGCONT)
        end = time.monotonic() + 10
        while (first.pid, "done") not in log_rows(conn, wid) and time.monotonic() < end:
            time.sleep(0.05)
        state, attempts, outcome = conn.execute("SELECT state, attempts, outcome FROM animus.work_items WHERE id = %s",
                                                [wid]).fetchone()
        assert (state, attempts, outcome) == ("completed", 2, {"pid": second.pid}), \
            "the item must be completed once, by the second worker, at attempt 2"
        assert (first.pid, "done") in log_rows(conn, wid), "the frozen worker resumed its handler"
        assert first.poll() is None, "the resumed worker must carry on after its completion is refused"
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(10)
    record(test="frozen_worker", freezes=1, redelivered=1, completed_once=1, lost=0)
