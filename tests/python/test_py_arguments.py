"""Wrong Python values name their argument; NotDeployed only when animus really is missing; the
admin calls README promotes (bulk load, namespace grants, BM25 settings) on both clients."""
from __future__ import annotations

import asyncio
import doctest
import uuid

import psycopg
import pytest

import animus
from animus import _core
from animus_fixtures import client, otel, queue_name  # noqa: F401
from conftest import sqitch


def count_items(conn, queue: str) -> int:
    return conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s", [queue]).fetchone()[0]


@pytest.mark.parametrize("call,exc,argument", [
    (lambda c, q: c.submit_work("engage", "t", priority=2**31, queue=q), ValueError, "priority"),
    (lambda c, q: c.submit_work("engage", "t", max_attempts=-2**31 - 1, queue=q), ValueError, "max_attempts"),
    (lambda c, q: c.submit_work("engage", "t", priority=1.5, queue=q), TypeError, "priority"),
    (lambda c, q: c.submit_work("engage", "t", priority=True, queue=q), TypeError, "priority"),
    (lambda c, q: c.submit_work(None, "t", queue=q), TypeError, "work_type"),
    (lambda c, q: c.search_memory_text("x", k=2.5), TypeError, "k"),
    (lambda c, q: c.search_memory_text("x", k="10"), TypeError, "k"),
    (lambda c, q: c.hybrid_search("x", k=2**40), ValueError, "k"),
    (lambda c, q: c.read_work(q, qty=1.0), TypeError, "qty"),
    (lambda c, q: c.complete_work(None), TypeError, "work_id"),
    (lambda c, q: c.fail_work(None, "boom"), TypeError, "work_id"),
    (lambda c, q: c.fail_work(uuid.uuid4(), None), TypeError, "error"),
    (lambda c, q: c.heartbeat_work(None), TypeError, "work_id"),
    (lambda c, q: c.release_work(None), TypeError, "work_id"),
    (lambda c, q: c.cancel_work(None), TypeError, "work_id"),
    (lambda c, q: c.get_work(None), TypeError, "work_id"),
    (lambda c, q: c.get_memory(2**63), ValueError, "id"),
    (lambda c, q: c.delete_memory("7"), TypeError, "id"),
])
def test_a_wrong_type_or_none_names_the_argument_instead_of_not_deployed(client, conn, queue_name,
                                                                       call, exc, argument):
    with pytest.raises(exc) as info:
        call(client, queue_name)
    err = info.value
    assert isinstance(err, animus.InvalidArgument) and not isinstance(err, animus.NotDeployed)
    assert f" {argument} " in str(err), str(err)
    assert err.sqlstate is None                      # refused before the call
    assert count_items(conn, queue_name) == 0        # nothing written


def test_a_type_no_function_takes_is_an_argument_error_naming_the_types_not_not_deployed(client, conn,
                                                                                       queue_name):
    with pytest.raises(animus.ArgumentTypeError) as info:
        client.submit_work(5, "t", queue=queue_name)          # the server finds no function (42883)
    assert info.value.sqlstate == "42883" and isinstance(info.value, TypeError)
    assert "work_type: int" in str(info.value) and "animus.submit_work" in str(info.value)
    assert count_items(conn, queue_name) == 0


def test_the_async_client_names_the_argument_too(db_url, queue_name):
    async def main():
        async with await animus.connect_async(db_url, pool_min_size=1, pool_max_size=2) as c:
            with pytest.raises(animus.ArgumentValueError, match="priority"):
                await c.submit_work("engage", "t", priority=2**31, queue=queue_name)
            with pytest.raises(animus.ArgumentTypeError, match="work_id is required"):
                await c.complete_work(None)
            with pytest.raises(animus.ArgumentTypeError) as info:
                await c.submit_work("engage", 7, queue=queue_name)
            assert info.value.sqlstate == "42883" and "source: int" in str(info.value)
    asyncio.run(main())


def test_not_deployed_only_when_the_schema_or_the_function_is_missing(scratch_db):
    with animus.connect(scratch_db.url, pool_min_size=1, pool_max_size=2) as c:
        with pytest.raises(animus.NotDeployed, match="schema \"?animus\"? does not exist"):
            c.queue_stats()
        with pytest.raises(animus.NotDeployed, match="schema \"?animus\"? does not exist"):
            c.complete_work(uuid.uuid4())
        with psycopg.connect(scratch_db.url, autocommit=True) as admin:
            admin.execute("CREATE SCHEMA animus")        # an empty schema: every function missing
        with pytest.raises(animus.NotDeployed) as info:
            c.queue_stats()
        assert info.value.sqlstate == "42883" and "function animus.queue_stats does not exist" in str(info.value)


