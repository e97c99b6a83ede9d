"""Injection: queue names, work types, filter keys and values, search text and every other text or
JSON argument are data, never SQL. Hostile strings go through every public function (bound as
parameters, the way every client sends them) and through the Python client; each call either
works -- and the value comes back byte for byte -- or raises a documented SQLSTATE, and nothing
else changes: no object appears or disappears, the canary table and every function survive."""
from __future__ import annotations

import json
import random

import psycopg
import pytest
from psycopg.types.json import Jsonb

import animus
from animus_fixtures import client, otel, queue_name  # noqa: F401
from fault_cluster import FULL
from test_sec_faults import record

TEN_MB = "x" * (10 * 1024 * 1024)
_rng = random.Random(7)
JUNK = "".join(chr(_rng.randrange(1, 256)) for _ in range(4096))          # NUL-free binary junk
HOSTILE = [
    "'", "''", "\"", "\\", "';--", "'; DROP TABLE animus.work_items; --", "\"; DROP SCHEMA animus CASCADE; --",
    "$$; DROP TABLE injection_canary; $$", "$q$ $$ $body$", "%s %I %L %1$s %%", "%", "_",
    "x) OR 1=1; --", "work' OR '1'='1", "q_work; SELECT pg_sleep(10)", "pgmq.q_work", "a\nb\tc\r",
    "\u202eevil\u200b", "ünï©ødé 🙂", "*", "a,b", "-- comment", "/* c */", "${IFS}", "{}", "[]",
    JUNK,
]
# 10 MB goes through every argument under `make faults`; in `make test` through one argument per
# area (each 10 MB call costs about a second, several where the value is repeated in one call).
TEN_MB_EVERYWHERE = FULL
DEEP_JSON = "[" * 100000 + "]" * 100000                  # nested 100,000 deep: beyond jsonb's stack limit
NESTED_OBJ = '{"k": ' * 500 + '"%s $$ \' --"' + "}" * 500   # 500 deep objects: accepted as data
# PostgreSQL's own limits, documented in docs/security.md: a value too large for an index row or a
# tsvector (54000 program_limit_exceeded), JSON nested beyond the parser's stack (54001).
PG_LIMITS = {"54000", "54001"}


def label(v) -> str:
    return f"<{len(v)} chars>" if isinstance(v, str) and len(v) > 60 else repr(v)


@pytest.fixture(scope="module")
def documented(db_url):
    with psycopg.connect(db_url, autocommit=True) as c:
        return {r[0] for r in c.execute("SELECT sqlstate FROM animus.error_codes")} | PG_LIMITS


@pytest.fixture(scope="module")
def dim(db_url):
    with psycopg.connect(db_url, autocommit=True) as c:
        return c.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]


def fingerprint(conn):
    """Everything an injection could change: objects in the schemas, their count, the canary."""
    return conn.execute("""
        SELECT (SELECT count(*) FROM pg_class WHERE relnamespace IN ('animus'::regnamespace, 'pgmq'::regnamespace, 'public'::regnamespace)),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'animus'::regnamespace),
               (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles),
               (SELECT count(*) FROM injection_canary),
               (SELECT count(*) FROM pg_policy)""").fetchone()


