"""The typed client against the real SQL: results as dataclasses, SQLSTATEs as exceptions,
the async client, and the Embedder protocol."""
from __future__ import annotations

import asyncio
import hashlib
import math
import uuid

import pytest

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401


def toy_vector(text: str, dim: int) -> list[float]:
    """A deterministic unit vector per text (tests only): hash-seeded components."""
    h = hashlib.sha256(text.encode()).digest()
    v = [((h[i % 32] + 7 * i) % 251) / 251.0 - 0.5 for i in range(dim)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


@pytest.fixture(scope="module")
def dim(db_url):
    import psycopg

    with psycopg.connect(db_url) as c:
        return c.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]


@pytest.fixture
def namespace():
    return "py_" + uuid.uuid4().hex[:10]


def test_submit_returns_typed_result_and_a_duplicate_is_merged_not_raised(client, queue_name):
    first = client.submit_work("engage", "scheduler", params={"person": "kelly"},
                               dedup_key="person=kelly", queue=queue_name)
    assert isinstance(first, animus.SubmitResult)
    assert first.status == "created" and first.canonical_id == first.work_id and first.msg_id > 0
    dup = client.submit_work("engage", "agent-2", dedup_key="person=kelly", queue=queue_name,
                             trigger_info="a second request")
    assert dup.status == "merged" and dup.merged and dup.canonical_id == first.work_id
    details = client.get_work(first.work_id)
    assert isinstance(details, animus.WorkDetails) and details.item.state == "queued"
    assert [m.source for m in details.merged] == ["agent-2"]


def test_batch_returns_one_typed_row_per_input_in_order(client, queue_name):
    rows = client.submit_work_batch([
        {"work_type": "mail", "source": "t", "dedup_key": "a"},
        {"work_type": "mail", "source": "t", "dedup_key": "b"},
        {"work_type": "mail", "source": "t", "dedup_key": "a"},
    ], queue=queue_name)
    assert [r.status for r in rows] == ["created", "created", "merged"]
    assert rows[2].canonical_id == rows[0].work_id


def test_read_complete_cycle_returns_typed_items(client, queue_name):
    r = client.submit_work("engage", "t", params={"n": 1}, queue=queue_name)
    [item] = client.read_work(queue_name, vt=30, qty=5)
    assert isinstance(item, animus.WorkItem)
    assert (item.id, item.work_type, item.params, item.attempts, item.queue) == \
        (r.work_id, "engage", {"n": 1}, 1, queue_name)
    assert client.get_work(r.work_id).item.state == "running"
    hb = client.heartbeat_work(item.id, extend=30)
    assert isinstance(hb, animus.HeartbeatResult) and (hb.state, hb.cancelled) == ("running", False)
    assert hb.visible_until > item.visible_until
    assert client.complete_work(item.id, outcome={"ok": True}) is True
    done = client.get_work(r.work_id).item
    assert (done.state, done.outcome) == ("completed", {"ok": True})


def test_release_gives_the_item_back_without_counting_the_attempt(client, queue_name, conn):
    r = client.submit_work("engage", "t", queue=queue_name)
    [item] = client.read_work(queue_name, vt=300, qty=1)
    assert item.attempts == 1
    at = client.release_work(item.id)
    assert at is not None and at.tzinfo is not None
    back = client.get_work(r.work_id).item
    assert (back.state, back.attempts) == ("queued", 1)          # attempts is a claim token: never goes down
    assert conn.execute("SELECT attempts - released FROM animus.work_items WHERE id = %s",
                        [r.work_id]).fetchone()[0] == 0           # ... but the released claim does not count
    [again] = client.read_work(queue_name, vt=300, qty=1)       # visible at once, not after 300 s
    assert (again.id, again.attempts) == (r.work_id, 2)
    with pytest.raises(animus.StaleClaim):                       # ZA108: the released claim is not the current one
        client.complete_work(again.id, attempt=item.attempts)
    client.release_work(again.id, delay=60)
    assert client.read_work(queue_name, vt=300, qty=1) == []     # a delayed release waits
    with pytest.raises(animus.WorkNotRunning):                   # ZA103: it is queued
        client.release_work(again.id)


def test_fail_returns_the_retry_and_the_many_forms_settle_in_one_call(client, queue_name):
    ids = [client.submit_work("x", "t", queue=queue_name).work_id for _ in range(3)]
    items = client.read_work(queue_name, vt=30, qty=3)
    assert sorted(i.id for i in items) == sorted(ids)
    retry = client.fail_work(ids[0], "boom", retryable=True)
    assert isinstance(retry, animus.SettleResult) and retry.state == "queued" and retry.retry_at
    rows = client.complete_work_many(ids[1:], outcomes=[{"n": 1}, {"n": 2}])
    assert sorted(r.work_id for r in rows) == sorted(ids[1:]) and all(r.completed for r in rows)
    assert client.get_work(ids[2]).item.outcome == {"n": 2}


