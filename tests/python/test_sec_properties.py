"""Property-based tests (hypothesis) over the work-queue SQL API.

Random sequences of submit / merge / read / complete / fail / cancel / heartbeat, issued from
three sessions (and in concurrent bursts from threads, each with its own session), keep the
invariants after every step:
  * at most one active (queued or running, not waiting) item per dedup key;
  * only legal state transitions (animus.work_state_transitions), new rows start queued or merged;
  * counts add up: rows = acknowledged submissions, merged rows = "merged" answers, queue_stats
    agrees with the table, and pgmq holds exactly one message per active item;
  * every error is a documented SQLSTATE.
`make test` runs a short version; `make faults` (ANIMUS_FAULTS=full) many more examples.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections import Counter

import psycopg
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fault_cluster import scale
from test_sec_faults import record

# ZA102 no such item, ZA103 not running, ZA104 already ended, ZA108 stale claim (an attempt that is
# not the current one): the documented answers to an operation on an item in the wrong state.
# Anything else is a bug.
EXPECTED = {"ZA102", "ZA103", "ZA104", "ZA108"}
KEYS = ["a", "b", "c", None]
ATTEMPTS = st.sampled_from([None, 1, 2])      # no fencing, or the claim's attempt (right or stale)
TOTALS = Counter()


@pytest.fixture(scope="module")
def sessions(db_url):
    conns = [psycopg.connect(db_url, autocommit=True) for _ in range(4)]
    yield conns
    for c in conns:
        c.close()


def make_machine(sessions):
    admin, *users = sessions
    legal = set(admin.execute("SELECT from_state, to_state FROM animus.work_state_transitions").fetchall())

    class QueueMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.queue = "h_" + uuid.uuid4().hex[:12]
            admin.execute("SELECT animus.create_queue(%s, backoff_base => '1 hour')", [self.queue])
            self.ids: list = []
            self.state: dict = {}
            self.submits = Counter()
            TOTALS["examples"] += 1

        def teardown(self) -> None:
            admin.execute("SELECT animus.drop_queue(%s)", [self.queue])

        # ---------------------------------------------------------------- helpers
        def call(self, conn, sql, args):
            TOTALS["operations"] += 1
            try:
                return conn.execute(sql, args).fetchall()
            except psycopg.Error as exc:
                assert exc.sqlstate in EXPECTED, f"undocumented error {exc.sqlstate}: {exc}"
                TOTALS["refused_" + exc.sqlstate] += 1
                return None

        def submit(self, conn, key, priority):
            rows = self.call(conn, "SELECT work_id, status, canonical_id FROM animus.submit_work(work_type => 'prop',"
                                   " source => 'hypothesis', dedup_key => %s, priority => %s, queue => %s, max_attempts => 2)",
                             [key, priority, self.queue])
            assert rows, "submit_work must answer"
            wid, status, canonical = rows[0]
            assert status in ("created", "merged")
            self.submits[status] += 1
            self.ids.append(wid)
            return status

        # ---------------------------------------------------------------- rules
        @rule(s=st.sampled_from(range(3)), key=st.sampled_from(KEYS), priority=st.sampled_from([-1, 0, 1]))
        def submit_one(self, s, key, priority):
            self.submit(users[s], key, priority)

        @rule(key=st.sampled_from(KEYS[:3]))
        def submit_concurrently(self, key):
            """Three sessions submit the same key at the same moment: at most one creates."""
            out, barrier = [], threading.Barrier(3)

            def go(c):
                barrier.wait()
                out.append(self.submit(c, key, 0))
            ts = [threading.Thread(target=go, args=(c,)) for c in users]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert Counter(out)["created"] <= 1, f"concurrent submits of one key created {out}"

        @rule(s=st.sampled_from(range(3)), qty=st.integers(1, 3))
        def read(self, s, qty):
            self.call(users[s], "SELECT work_id FROM animus.read_work(%s, '1 hour', %s)", [self.queue, qty])

        @rule()
        def read_concurrently(self):
            """Three sessions claim at the same moment: no item is handed out twice."""
            got, barrier = [], threading.Barrier(3)

            def go(c):
                barrier.wait()
                got.extend(r[0] for r in (self.call(c, "SELECT work_id FROM animus.read_work(%s, '1 hour', 2)", [self.queue]) or []))
            ts = [threading.Thread(target=go, args=(c,)) for c in users]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert len(got) == len(set(got)), "an item was claimed by two sessions at once"

        @precondition(lambda self: self.ids)
        @rule(s=st.sampled_from(range(3)), attempt=ATTEMPTS, data=st.data())
        def complete(self, s, attempt, data):
            wid = data.draw(st.sampled_from(self.ids))
            self.call(users[s], "SELECT animus.complete_work(%s, '{\"ok\": true}'::jsonb, %s)", [wid, attempt])

        @precondition(lambda self: self.ids)
        @rule(s=st.sampled_from(range(3)), retryable=st.booleans(), attempt=ATTEMPTS, data=st.data())
        def fail(self, s, retryable, attempt, data):
            wid = data.draw(st.sampled_from(self.ids))
            self.call(users[s], "SELECT * FROM animus.fail_work(%s, 'boom', %s, %s)", [wid, retryable, attempt])

        @precondition(lambda self: self.ids)
        @rule(s=st.sampled_from(range(3)), data=st.data())
        def cancel(self, s, data):
            wid = data.draw(st.sampled_from(self.ids))
            self.call(users[s], "SELECT animus.cancel_work(%s)", [wid])

        @precondition(lambda self: self.ids)
        @rule(s=st.sampled_from(range(3)), attempt=ATTEMPTS, data=st.data())
        def heartbeat(self, s, attempt, data):
            wid = data.draw(st.sampled_from(self.ids))
            self.call(users[s], "SELECT * FROM animus.heartbeat_work(%s, '1 hour', %s)", [wid, attempt])

        # ---------------------------------------------------------------- invariants
        @invariant()
        def one_active_item_per_key(self):
            dup = admin.execute("SELECT dedup_key FROM animus.work_items WHERE queue_name = %s AND dedup_key IS NOT NULL"
                                " AND state IN ('queued', 'running') AND waits_for IS NULL GROUP BY 1 HAVING count(*) > 1",
                                [self.queue]).fetchall()
            assert not dup, f"two active items share a key: {dup}"

        @invariant()
        def only_legal_transitions(self):
            now = dict(admin.execute("SELECT id, state FROM animus.work_items WHERE queue_name = %s", [self.queue]).fetchall())
            for wid, state in now.items():
                before = self.state.get(wid)
                if before is None:      # created in this step (only submits create rows)
                    assert state in ("queued", "merged"), f"new item {wid} started as {state}"
                elif before != state:
                    assert (before, state) in legal, f"illegal transition {before} -> {state} of {wid}"
                    TOTALS[f"{before}->{state}"] += 1
            self.state = now

        @invariant()
        def counts_add_up(self):
            rows = admin.execute("SELECT state, count(*) FROM animus.work_items WHERE queue_name = %s GROUP BY 1",
                                 [self.queue]).fetchall()
            by_state = dict(rows)
            assert sum(by_state.values()) == sum(self.submits.values()), "rows differ from acknowledged submissions"
            assert by_state.get("merged", 0) == self.submits["merged"], "merged rows differ from 'merged' answers"
            stats = dict((r[0], r[1]) for r in admin.execute(
                "SELECT state, items FROM animus.queue_stats(%s)", [self.queue]).fetchall() if r[0] is not None)
            assert {k: v for k, v in stats.items() if v} == by_state, f"queue_stats {stats} != table {by_state}"
            active = by_state.get("queued", 0) + by_state.get("running", 0)
            msgs = admin.execute("SELECT queue_length FROM pgmq.metrics(%s)", [self.queue]).fetchone()[0]
            assert msgs == active, f"pgmq holds {msgs} messages for {active} active items"
            bad = admin.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND"
                                " (attempts > max_attempts OR (state = 'running' AND attempts < 1))", [self.queue]).fetchone()[0]
            assert bad == 0, "attempts out of bounds"

    return QueueMachine


def test_random_operation_sequences_keep_the_queue_invariants(sessions):
    machine = make_machine(sessions)
    machine.TestCase.settings = settings(max_examples=int(os.environ.get('ANIMUS_PROPERTY_EXAMPLES', scale(25, 200))), stateful_step_count=scale(25, 50),
                                         deadline=None, suppress_health_check=list(HealthCheck))
    machine.TestCase().runTest()
    record(test="properties", examples=TOTALS["examples"], operations=TOTALS["operations"],
           transitions={k: v for k, v in TOTALS.items() if "->" in k},
           refused={k: v for k, v in TOTALS.items() if k.startswith("refused_")}, lost=0)