def calls(queue: str, work_id, memory_id: int, vec: str):
    """(function, SQL, args builder) for every public function with a text or JSON argument."""
    J = Jsonb
    return [
        ("create_queue", "SELECT animus.create_queue(%s)", lambda h: [h]),
        ("configure_queue", "SELECT animus.configure_queue(%s)", lambda h: [h]),
        ("drop_queue", "SELECT animus.drop_queue(%s)", lambda h: [h]),
        ("pause_queue", "SELECT animus.pause_queue(%s)", lambda h: [h]),
        ("resume_queue", "SELECT animus.resume_queue(%s)", lambda h: [h]),
        ("submit_work.queue", "SELECT * FROM animus.submit_work(work_type => 't', source => 's', queue => %s)", lambda h: [h]),
        ("submit_work.text", "SELECT * FROM animus.submit_work(work_type => %s, source => %s, dedup_key => %s, trigger_info => %s,"
                             " params => %s, queue => %s)", lambda h: [h, h, h, h, J({"v": h, h[:1000]: h}), queue]),
        ("submit_work.on_duplicate", "SELECT * FROM animus.submit_work(work_type => 't', source => 's', on_duplicate => %s, queue => %s)",
         lambda h: [h, queue]),
        ("submit_work_batch", "SELECT * FROM animus.submit_work_batch(%s, queue => %s)",
         lambda h: [J([{"work_type": h, "source": h, "dedup_key": h, "params": {"v": h}}]), queue]),
        ("submit_work_batch.queue", "SELECT * FROM animus.submit_work_batch(%s, queue => %s)",
         lambda h: [J([{"work_type": "t", "source": "s"}]), h]),
        ("read_work", "SELECT * FROM animus.read_work(%s)", lambda h: [h]),
        ("read_work.work_types", "SELECT * FROM animus.read_work(%s, work_types => %s)", lambda h: [queue, [h, h[:1000]]]),
        ("grant_queue", "SELECT animus.grant_queue(%s, %s)", lambda h: [h, h]),
        ("revoke_queue", "SELECT animus.revoke_queue(%s, %s)", lambda h: [h, h]),
        ("queue_stats", "SELECT * FROM animus.queue_stats(%s)", lambda h: [h]),
        ("set_concurrency_limit", "SELECT * FROM animus.set_concurrency_limit(%s, %s, max_running => 1)", lambda h: [queue, h]),
        ("set_concurrency_limit.queue", "SELECT * FROM animus.set_concurrency_limit(%s, max_running => 1)", lambda h: [h]),
        ("drop_concurrency_limit", "SELECT * FROM animus.drop_concurrency_limit(%s, %s)", lambda h: [queue, h]),
        ("concurrency_stats", "SELECT * FROM animus.concurrency_stats(%s)", lambda h: [h]),
        ("sweep_concurrency_keys", "SELECT animus.sweep_concurrency_keys(%s)", lambda h: [h]),
        ("submit_work.concurrency_key", "SELECT * FROM animus.submit_work(work_type => 't', source => 's', concurrency_key => %s, queue => %s)",
         lambda h: [h, queue]),
        ("configure_queue.concurrency_param", "SELECT animus.configure_queue(%s, concurrency_param => %s)", lambda h: [queue, h]),
        ("purge_work", "SELECT * FROM animus.purge_work('100 years', %s)", lambda h: [h]),
        ("list_dead_work", "SELECT * FROM animus.list_dead_work(%s)", lambda h: [h]),
        ("queue_depth_history", "SELECT * FROM animus.queue_depth_history(%s, since => '1 minute', buckets => 2)", lambda h: [h]),
        ("set_health_threshold", "SELECT * FROM animus.set_health_threshold(%s, 1, 2)", lambda h: [h]),
        ("set_health_threshold.queue", "SELECT * FROM animus.set_health_threshold('backlog', 1, 2, %s)", lambda h: [h]),
        ("archive_work", "SELECT animus.archive_work(%s, 1)", lambda h: [h]),
        ("delete_work", "SELECT animus.delete_work(%s, 1)", lambda h: [h]),
        ("fail_work", "SELECT * FROM animus.fail_work(%s, %s)", lambda h: [work_id, h]),
        ("complete_work", "SELECT animus.complete_work(%s, %s)", lambda h: [work_id, J({"v": h})]),
        # durable steps and events (work item queued: the arguments are checked before the claim)
        ("start_step", "SELECT * FROM animus.start_step(%s, %s, 1, fingerprint => %s)", lambda h: [work_id, h, h]),
        ("finish_step", "SELECT animus.finish_step(%s, %s, 1, %s, error => %s)", lambda h: [work_id, h, J({"v": h}), h]),
        ("sleep_work", "SELECT * FROM animus.sleep_work(%s, 1, delay => '1 second', step_name => %s)", lambda h: [work_id, h]),
        ("await_event", "SELECT * FROM animus.await_event(%s, 1, %s, step_name => %s)", lambda h: [work_id, h, h]),
        ("emit_event", "SELECT animus.emit_event(%s, %s, %s)", lambda h: [h, J({"v": h, h[:1000]: h}), queue]),
        ("emit_event.queue", "SELECT animus.emit_event('k', NULL, %s)", lambda h: [h]),
        ("get_event", "SELECT * FROM animus.get_event(%s, %s)", lambda h: [h, h]),
        ("purge_events", "SELECT animus.purge_events('100 years', %s)", lambda h: [h]),
        ("store_memory", "SELECT * FROM animus.store_memory(content => %s, embedding => %s::vector, memory_type => %s, source => %s,"
                         " metadata => %s, namespace => %s)", lambda h: [h, vec, h, h, J({h[:1000]: h}), h]),
        ("store_memories", "SELECT * FROM animus.store_memories(%s, namespace => %s)",
         lambda h: [J([{"content": h, "embedding": json.loads(vec), "memory_type": h, "metadata": {"v": h}}]), h]),
        ("update_memory", "SELECT * FROM animus.update_memory(%s, metadata => %s, source => %s)", lambda h: [memory_id, J({"v": h}), h]),
        ("search_memory_text", "SELECT * FROM animus.search_memory_text(%s, 5, %s)", lambda h: [h, J({"namespace": h})]),
        ("search_memory_text.filter_key", "SELECT * FROM animus.search_memory_text('apple', 5, %s)", lambda h: [J({h[:1000]: "x"})]),
        ("search_memory_text.metadata", "SELECT * FROM animus.search_memory_text('apple', 5, %s)",
         lambda h: [J({"metadata": {h[:1000]: h}, "memory_type": {"in": [h]}, "source": {"prefix": h}})]),
        ("search_memory_vector", "SELECT * FROM animus.search_memory_vector(%s::vector, 5, %s)",
         lambda h: [vec, J({"namespace": {"in": [h, "x"]}, "created_at": {"gt": h}})]),
        ("hybrid_search", "SELECT * FROM animus.hybrid_search(%s, %s::vector, 5, %s)",
         lambda h: [h, vec, J({"namespace": {"prefix": h}})]),
        ("memory_validate_filters", "SELECT animus.memory_validate_filters(%s)", lambda h: [J({h[:1000]: {h[:1000]: h}})]),
        ("grant_memory_namespace", "SELECT animus.grant_memory_namespace(%s, %s)", lambda h: [h, h]),
        ("revoke_memory_namespace", "SELECT animus.revoke_memory_namespace(%s, %s)", lambda h: [h, h]),
        ("memory_scope", "SELECT animus.memory_scope(%s)", lambda h: [h]),
        ("memory_begin_reembedding", "SELECT * FROM animus.memory_begin_reembedding(%s)", lambda h: [h]),
        ("memory_finish_bulk_load", "SELECT animus.memory_finish_bulk_load(%s)", lambda h: [h]),
        ("memory_configure_vector_index", "SELECT * FROM animus.memory_configure_vector_index(%s)", lambda h: [h]),
        ("memory_configure_vector_index.mwm", "SELECT * FROM animus.memory_configure_vector_index('ivfflat', maintenance_work_mem => %s)",
         lambda h: [h]),
        # Internal helpers the memory roles may call too (the searches call them): same rule.
        ("memory_bm25_reindex", "SELECT animus.memory_bm25_reindex(%s)", lambda h: [h]),
        ("memory_bm25_topk", "SELECT * FROM animus.memory_bm25_topk(%s, %s)", lambda h: [h, J({"namespace": {"in": [h]}})]),
        ("memory_text_candidates", "SELECT * FROM animus.memory_text_candidates(%s, %s)", lambda h: [h, J({"namespace": {"eq": h}})]),
        ("memory_vector_candidates", "SELECT * FROM animus.memory_vector_candidates(%s::vector, %s)",
         lambda h: [vec, J({"source": {"prefix": h}})]),
        ("memory_check_embedding", "SELECT animus.memory_check_embedding(%s::vector, %s)", lambda h: [vec, h]),
        ("memory_check_fields", "SELECT animus.memory_check_fields(%s, %s, %s, %s)", lambda h: [h, h, h, J({"v": h})]),
        ("memory_check_limit", "SELECT animus.memory_check_limit(0, %s)", lambda h: [h]),
        ("memory_content_hash", "SELECT animus.memory_content_hash(%s)", lambda h: [h]),
        ("memory_filter_list", "SELECT animus.memory_filter_list(%s)", lambda h: [J({"in": [h, h]})]),
        ("memory_filter_match", "SELECT animus.memory_filter_match(%s, %s, %s, %s, %s, now())",
         lambda h: [J({"namespace": {"eq": h}, "metadata": {h[:1000]: h}}), h, h, h, J({h[:1000]: h})]),
        ("memory_normalize_text_filter", "SELECT animus.memory_normalize_text_filter(%s, %s)", lambda h: [h, J({"prefix": h})]),
        ("memory_or_tsquery", "SELECT animus.memory_or_tsquery(%s)", lambda h: [h]),
        ("memory_parses_as_vector", "SELECT animus.memory_parses_as_vector(%s)", lambda h: [h]),
        ("work_message_headers", "SELECT animus.work_message_headers(0, %s)", lambda h: [J({"traceparent": h, "tracestate": h})]),
        # schedules (docs/schedules.md)
        ("create_schedule.name", "SELECT name FROM animus.create_schedule(name => %s, cron => '* * * * *', work_type => 'w', queue => %s)",
         lambda h: [h, queue]),
        ("create_schedule.text", "SELECT name FROM animus.create_schedule(name => 'inj', cron => '* * * * *', work_type => %s, params => %s,"
                                 " queue => %s, period_key => %s)", lambda h: [h, J({"v": h, h[:1000]: h}), queue, h[:100]]),
        ("create_schedule.cron", "SELECT name FROM animus.create_schedule(name => 'inj', cron => %s, work_type => 'w', queue => %s)",
         lambda h: [h, queue]),
        ("create_schedule.options", "SELECT name FROM animus.create_schedule(name => 'inj', cron => '* * * * *', work_type => 'w',"
                                    " queue => %s, timezone => %s, catchup => %s)", lambda h: [h, h, h]),
        ("alter_schedule", "SELECT name FROM animus.alter_schedule(name => %s, cron => %s, timezone => %s, work_type => %s)",
         lambda h: [h, h, h, h]),
        ("pause_schedule", "SELECT animus.pause_schedule(%s)", lambda h: [h]),
        ("resume_schedule", "SELECT animus.resume_schedule(%s)", lambda h: [h]),
        ("drop_schedule", "SELECT animus.drop_schedule(%s)", lambda h: [h]),
        ("list_schedules", "SELECT * FROM animus.list_schedules(%s)", lambda h: [h]),
        ("schedule_next_runs", "SELECT * FROM animus.schedule_next_runs(%s)", lambda h: [h]),
        ("cron_next_runs", "SELECT * FROM animus.cron_next_runs(%s, timezone => %s)", lambda h: [h, h]),
        ("cron_next_runs.cron", "SELECT * FROM animus.cron_next_runs(%s)", lambda h: [h]),
        # memory lifecycle, links, review, models (docs/memory-lifecycle.md)
        ("update_memory_lifecycle", "SELECT * FROM animus.update_memory_lifecycle(%s, visibility => %s, groups => %s)",
         lambda h: [memory_id, h, [h, h[:1000]]]),
        ("purge_expired_memories", "SELECT animus.purge_expired_memories(%s)", lambda h: [h]),
        ("link_memories", "SELECT * FROM animus.link_memories(%s, %s, %s, metadata => %s)",
         lambda h: [memory_id, memory_id, h, J({"v": h, h[:1000]: h})]),
        ("unlink_memories", "SELECT animus.unlink_memories(%s, %s, %s)", lambda h: [memory_id, memory_id, h]),
        ("memory_neighbors", "SELECT * FROM animus.memory_neighbors(%s, 2, %s)", lambda h: [memory_id, [h, h[:1000]]]),
        ("memory_graph_expand", "SELECT * FROM animus.memory_graph_expand(ARRAY[%s]::bigint[], ARRAY[1.0]::float8[], 1, %s)",
         lambda h: [memory_id, [h]]),
        ("due_memories", "SELECT * FROM animus.due_memories(%s)", lambda h: [h]),
        ("register_model", "SELECT * FROM animus.register_model(%s, 3, %s, %s)", lambda h: [h, h, J({"v": h})]),
        ("set_namespace_model", "SELECT animus.set_namespace_model(%s, %s, %s)", lambda h: [h, h, h]),
        ("memory_request_reembedding", "SELECT animus.memory_request_reembedding(%s, %s)", lambda h: [h, h]),
        ("memory_set_embedding", "SELECT animus.memory_set_embedding(%s, %s::vector, %s, %s)", lambda h: [memory_id, vec, h, h]),
        ("memory_reembedding_progress", "SELECT * FROM animus.memory_reembedding_progress(%s)", lambda h: [h]),
        # internal helpers of the filter predicate the memory roles may call (the searches call them)
        ("memory_filter_state", "SELECT animus.memory_filter_state(%s, false)", lambda h: [J({"namespace": {"eq": h}})]),
        ("memory_state_match", "SELECT animus.memory_state_match(%s, %s)",
         lambda h: [J({"v": h, "visibility": h}), J({"role": h, "groups": [h]})]),
    ]