@pytest.mark.parametrize("call,exc,sqlstate", [
    (lambda c, q: c.submit_work("", "t", queue=q), animus.InvalidArgument, "ZA001"),
    (lambda c, q: c.submit_work("x", "t", queue=q, params=[1, 2]), animus.InvalidArgument, "ZA003"),
    (lambda c, q: c.submit_work("x", "t", queue=q, max_attempts=0), animus.InvalidArgument, "ZA002"),
    (lambda c, q: c.submit_work("x", "t", queue=q, on_duplicate="ignore"), animus.InvalidArgument, "ZA004"),
    (lambda c, q: c.submit_work("x", "t", queue=q + "_missing"), animus.QueueNotFound, "ZA101"),
    (lambda c, q: c.get_work(uuid.uuid4()), animus.WorkNotFound, "ZA102"),
    (lambda c, q: c.complete_work(c.submit_work("x", "t", queue=q).work_id), animus.WorkNotRunning, "ZA103"),
    (lambda c, q: c.create_queue(q), animus.QueueExists, "ZA106"),
    (lambda c, q: c.create_queue("Not A Name"), animus.InvalidWorkArgument, "ZA107"),
])
def test_work_sqlstates_map_to_exceptions(client, queue_name, call, exc, sqlstate):
    with pytest.raises(exc) as info:
        call(client, queue_name)
    assert info.value.sqlstate == sqlstate and info.value.hint
    assert isinstance(info.value, animus.DatabaseError)


def test_a_stale_second_completion_is_work_already_ended(client, queue_name):
    client.submit_work("x", "t", queue=queue_name)
    [item] = client.read_work(queue_name, vt=30)
    client.complete_work(item.id)
    with pytest.raises(animus.WorkAlreadyEnded) as info:
        client.complete_work(item.id)
    assert info.value.sqlstate == "ZA104" and isinstance(info.value, animus.InvalidState)


def test_a_stale_claim_raises_stale_claim_and_writes_nothing(client, conn, queue_name):
    r = client.submit_work("x", "t", queue=queue_name)
    [first] = client.read_work(queue_name, vt=30)
    # the first claim's visibility timeout runs out; another worker claims the item
    conn.execute(f"UPDATE pgmq.q_{queue_name} SET vt = clock_timestamp() WHERE msg_id = %s", [first.msg_id])
    [second] = client.read_work(queue_name, vt=30)
    assert (first.attempts, second.attempts) == (1, 2)
    for call in (lambda: client.complete_work(r.work_id, outcome={"by": 1}, attempt=first.attempts),
                 lambda: client.fail_work(r.work_id, "late", attempt=first.attempts),
                 lambda: client.heartbeat_work(r.work_id, extend=30, attempt=first.attempts),
                 lambda: client.release_work(r.work_id, attempt=first.attempts),
                 lambda: client.complete_work_many([r.work_id], attempts=[first.attempts]),
                 lambda: client.fail_work_many([r.work_id], "late", attempts=[first.attempts])):
        with pytest.raises(animus.StaleClaim) as info:
            call()
        assert info.value.sqlstate == "ZA108" and isinstance(info.value, animus.InvalidState)
    item = client.get_work(r.work_id).item
    assert (item.state, item.attempts, item.outcome) == ("running", 2, None)   # nothing written
    assert client.heartbeat_work(r.work_id, extend=30, attempt=second.attempts).state == "running"
    assert client.complete_work(r.work_id, outcome={"by": 2}, attempt=second.attempts) is True


def test_memory_round_trip_and_hybrid_search(client, namespace, dim):
    texts = ["the agent met kelly at the cafe", "postgres stores vectors", "kelly likes green tea"]
    stored = [client.store_memory(t, toy_vector(t, dim), "episodic", namespace=namespace,
                                  metadata={"i": i}) for i, t in enumerate(texts)]
    assert all(isinstance(s, animus.StoreResult) and s.created for s in stored)
    again = client.store_memory(texts[0], toy_vector(texts[0], dim), "episodic", namespace=namespace)
    assert (again.id, again.created) == (stored[0].id, False)
    m = client.get_memory(stored[1].id)
    assert isinstance(m, animus.Memory) and m.content == texts[1] and m.metadata == {"i": 1}
    hits = client.hybrid_search("kelly tea", toy_vector(texts[2], dim), k=3, filters={"namespace": namespace})
    assert hits and all(isinstance(h, animus.SearchHit) for h in hits)
    assert hits[0].id == stored[2].id and hits[0].vector_rank == 1 and hits[0].text_rank == 1
    assert client.delete_memory(stored[0].id) is True
    assert client.get_memory(stored[0].id) is None