@pytest.mark.parametrize("obj", [_core.check_arguments, animus.ArgumentTypeError])
def test_docstring_examples_run(obj):
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(obj, obj.__name__, globs={"check_arguments": _core.check_arguments}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries >= 1


# ------------------------------------------------------------------ admin calls
@pytest.fixture(scope="module")
def admin_db():
    """A scratch database with animus deployed (bulk loads and BM25 settings are global)."""
    from conftest import ScratchDB

    db = ScratchDB()
    sqitch(db.url, "deploy", "--set", "embedding_dim=16")
    yield db.url
    db.drop()


def test_bulk_load_through_the_client(admin_db):
    with animus.connect(admin_db, pool_min_size=1, pool_max_size=2) as c:
        assert c.memory_begin_bulk_load() == 0
        with pytest.raises(animus.MemoryStoreError) as info:
            c.memory_begin_bulk_load()                   # already in progress
        assert info.value.sqlstate == "ZA212"
        rows = c.store_memories([{"content": f"bulk fact {i}", "memory_type": "fact",
                                  "embedding": [float(i + 1)] * 16}
                                 for i in range(5)], namespace="bulk")
        assert len(rows) == 5
        with pytest.raises(animus.ArgumentTypeError, match="parallel_workers"):
            c.memory_finish_bulk_load(parallel_workers=1.5)
        assert c.memory_finish_bulk_load(maintenance_work_mem="64MB", parallel_workers=0) == 5
        with pytest.raises(animus.MemoryStoreError) as info:
            c.memory_finish_bulk_load()                  # none in progress
        assert info.value.sqlstate == "ZA212"
        assert [h.content for h in c.search_memory_text("fact", filters={"namespace": "bulk"})]


def test_namespace_grants_through_the_client(admin_db):
    role = "py_grant_" + uuid.uuid4().hex[:8]
    with psycopg.connect(admin_db, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}"')
    try:
        with animus.connect(admin_db, pool_min_size=1, pool_max_size=2) as c:
            assert c.grant_memory_namespace(role, "agent-7", can_write=True) is None
            with psycopg.connect(admin_db, autocommit=True) as admin:
                grants = admin.execute("SELECT namespace, can_write FROM animus.memory_namespace_grants "
                                       "WHERE role_name = %s", [role]).fetchall()
            assert grants == [("agent-7", True)]
            assert c.revoke_memory_namespace(role, "agent-7") is True
            assert c.revoke_memory_namespace(role, "agent-7") is False
            with pytest.raises(animus.InvalidArgument) as info:
                c.grant_memory_namespace("no_such_role_" + uuid.uuid4().hex[:6], "x")
            assert info.value.sqlstate == "ZA320"
            with pytest.raises(animus.InvalidArgument):  # NULL is refused by the function itself
                c.grant_memory_namespace(role, None)
    finally:
        with psycopg.connect(admin_db, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')


def test_bm25_configure_through_both_clients(admin_db):
    with animus.connect(admin_db, pool_min_size=1, pool_max_size=2) as c:
        before = c.memory_bm25_configure()               # nothing changed: the current settings
        assert isinstance(before, animus.BM25Settings) and before.k1 == 1.2 and before.b == 0.75
        after = c.memory_bm25_configure(k1=1.5, rescore_extra=100)
        assert (after.k1, after.b, after.rescore_extra) == (1.5, 0.75, 100)
        with pytest.raises(animus.InvalidMemoryArgument) as info:
            c.memory_bm25_configure(b=2.0)
        assert info.value.sqlstate == "ZA280"
        with pytest.raises(animus.ArgumentTypeError, match="postings_budget"):
            c.memory_bm25_configure(postings_budget=10.5)

    async def main():
        async with await animus.connect_async(admin_db, pool_min_size=1, pool_max_size=2) as ac:
            s = await ac.memory_bm25_configure(k1=1.2, rescore_extra=before.rescore_extra)
            assert (s.k1, s.rescore_extra) == (1.2, before.rescore_extra)
            assert await ac.memory_begin_bulk_load() == await ac.memory_finish_bulk_load(parallel_workers=0)
    asyncio.run(main())
