"""Telemetry kept off the call path (animus.telemetry.deferred): nothing is lost or changed,
only done later; collections and flushes see every finished call."""
from __future__ import annotations

import os
import threading
import time

import animus
from animus.telemetry.deferred import DEFERRED, Deferred, Tally
from animus_fixtures import client, otel, queue_name  # noqa: F401


def finished(otel, name):
    """The exporter's spans named ``name``, without flushing (as a user's exporter sees them)."""
    return [s for s in otel.exporter.get_finished_spans() if s.name == name]


def test_a_call_span_ends_on_its_own_with_the_calls_end_time(client, otel, queue_name):
    before = time.time_ns()
    r = client.submit_work("engage", "t", queue=queue_name)
    after = time.time_ns()
    deadline = time.monotonic() + 5
    while not finished(otel, f"send {queue_name}") and time.monotonic() < deadline:
        time.sleep(0.005)      # the telemetry thread, not a flush, ends it
    [span] = finished(otel, f"send {queue_name}")
    assert before <= span.start_time <= span.end_time <= after   # the end is the call's, not the thread's
    assert span.attributes["animus.work.id"] == str(r.work_id)
    assert span.attributes["animus.work.status"] == "created"


def test_a_metric_collection_includes_every_finished_call_without_a_flush(client, otel, queue_name):
    for _ in range(25):
        client.submit_work("engage", "t", queue=queue_name)
    data = otel.reader.get_metrics_data()     # a reader collecting on its own: no animus flush
    points = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    if p.attributes.get("messaging.destination.name") == queue_name:
                        points[m.name] = p
    assert points["messaging.client.operation.duration"].count == 25
    assert points["messaging.client.sent.messages"].value == 25


def test_clients_sharing_a_meter_provider_are_all_counted(db_url, otel, queue_name):
    # The observable counters exist once per meter; every client on it must be in their totals.
    a = animus.connect(db_url, tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider,
                       pool_min_size=1, pool_max_size=1)
    b = animus.connect(db_url, tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider,
                       pool_min_size=1, pool_max_size=1)
    try:
        a.submit_work("engage", "a", queue=queue_name)
        b.submit_work("engage", "b", queue=queue_name)
        b.submit_work_batch([{"work_type": "engage", "source": "b"}] * 3, queue=queue_name)
    finally:
        a.close()
        b.close()
    sent = [p for attrs, p in otel.metrics()["messaging.client.sent.messages"]
            if attrs.get("messaging.destination.name") == queue_name]
    assert sum(p.value for p in sent) == 5


def test_tally_counts_exactly_under_concurrent_threads():
    tally = Tally()
    attrs = {"messaging.destination.name": "q"}
    key = tuple(attrs.items())

    def add():
        for _ in range(5000):
            tally.add(1, attrs, key)
            tally.add(2, attrs, key)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [obs] = tally.observations()
    assert obs.value == 8 * 5000 * 3 and dict(obs.attributes) == attrs


def test_deferred_runs_each_item_once_and_pushes_back_when_behind():
    d = Deferred(pause=60, limit=50)      # a thread that, once it has run, sleeps for a minute
    done: list[int] = []
    lock = threading.Lock()

    def item(i):
        with lock:
            done.append(i)

    d.put(item, 0)
    deadline = time.monotonic() + 5
    while not done and time.monotonic() < deadline:
        time.sleep(0.005)
    assert done == [0]
    for i in range(1, 200):              # the thread is asleep: past the limit the caller runs them
        d.put(item, i)
    assert len(d._pending) <= 50
    d.drain()
    assert sorted(done) == list(range(200))


def test_concurrent_drains_take_each_item_once():
    d = Deferred(pause=60, limit=10**9)
    done: list[int] = []
    d._idle = False                      # keep the thread out: only the drains below run items
    for i in range(20000):
        d.put(done.append, i)
    threads = [threading.Thread(target=d.drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(done) == list(range(20000))


def test_a_forked_child_starts_with_an_empty_queue_and_its_own_thread():
    DEFERRED.put(lambda: None)           # the parent's thread exists
    assert DEFERRED._thread is not None
    DEFERRED._pending.append((lambda: None, ()))
    pid = os.fork()
    if pid == 0:                         # child: the parent's thread does not exist here
        ok = not DEFERRED._pending and DEFERRED._thread is None and DEFERRED._idle
        ran = []
        DEFERRED.put(ran.append, 1)      # a new thread runs the child's items
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.005)
        os._exit(0 if ok and ran == [1] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    DEFERRED.drain()