def test_hybrid_search_passes_fusion_and_alpha(client, namespace, dim):
    texts = ["kelly likes green tea", "green tea and kelly, kelly and tea", "postgres stores vectors"]
    ids = [client.store_memory(t, toy_vector(t, dim), "fact", namespace=namespace).id for t in texts]
    q = toy_vector(texts[2], dim)
    f = {"namespace": namespace}
    text_only = client.hybrid_search("kelly tea", q, k=3, filters=f, fusion="convex", alpha=0.0)
    vector_only = client.hybrid_search("kelly tea", q, k=3, filters=f, fusion="convex", alpha=1.0)
    # alpha moves the whole weight between the branches: 0 ranks by BM25, 1 by the vector
    assert text_only[0].id == client.search_memory_text("kelly tea", k=1, filters=f)[0].id
    assert vector_only[0].id == ids[2]
    mixed = client.hybrid_search("kelly tea", q, k=3, filters=f, fusion="convex", alpha=0.5)
    smin = min(h.vector_distance for h in mixed if h.vector_distance is not None)
    tmax = max(h.text_score for h in mixed if h.text_score is not None)
    for h in mixed:
        want = 0.5 * ((2 - h.vector_distance) / (2 - smin) if h.vector_distance is not None else 0) \
            + 0.5 * (h.text_score / tmax if h.text_score is not None else 0)
        assert math.isclose(h.score, want, rel_tol=1e-9)
    rrf = client.hybrid_search("kelly tea", q, k=3, filters=f, fusion="rrf")
    assert all(math.isclose(h.score, (1 / (60 + h.vector_rank) if h.vector_rank else 0)
                            + (1 / (60 + h.text_rank) if h.text_rank else 0), rel_tol=1e-9) for h in rrf)
    default = client.hybrid_search("kelly tea", q, k=3, filters=f)   # convex, alpha 0.3 (tuned on NFCorpus dev)
    assert [h.score for h in default] == [h.score for h in client.hybrid_search("kelly tea", q, k=3, filters=f,
                                                                               fusion="convex", alpha=0.3)]
    with pytest.raises(animus.InvalidMemoryArgument) as info:
        client.hybrid_search("kelly tea", q, k=3, fusion="linear")
    assert info.value.sqlstate == "ZA228"
    with pytest.raises(animus.InvalidMemoryArgument) as info:
        client.hybrid_search("kelly tea", q, k=3, fusion="rrf", alpha=0.5)
    assert info.value.sqlstate == "ZA228"


@pytest.mark.parametrize("call,exc,sqlstate", [
    (lambda c, d, ns: c.store_memory("x", [0.1] * (d + 1), "t", namespace=ns), animus.DimensionMismatch, "ZA200"),
    (lambda c, d, ns: c.store_memory("x", [0.0] * d, "t", namespace=ns), animus.InvalidMemoryArgument, "ZA202"),
    (lambda c, d, ns: c.store_memory("  ", [0.1] * d, "t", namespace=ns), animus.InvalidMemoryArgument, "ZA203"),
    (lambda c, d, ns: c.search_memory_text("x", filters={"colour": "red"}), animus.InvalidMemoryArgument, "ZA205"),
    (lambda c, d, ns: c.get_memory(None), animus.InvalidArgument, "ZA001"),
    (lambda c, d, ns: c.memory_finish_reembedding(), animus.MemoryStateError, "ZA209"),
])
def test_memory_sqlstates_map_to_exceptions(client, dim, namespace, call, exc, sqlstate):
    with pytest.raises(exc) as info:
        call(client, dim, namespace)
    assert info.value.sqlstate == sqlstate
    assert isinstance(info.value, animus.MemoryStoreError) or sqlstate.startswith("ZA0")


def test_embedder_embeds_text_for_store_and_hybrid_search(db_url, otel, dim, namespace):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return [toy_vector(t, dim) for t in texts]

    emb = animus.FunctionEmbedder(embed, model="toy-hash", provider="local")
    assert isinstance(emb, animus.Embedder)
    with animus.connect(db_url, embedder=emb, tracer_provider=otel.tracer_provider,
                        meter_provider=otel.meter_provider) as c:
        s = c.store_memory("kelly prefers mornings", memory_type="semantic", namespace=namespace)
        hits = c.hybrid_search("kelly prefers mornings", k=1, filters={"namespace": namespace})
    assert calls == [["kelly prefers mornings"], ["kelly prefers mornings"]]
    assert hits[0].id == s.id and hits[0].vector_rank == 1
    spans = otel.spans("embeddings toy-hash")
    assert len(spans) == 2 and spans[0].attributes["gen_ai.provider.name"] == "local"
    assert spans[0].attributes["gen_ai.embeddings.dimension.count"] == dim


