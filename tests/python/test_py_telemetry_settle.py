"""Settle spans say the state the call left the item in (``animus.work.state``), for every
settle call, including those whose SQL function returns a boolean or a time."""
from __future__ import annotations

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401


def settle_spans(otel, operation: str):
    return [s for s in otel.spans() if s.attributes.get("messaging.operation.name") == operation]


def test_every_settle_span_carries_the_items_new_state(client, otel, queue_name):
    done = client.submit_work("a", "test", queue=queue_name)
    [item] = client.read_work(queue_name, vt=30)
    assert client.complete_work(item.id, outcome={"ok": True}, attempt=item.attempts, queue=queue_name)

    released = client.submit_work("b", "test", queue=queue_name)
    [item] = client.read_work(queue_name, vt=30)
    client.release_work(item.id, attempt=item.attempts, queue=queue_name)

    queued = client.submit_work("c", "test", queue=queue_name)
    assert client.cancel_work(queued.work_id) is True
    assert client.cancel_work(queued.work_id) is False      # cancelled already: still cancelled

    [complete] = settle_spans(otel, "complete_work")
    assert complete.attributes["animus.work.id"] == str(done.work_id)
    assert complete.attributes["animus.work.state"] == "completed"
    [release] = settle_spans(otel, "release_work")
    assert (release.attributes["animus.work.id"], release.attributes["animus.work.state"]) == \
        (str(released.work_id), "queued")
    cancels = settle_spans(otel, "cancel_work")
    assert [s.attributes["animus.work.state"] for s in cancels] == ["cancelled", "cancelled"]
    assert all(s.attributes["animus.work.id"] == str(queued.work_id) for s in cancels)


def test_a_refused_settle_has_an_error_and_no_state(client, otel, queue_name):
    r = client.submit_work("a", "test", queue=queue_name)
    client.cancel_work(r.work_id)
    try:
        client.complete_work(r.work_id, queue=queue_name)
    except animus.InvalidState:
        pass
    [span] = settle_spans(otel, "complete_work")
    assert span.attributes["error.type"] in ("ZA103", "ZA104")
    assert "animus.work.state" not in span.attributes