TEN_MB_CALLS = {"create_queue", "submit_work.queue", "read_work", "fail_work", "complete_work",
                "search_memory_text.filter_key", "memory_scope", "grant_memory_namespace", "memory_or_tsquery",
                "memory_parses_as_vector", "memory_content_hash", "cron_next_runs.cron", "create_schedule.text"}


def test_the_hostile_calls_cover_every_callable_function_with_a_text_or_json_argument(conn):
    covered = {name.split(".")[0] for name, _, _ in calls("q", None, 0, "[1]")}
    callable_ = {r[0] for r in conn.execute("""
        SELECT DISTINCT p.proname FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.pronamespace = 'animus'::regnamespace AND a.grantee <> p.proowner
           AND EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                        WHERE t IN ('text'::regtype, 'jsonb'::regtype, 'text[]'::regtype, 'jsonb[]'::regtype, 'name'::regtype))""")}
    assert callable_ - covered == set(), f"functions a role may call with text/JSON that get no hostile input: {sorted(callable_ - covered)}"


def test_hostile_strings_are_data_in_every_public_function(conn, queue_name, documented, dim):
    conn.execute("CREATE TABLE IF NOT EXISTS injection_canary (x int)")
    conn.execute("INSERT INTO injection_canary VALUES (1)")
    vec = json.dumps([0.1] * dim)
    work_id = conn.execute("SELECT work_id FROM animus.submit_work(work_type => 't', source => 's', queue => %s)",
                           [queue_name]).fetchone()[0]
    memory_id = conn.execute("SELECT id FROM animus.store_memory('injection target', %s::vector, 'fact', namespace => 'sec-inj')",
                             [vec]).fetchone()[0]
    before = fingerprint(conn)
    tried, worked, refused = 0, 0, {}
    try:
        for name, sql, args in calls(queue_name, work_id, memory_id, vec):
            for h in HOSTILE + ([TEN_MB] if TEN_MB_EVERYWHERE or name in TEN_MB_CALLS else []):
                tried += 1
                try:
                    with conn.transaction():
                        conn.execute("SET LOCAL statement_timeout = '120s'")
                        conn.execute(sql, args(h)).fetchall()
                        worked += 1
                        raise _Rollback()
                except _Rollback:
                    pass
                except psycopg.Error as exc:
                    assert exc.sqlstate in documented, f"{name}({label(h)}) raised undocumented {exc.sqlstate}: {exc}"
                    refused[exc.sqlstate] = refused.get(exc.sqlstate, 0) + 1
        # Deeply nested JSON where JSON is taken.
        for name, sql, a in [
                ("submit_work.params", "SELECT * FROM animus.submit_work(work_type => 't', source => 's',"
                                       " params => jsonb_build_object('deep', %s::jsonb), queue => %s)", lambda j: [j, queue_name]),
                ("submit_work_batch", "SELECT * FROM animus.submit_work_batch(%s::jsonb, queue => %s)", lambda j: [j, queue_name]),
                ("memory_validate_filters", "SELECT animus.memory_validate_filters(jsonb_build_object('metadata', jsonb_build_object('k', %s::jsonb)))",
                 lambda j: [j]),
                ("search_memory_text.filters", "SELECT * FROM animus.search_memory_text('apple', 5, %s::jsonb)", lambda j: [j]),
                ("store_memory.metadata", "SELECT * FROM animus.store_memory('deep', %s::vector, 'fact',"
                                          " metadata => jsonb_build_object('k', %s::jsonb), namespace => 'sec-inj')", lambda j: [vec, j])]:
            for j in (DEEP_JSON, NESTED_OBJ):
                tried += 1
                try:
                    with conn.transaction():
                        conn.execute(sql, a(j)).fetchall()
                        worked += 1
                        raise _Rollback()
                except _Rollback:
                    pass
                except psycopg.Error as exc:
                    assert exc.sqlstate in documented, f"{name}(deep JSON) raised undocumented {exc.sqlstate}: {exc}"
                    refused[exc.sqlstate] = refused.get(exc.sqlstate, 0) + 1
        assert fingerprint(conn) == before, "a hostile input changed the database's objects"
    finally:
        conn.execute("DROP TABLE IF EXISTS injection_canary")
        conn.execute("DELETE FROM animus.memories WHERE namespace = 'sec-inj'")
    assert worked > 0 and refused, "the test must see both outcomes"
    record(test="injection_sql", hostile_inputs=tried, worked_as_data=worked, refused=refused, other_errors=0)


