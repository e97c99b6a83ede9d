"""Telemetry through the queue and on memory calls, asserted with an in-memory exporter:
span names, kinds, attributes, links to every requester, metrics and their bucket boundaries."""
from __future__ import annotations

import threading
import time

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import animus
from animus.telemetry.conventions import DB_DURATION_BUCKETS, MESSAGING_DURATION_BUCKETS
from animus_fixtures import client, otel, queue_name  # noqa: F401


def test_send_receive_process_settle_and_links_to_every_requester(client, otel, queue_name, conn):
    tracer = otel.tracer()
    with tracer.start_as_current_span("agent A request") as a:
        first = client.submit_work("engage", "agent-a", dedup_key="person=kelly", queue=queue_name)
    with tracer.start_as_current_span("agent B request") as b:
        dup = client.submit_work("engage", "agent-b", dedup_key="person=kelly", queue=queue_name)
    assert dup.status == "merged"

    done = threading.Event()
    worker = animus.Worker(client, {"engage": lambda item: done.set() or {"ok": 1}}, queue=queue_name,
                           concurrency=1, visibility_timeout=10, poll_interval=0.2)
    t = threading.Thread(target=worker.run, kwargs={"install_signal_handlers": False}, daemon=True)
    t.start()
    try:
        assert done.wait(10)
        deadline = time.monotonic() + 5
        while not otel.spans(f"settle {queue_name}") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        t.join(10)

    sends = otel.spans(f"send {queue_name}")
    assert len(sends) == 2 and all(s.kind == SpanKind.PRODUCER for s in sends)
    send_a = next(s for s in sends if s.parent.span_id == a.get_span_context().span_id)
    send_b = next(s for s in sends if s.parent.span_id == b.get_span_context().span_id)
    sa = send_a.attributes
    assert sa["messaging.system"] == "pgmq" and sa["messaging.operation.type"] == "send"
    assert sa["messaging.operation.name"] == "submit_work"
    assert sa["messaging.destination.name"] == queue_name
    assert sa["messaging.message.id"] == str(first.msg_id)
    assert send_b.attributes["animus.work.status"] == "merged"

    # only reads that received messages make receive spans (the worker's empty polls do not)
    receives = otel.spans(f"receive {queue_name}")
    assert receives and all(s.attributes["messaging.batch.message_count"] >= 1 for s in receives)
    assert receives[0].kind == SpanKind.CLIENT
    assert receives[0].attributes["messaging.operation.type"] == "receive"

    [process] = otel.spans(f"process {queue_name}")
    assert process.kind == SpanKind.CONSUMER
    assert process.attributes["messaging.operation.type"] == "process"
    assert process.attributes["messaging.message.id"] == str(first.msg_id)
    linked = {(l.context.trace_id, l.context.span_id) for l in process.links}
    # the work was requested twice: the process span links to both submitters' send spans
    assert linked == {(send_a.context.trace_id, send_a.context.span_id),
                      (send_b.context.trace_id, send_b.context.span_id)}
    assert process.context.trace_id not in {a.get_span_context().trace_id, b.get_span_context().trace_id}

    [settle] = otel.spans(f"settle {queue_name}")
    assert settle.parent.span_id == process.context.span_id
    assert settle.attributes["messaging.operation.type"] == "settle"
    assert settle.attributes["messaging.operation.name"] == "complete_work"

    m = otel.metrics()
    sent = sum(p.value for attrs, p in m["messaging.client.sent.messages"]
               if attrs["messaging.destination.name"] == queue_name)
    assert sent == 2
    consumed = sum(p.value for attrs, p in m["messaging.client.consumed.messages"]
                   if attrs["messaging.destination.name"] == queue_name)
    assert consumed == 1
    for name in ("messaging.client.operation.duration", "messaging.process.duration"):
        points = m[name]
        assert points and all(tuple(p.explicit_bounds) == MESSAGING_DURATION_BUCKETS for _, p in points)
    ops = {attrs["messaging.operation.name"] for attrs, _ in m["messaging.client.operation.duration"]}
    assert {"submit_work", "read_work", "complete_work"} <= ops


def test_empty_reads_make_no_receive_span_but_are_measured(client, otel, queue_name):
    for _ in range(3):
        assert client.read_work(queue_name, vt=30) == []
    assert otel.spans(f"receive {queue_name}") == []
    points = [(a, p) for a, p in otel.metrics()["messaging.client.operation.duration"]
              if a["messaging.operation.name"] == "read_work"]
    assert sum(p.count for _, p in points) == 3                # every read is still measured
    client.submit_work("x", "t", queue=queue_name)
    t0 = time.time_ns()
    [item] = client.read_work(queue_name, vt=30)
    t1 = time.time_ns()
    [span] = otel.spans(f"receive {queue_name}")             # a read that received: one span
    assert span.attributes["messaging.message.id"] == str(item.msg_id)
    assert t0 - 5_000_000 <= span.start_time < span.end_time <= t1 + 5_000_000  # back-dated to the call
    with pytest.raises(animus.InvalidArgument):
        client.read_work(queue_name, vt=0)                     # a failed read keeps its span
    failed = [s for s in otel.spans(f"receive {queue_name}") if s.status.status_code == StatusCode.ERROR]
    assert len(failed) == 1 and failed[0].attributes["error.type"] == "ZA002"


def test_memory_calls_follow_db_conventions_without_parameters(client, otel, db_url):
    from urllib.parse import urlsplit

    secret_query = "kelly-private-query-7781"
    client.search_memory_text(secret_query, k=3)
    with pytest.raises(animus.InvalidMemoryArgument):
        client.search_memory_text(secret_query, k=3, filters={"colour": "red"})
    ok, failed = otel.spans("SELECT animus.search_memory_text")
    for span in (ok, failed):
        a = span.attributes
        assert span.kind == SpanKind.CLIENT
        assert a["db.system.name"] == "postgresql"
        assert a["db.stored_procedure.name"] == "animus.search_memory_text"
        assert a["db.namespace"] == urlsplit(db_url).path.lstrip("/")
        assert all(secret_query not in str(v) and "colour" not in str(v) for v in a.values())
        assert all(secret_query not in str(e.attributes) for e in span.events)
    assert "db.response.status_code" not in ok.attributes
    assert failed.attributes["db.response.status_code"] == "ZA205"
    assert failed.attributes["error.type"] == "ZA205"
    assert failed.status.status_code == StatusCode.ERROR
    points = otel.metrics()["db.client.operation.duration"]
    statuses = sorted(attrs.get("db.response.status_code", "") for attrs, _ in points)
    assert statuses == ["", "ZA205"]
    assert all(tuple(p.explicit_bounds) == DB_DURATION_BUCKETS for _, p in points)