def test_store_without_embedding_or_embedder_is_a_clear_error(client):
    with pytest.raises(animus.InvalidArgument, match="embedding is required"):
        client.store_memory("no vector", memory_type="t")


def test_async_client_has_the_same_methods_and_results(db_url, otel, queue_name, dim, namespace):
    sync_methods = {n for n in dir(animus.Client) if not n.startswith("_")}
    async_methods = {n for n in dir(animus.AsyncClient) if not n.startswith("_")}
    assert sync_methods - {"pool"} <= async_methods | {"pool"}

    async def scenario():
        c = await animus.connect_async(db_url, tracer_provider=otel.tracer_provider)
        async with c:
            r = await c.submit_work("engage", "async-agent", queue=queue_name, dedup_key="k")
            dup = await c.submit_work("engage", "async-agent", queue=queue_name, dedup_key="k")
            items = await c.read_work(queue_name, vt=30)
            done = await c.complete_work(items[0].id, outcome={"async": True}, queue=queue_name)
            stored = await c.store_memory("async memory", toy_vector("async memory", dim), "t",
                                          namespace=namespace)
            with pytest.raises(animus.WorkNotFound):
                await c.get_work(uuid.uuid4())
            return r, dup, items, done, stored

    r, dup, items, done, stored = asyncio.run(scenario())
    assert (r.status, dup.status) == ("created", "merged")
    assert items[0].id == r.work_id and done is True
    assert isinstance(stored, animus.StoreResult) and stored.created
    assert {s.name for s in otel.spans()} >= {f"send {queue_name}", f"receive {queue_name}",
                                              f"settle {queue_name}", "SELECT animus.store_memory"}


def test_store_memories_takes_lists_and_numpy_arrays_and_keeps_input_order(client, dim, namespace):
    import numpy as np

    texts = ["alpha memory", "beta memory", "gamma memory"]
    rows = client.store_memories([
        {"content": texts[0], "embedding": toy_vector(texts[0], dim), "memory_type": "t"},
        {"content": texts[1], "embedding": np.array(toy_vector(texts[1], dim), dtype=np.float32), "memory_type": "t"},
        {"content": texts[2], "embedding": toy_vector(texts[2], dim), "memory_type": "t", "metadata": {"k": 1}},
    ], namespace=namespace)
    assert [r.ordinal for r in rows] == [1, 2, 3] and all(r.created for r in rows)
    assert [client.get_memory(r.id).content for r in rows] == texts
    [hit] = client.search_memory_vector(toy_vector(texts[1], dim), k=1, filters={"namespace": namespace})
    assert hit.id == rows[1].id and hit.similarity > 0.99


def test_a_value_json_cannot_hold_fails_before_the_database_and_marks_the_span(client, otel, queue_name):
    with pytest.raises(TypeError):
        client.submit_work("x", "t", queue=queue_name, params={"when": object()})
    [span] = otel.spans(f"send {queue_name}")
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "TypeError"


def test_one_pooled_connection_keeps_serving_after_errors_and_pool_users_get_dict_rows(db_url, queue_name):
    # The client keeps one cursor per pooled connection; an error on it must not spoil the next
    # call, and code using client.pool directly still gets the connection's dict rows.
    c = animus.connect(db_url, pool_min_size=1, pool_max_size=1)
    try:
        for _ in range(3):
            with pytest.raises(animus.QueueNotFound):
                c.submit_work("engage", "t", queue="no_such_queue_" + uuid.uuid4().hex[:6])
            with pytest.raises(animus.InvalidArgument):
                c.submit_work("x" * 300, "t", queue=queue_name)   # work_type over 255 bytes
            r = c.submit_work("engage", "t", queue=queue_name, params={"n": 1})
            assert r.status == "created" and c.get_work(r.work_id).item.params == {"n": 1}
        with c.pool.connection() as conn:
            assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
    finally:
        c.close()


def test_infinite_timestamps_load_as_datetime_max_and_min(client, conn, queue_name):
    # A queue that never sent a wake-up has last_notified_at = -infinity; a caller may submit
    # with run_at => 'infinity'. psycopg's own loader raises on both; these calls use ours.
    from datetime import datetime, timezone

    q = client.configure_queue(queue_name, backoff_base=3)
    assert q["last_notified_at"] == datetime.min.replace(tzinfo=timezone.utc)
    wid = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 'later', source => 't', "
                       "queue => %s, run_at => 'infinity')", [queue_name]).fetchone()[0]
    assert client.get_work(wid).item.run_at == datetime.max.replace(tzinfo=timezone.utc)
    # the other calls keep psycopg's C loader: finite timestamps load as usual
    [r] = client.submit_work_batch([{"work_type": "now", "source": "t"}], queue=queue_name)
    assert client.get_work(r.work_id).item.created_at.year >= 2024