class _Rollback(Exception):
    """Leaves the per-call transaction without keeping what a successful call wrote."""


def test_hostile_values_round_trip_byte_for_byte(conn, queue_name, dim):
    vec = json.dumps([0.1] * dim)
    for h in (v[:500] for v in HOSTILE):          # within the documented limits (dedup_key 2000 bytes)
        wt = h[:60]                                # work_type: at most 255 bytes (60 characters of up to 4)
        row = conn.execute("SELECT work_id FROM animus.submit_work(work_type => %s, source => %s, dedup_key => %s,"
                           " trigger_info => %s, params => %s, queue => %s)",
                           [wt, h, h, h, Jsonb({"v": h}), queue_name]).fetchone()
        got = conn.execute("SELECT work_type, source, dedup_key, trigger_info, params ->> 'v' FROM animus.work_items WHERE id = %s",
                           [row[0]]).fetchone()
        assert got == (wt, h, h, h, h), f"submit_work changed {label(h)}"
        if h.strip():
            mid = conn.execute("SELECT id FROM animus.store_memory(%s, %s::vector, %s, %s, %s, 'sec-inj-rt')",
                               [h + " memo", vec, h, h, Jsonb({"v": h})]).fetchone()[0]
            m = conn.execute("SELECT content, memory_type, source, metadata ->> 'v' FROM animus.get_memory(%s)", [mid]).fetchone()
            assert m == (h + " memo", h, h, h), f"store_memory changed {label(h)}"
            hits = conn.execute("SELECT count(*) FROM animus.search_memory_text(%s, 5, %s)",
                                [h + " memo", Jsonb({"namespace": "sec-inj-rt", "memory_type": h})]).fetchone()[0]
            assert hits <= 5
    conn.execute("DELETE FROM animus.memories WHERE namespace = 'sec-inj-rt'")


def test_hostile_strings_through_the_python_client(client, queue_name, documented, dim):
    tried = 0
    for h in HOSTILE + [TEN_MB]:
        for call in (lambda: client.submit_work(h, h, params={"v": h}, dedup_key=h, queue=queue_name),
                     lambda: client.submit_work("t", "s", queue=h),
                     lambda: client.create_queue(h),
                     lambda: client.search_memory_text(h, k=3, filters={"namespace": h}),
                     lambda: client.store_memory(h, [0.1] * dim, h, metadata={"v": h}, namespace="sec-inj-py"),
                     lambda: client.queue_stats(h)):
            tried += 1
            try:
                call()
            except animus.AnimusError as exc:
                assert exc.sqlstate in documented, f"client call with {label(h)} raised undocumented {exc.sqlstate}: {exc}"
                if exc.sqlstate not in PG_LIMITS:
                    assert exc.hint, "a documented animus error carries a HINT"
    with client.pool.connection() as c:
        c.execute("DELETE FROM animus.memories WHERE namespace = 'sec-inj-py'")
    record(test="injection_python", hostile_inputs=tried, other_errors=0)
