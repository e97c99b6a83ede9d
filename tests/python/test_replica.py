"""Reads on a hot standby (issue 16, part 4).

A real streaming replica of the embedded server (tools/devdb.py replica_start: pg_basebackup over
the Unix socket as the server user, a standby on a free port) serves the read paths: every read
function the client marks read-only runs there, writes nothing, and answers what the primary
answers once the standby has replayed the primary's WAL. The client sends read-only calls to
replicas (round-robin over the usable ones) and everything else to the primary; it falls back to
the primary when a replica is down, lags past ``max_replica_lag``, or loses the connection
mid-call, and its spans say which server answered.
"""
from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
import pytest

import animus
from animus.queries import QUERIES
from animus.replicas import LAG_SQL
from animus_fixtures import otel, wait_for  # noqa: F401
from conftest import admin_url, devdb

pytestmark = pytest.mark.timeout(600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


class Standby:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port

    def url(self, primary_url: str) -> str:
        """The standby's URL of the database primary_url names."""
        return with_port(primary_url, self.port)

    def wait_replayed(self, primary_url: str, timeout: float = 60.0) -> None:
        """Until the standby has replayed every WAL record the primary wrote before this call."""
        with psycopg.connect(primary_url, autocommit=True) as p:
            target = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        with psycopg.connect(self.url(admin_url()), autocommit=True) as s:
            done = wait_for(lambda: s.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                              [target]).fetchone()[0], timeout)
        assert done, f"the standby did not replay up to {target} within {timeout} s"


@pytest.fixture(scope="module")
def standby():
    primary_port = urlsplit(admin_url()).port
    devdb.PORT = primary_port            # the server make test runs (ANIMUS_ADMIN_URL)
    directory = Path(tempfile.mkdtemp(prefix="animus-replica-"))
    port = free_port()
    try:
        devdb.replica_start(directory, port)
    except devdb.DevDBError as exc:
        devdb.replica_stop(directory)
        pytest.fail(f"could not start the standby: {exc}")
    sb = Standby(directory, port)
    with psycopg.connect(sb.url(admin_url()), autocommit=True) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    yield sb
    devdb.replica_stop(directory)


@pytest.fixture(scope="module")
def dataset(db_url):
    """Memories (one namespace of their own) and work items in several states, on the primary."""
    ns = "replica-" + uuid.uuid4().hex[:8]
    queue = "r_" + uuid.uuid4().hex[:10]
    rng = np.random.default_rng(16)
    words = ["river", "stone", "lamp", "garden", "engine", "harbor", "violin", "copper", "maple", "orbit"]
    with psycopg.connect(db_url, autocommit=True) as c:
        dim = c.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
        vecs = rng.standard_normal((120, dim))
        items = [{"namespace": ns, "content": " ".join(rng.choice(words, 6)) + f" note {i}",
                  "embedding": "[" + ",".join(f"{x:.5f}" for x in vecs[i]) + "]",
                  "memory_type": "fact", "metadata": {"i": i}} for i in range(120)]
        ids = [r[0] for r in c.execute("SELECT id FROM animus.store_memories(%s::jsonb)", [json.dumps(items)])]
        c.execute("SELECT animus.create_queue(%s)", [queue])
        work = [c.execute("SELECT work_id FROM animus.submit_work(%s, 'test', %s::jsonb, dedup_key => %s, "
                          "queue => %s, concurrency_key => 'tenant-a')",
                          [f"t{i % 3}", json.dumps({"i": i}), f"d{i}", queue]).fetchone()[0] for i in range(6)]
        c.execute("SELECT animus.submit_work('t0', 'again', dedup_key => 'd0', queue => %s)", [queue])  # merged
        claimed = c.execute("SELECT work_id FROM animus.read_work(%s, qty => 2)", [queue]).fetchall()
        c.execute("SELECT animus.complete_work(%s, '{\"ok\": true}'::jsonb)", [claimed[0][0]])
        c.execute("SELECT animus.start_step(%s, 'fetch', attempt => 1)", [claimed[1][0]])
    query = "[" + ",".join(f"{x:.5f}" for x in rng.standard_normal(dim)) + "]"
    yield {"ns": ns, "queue": queue, "ids": ids, "work": work, "query": query, "dim": dim}
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("SELECT animus.delete_memories(ARRAY(SELECT id FROM animus.memories WHERE namespace = %s))", [ns])
        c.execute("SELECT animus.drop_queue(%s)", [queue])


def read_paths(d: dict) -> list[tuple[str, str, list]]:
    flt = json.dumps({"namespace": d["ns"]})
    return [
        ("search_memory_vector", "SELECT * FROM animus.search_memory_vector(%s::vector, 10, %s::jsonb)", [d["query"], flt]),
        ("search_memory_vector (no filter)", "SELECT id FROM animus.search_memory_vector(%s::vector, 10)", [d["query"]]),
        ("search_memory_text", "SELECT * FROM animus.search_memory_text('river lamp', 10, %s::jsonb)", [flt]),
        ("hybrid_search", "SELECT * FROM animus.hybrid_search('garden engine', %s::vector, 10, %s::jsonb)",
         [d["query"], flt]),
        ("get_memory", "SELECT * FROM animus.get_memory(%s)", [d["ids"][7]]),
        ("get_work", "SELECT * FROM animus.get_work(%s)", [d["work"][0]]),
        ("get_work (running, with a step)", "SELECT g.* FROM animus.work_items w, LATERAL animus.get_work(w.id) g "
         "WHERE w.queue_name = %s AND w.state = 'running'", [d["queue"]]),
        ("queue_stats", "SELECT * FROM animus.queue_stats(%s)", [d["queue"]]),
        ("get_work_submissions", "SELECT * FROM animus.get_work_submissions(%s)", [d["work"][0]]),
        ("concurrency_stats", "SELECT * FROM animus.concurrency_stats(%s)", [d["queue"]]),
        ("list_schedules", "SELECT name FROM animus.list_schedules()", []),
        ("cron_next_runs", "SELECT * FROM animus.cron_next_runs('*/5 * * * *', 3, "
         "after => '2026-01-01 00:00Z')", []),
    ]


def queue_stats_compared(want: list[tuple], got: list[tuple]) -> tuple[list, list]:
    """queue_stats rows without what legitimately differs on a standby, after checking it:
    the two ages (now() of each server, seconds apart) and total_messages, which pgmq.metrics
    reads from the queue's msg_id sequence; a standby sees a sequence's WAL-logged value, which
    PostgreSQL logs up to 32 values ahead (SEQ_LOG_VALS), so it may show up to 32 more."""
    assert len(want) == len(got)
    for w, g in zip(want, got):
        for i in (5, 6):          # oldest_visible_age_sec, oldest_msg_age_sec
            assert (w[i] is None) == (g[i] is None) and (w[i] is None or abs(g[i] - w[i]) < 30), (w, g)
        assert w[7] <= g[7] <= w[7] + 32, (w, g)
    return [w[:5] for w in want], [g[:5] for g in got]


def test_every_read_path_runs_on_the_standby_and_equals_the_primary(standby, dataset, db_url):
    standby.wait_replayed(db_url)
    failures = []
    with psycopg.connect(db_url, autocommit=True) as p, \
            psycopg.connect(standby.url(db_url), autocommit=True) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        for name, sql, args in read_paths(dataset):
            want = p.execute(sql, args).fetchall()
            try:
                got = s.execute(sql, args).fetchall()
            except psycopg.Error as exc:
                failures.append(f"{name}: {exc.sqlstate} {exc}")
                continue
            assert want or name == "list_schedules", f"{name}: the primary returned no row (the test data is wrong)"
            if name == "queue_stats":
                want, got = queue_stats_compared(want, got)
            assert got == want, f"{name}: the standby answered differently"
    assert not failures, "read paths that fail on a hot standby:\n" + "\n".join(failures)


def test_client_read_only_declarations_are_read_only_functions(db_url):
    """Every query the client may send to a replica is a non-VOLATILE function (a STABLE
    PL/pgSQL function cannot write), and no VOLATILE one is declared read-only."""
    ro = {q.function for q in QUERIES.values() if q.read_only}
    assert {"search_memory_vector", "search_memory_text", "hybrid_search", "get_memory", "get_work",
            "queue_stats"} <= ro
    with psycopg.connect(db_url, autocommit=True) as c:
        vol = dict(c.execute("SELECT proname, provolatile FROM pg_proc WHERE pronamespace = 'animus'::regnamespace "
                             "AND proname = ANY(%s)", [sorted(ro)]).fetchall())
    assert set(vol) == ro
    assert {f: v for f, v in vol.items() if v == "v"} == {}
    assert not QUERIES["watch_work"].read_only    # it marks items awaited: a write


def spans_by_port(otel, name: str) -> list[tuple[int | None, dict]]:
    return [(s.attributes.get("server.port"), dict(s.attributes)) for s in otel.spans(name)]


def test_client_sends_reads_to_the_replica_and_writes_to_the_primary(standby, dataset, db_url, otel):
    primary_port = urlsplit(db_url).port
    with animus.connect(db_url, replicas=standby.url(db_url), tracer_provider=otel.tracer_provider,
                        pool_max_size=2, max_replica_lag=30) as client:
        stored = client.store_memory(content="a write goes to the primary", memory_type="fact", namespace=dataset["ns"],
                                     embedding=[1.0] + [0.0] * (dataset["dim"] - 1))
        standby.wait_replayed(db_url)
        hits = client.search_memory_text("river lamp", k=5, filters={"namespace": dataset["ns"]})
        mem = client.get_memory(stored.id)
        stats = client.queue_stats(dataset["queue"])
        details = client.get_work(dataset["work"][0])
        with animus.connect(db_url, replicas=[]) as primary_only:
            assert hits and hits == primary_only.search_memory_text("river lamp", k=5,
                                                                    filters={"namespace": dataset["ns"]})
            direct = primary_only.queue_stats(dataset["queue"])
            assert [(x.queue, x.state, x.items, x.queue_length) for x in stats] == \
                [(x.queue, x.state, x.items, x.queue_length) for x in direct]
            assert details == primary_only.get_work(dataset["work"][0])
        sub = client.submit_work("t0", "test", queue=dataset["queue"])
    assert mem is not None and mem.content == "a write goes to the primary"
    assert sub.status == "created"
    for name in ("SELECT animus.search_memory_text", "SELECT animus.get_memory", "SELECT animus.queue_stats",
                 "SELECT animus.get_work"):
        ((port, attrs),) = spans_by_port(otel, name)
        assert port == standby.port and attrs.get("animus.db.replica") is True, name
        assert "animus.db.replica_fallback" not in attrs
    ((port, attrs),) = spans_by_port(otel, "SELECT animus.store_memory")
    assert port == primary_port and "animus.db.replica" not in attrs
    send = [s for s in otel.spans() if s.attributes.get("messaging.operation.type") == "send"]
    assert send and all(s.attributes.get("server.port") == primary_port for s in send)
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("SELECT animus.delete_memory(%s)", [stored.id])
        c.execute("SELECT animus.cancel_work(%s)", [sub.work_id])


def test_a_down_replica_sends_reads_to_the_next_usable_server(standby, dataset, db_url, otel):
    dead = with_port(db_url, free_port())        # nothing listens there
    primary_port = urlsplit(db_url).port
    standby.wait_replayed(db_url)
    with animus.connect(db_url, replicas=dead, tracer_provider=otel.tracer_provider) as client:
        assert client.get_memory(dataset["ids"][3]).id == dataset["ids"][3]
        assert client.replica_states()[0]["down"] is True
    ((port, attrs),) = spans_by_port(otel, "SELECT animus.get_memory")
    assert port == primary_port and attrs["animus.db.replica_fallback"] == "down"

    otel.exporter.clear()
    with animus.connect(db_url, replicas=f"{dead},{standby.url(db_url)}", tracer_provider=otel.tracer_provider,
                        replica_check_interval=60) as client:
        for _ in range(4):        # round-robin starts at each replica in turn; the dead one is skipped
            assert client.get_memory(dataset["ids"][3]).id == dataset["ids"][3]
    assert [p for p, _ in spans_by_port(otel, "SELECT animus.get_memory")] == [standby.port] * 4


def test_a_replica_connection_lost_mid_call_is_retried_on_the_primary(standby, dataset, db_url, otel):
    primary_port = urlsplit(db_url).port
    standby.wait_replayed(db_url)
    with animus.connect(db_url, replicas=standby.url(db_url), tracer_provider=otel.tracer_provider,
                        pool_max_size=1, replica_check_interval=60) as client:
        assert client.get_memory(dataset["ids"][5]) is not None           # opens the replica's connection
        with psycopg.connect(standby.url(db_url), autocommit=True) as s:
            killed = s.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                               "AND backend_type = 'client backend'").fetchone()[0]
        assert killed >= 1
        assert client.get_memory(dataset["ids"][5]).id == dataset["ids"][5]   # retried on the primary
        assert client.replica_states()[0]["down"] is True
    spans = spans_by_port(otel, "SELECT animus.get_memory")
    assert [p for p, _ in spans] == [standby.port, standby.port, primary_port]
    assert spans[1][1].get("error.type") and spans[2][1]["animus.db.replica_fallback"] == "error"


def test_replay_lag_over_the_bound_sends_reads_to_the_primary(standby, dataset, db_url, otel):
    primary_port = urlsplit(db_url).port
    standby.wait_replayed(db_url)
    admin_standby = standby.url(admin_url())
    with psycopg.connect(admin_standby, autocommit=True) as s, \
            animus.connect(db_url, replicas=standby.url(db_url), tracer_provider=otel.tracer_provider,
                           max_replica_lag=0.5, replica_check_interval=0) as client:
        s.execute("SELECT pg_wal_replay_pause()")
        try:
            stored = client.store_memory(content="written while replay is paused", memory_type="fact", namespace=dataset["ns"],
                                         embedding=[0.0, 1.0] + [0.0] * (dataset["dim"] - 2))
            lagging = wait_for(lambda: (s.execute(LAG_SQL).fetchone()[1] or 0) > 0.5, 30)
            assert lagging, "the standby did not fall behind while its replay was paused"
            mem = client.get_memory(stored.id)    # the standby has not replayed it: the primary answers
            assert mem is not None and mem.content == "written while replay is paused"
            state = client.replica_states()[0]
            assert state["down"] is False and state["lag"] > 0.5
        finally:
            s.execute("SELECT pg_wal_replay_resume()")
        standby.wait_replayed(db_url)
        assert client.get_memory(stored.id).id == stored.id          # caught up: the replica again
    spans = spans_by_port(otel, "SELECT animus.get_memory")
    assert [p for p, _ in spans] == [primary_port, standby.port]
    assert spans[0][1]["animus.db.replica_fallback"] == "lag"
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("SELECT animus.delete_memory(%s)", [stored.id])


def test_async_client_routes_reads_and_falls_back(standby, dataset, db_url, otel):
    primary_port = urlsplit(db_url).port
    dead = with_port(db_url, free_port())
    standby.wait_replayed(db_url)

    async def main():
        async with await animus.connect_async(db_url, replicas=standby.url(db_url),
                                              tracer_provider=otel.tracer_provider) as ac:
            hits = await ac.hybrid_search("garden engine", query_embedding=dataset["query"], k=5,
                                          filters={"namespace": dataset["ns"]})
            sub = await ac.submit_work("t1", "test", queue=dataset["queue"])
            await ac.cancel_work(sub.work_id)
        async with await animus.connect_async(db_url, replicas=[dead], tracer_provider=otel.tracer_provider) as ac:
            stats = await ac.queue_stats(dataset["queue"])
            assert ac.replica_states()[0]["down"] is True
        return hits, stats

    hits, stats = asyncio.run(main())
    assert len(hits) == 5
    with animus.connect(db_url, replicas=[]) as c:
        assert hits == c.hybrid_search("garden engine", query_embedding=dataset["query"], k=5,
                                       filters={"namespace": dataset["ns"]})
    ((port, attrs),) = spans_by_port(otel, "SELECT animus.hybrid_search")
    assert port == standby.port and attrs["animus.db.replica"] is True
    ((port, attrs),) = spans_by_port(otel, "SELECT animus.queue_stats")
    assert port == primary_port and attrs["animus.db.replica_fallback"] == "down"
    send = [s for s in otel.spans() if s.attributes.get("messaging.operation.type") == "send"]
    assert send and all(s.attributes.get("server.port") == primary_port for s in send)


def test_replica_urls_from_the_environment():
    cfg = animus.Config.from_env({"DATABASE_URL": "postgresql://u:p@h1:5432/d",
                                  "DATABASE_REPLICA_URL": "postgresql://u:p@r1:5432/d, postgresql://u:p@r2,r3:5432/d",
                                  "ANIMUS_MAX_REPLICA_LAG": "2.5"})
    assert [d.host for d in cfg.replica_urls] == ["r1", "r2,r3"]      # a multi-host URL stays one URL
    assert "p@" not in repr(cfg)
    assert cfg.max_replica_lag == 2.5 and cfg.replica_check_interval == 1.0
    assert animus.Config.from_env({"DATABASE_URL": "postgresql://u:p@h1/d"}).replica_urls == ()
    with pytest.raises(animus.ConfigError, match="ANIMUS_MAX_REPLICA_LAG"):
        animus.Config.from_env({"DATABASE_URL": "postgresql://u:p@h1/d", "ANIMUS_MAX_REPLICA_LAG": "soon"})


def test_health_reports_replication_lag_on_the_standby_only(standby, dataset, db_url):
    """animus.health() runs on the standby (read-only) and adds its replication_lag_sec row there:
    about 0 and ok once replay has caught up, past warn_at (status warn) while replay is paused behind a
    write; the primary has no such row."""
    lag_row = "SELECT value, status FROM animus.health() WHERE check_name = 'replication_lag_sec'"
    with psycopg.connect(db_url, autocommit=True) as p:
        p.execute("SELECT animus.set_health_threshold('replication_lag_sec', warn_at => 0.5, fail_at => 3600)")
        try:
            standby.wait_replayed(db_url)
            with psycopg.connect(standby.url(admin_url()), autocommit=True) as admin, \
                    psycopg.connect(standby.url(db_url), autocommit=True) as s:
                assert p.execute(lag_row).fetchall() == []
                caught_up = s.execute(lag_row).fetchall()   # ~0: WAL written since (autovacuum) may be in flight
                assert len(caught_up) == 1 and caught_up[0][0] < 0.5 and caught_up[0][1] == "ok", caught_up
                admin.execute("SELECT pg_wal_replay_pause()")
                try:
                    p.execute("SELECT animus.store_memory(content => 'written while replay is paused (health)', "
                              "embedding => %s::vector, memory_type => 'fact', namespace => %s)",
                              [str([0.0, 0.0, 1.0] + [0.0] * (dataset["dim"] - 3)), dataset["ns"]])
                    assert wait_for(lambda: (s.execute(lag_row).fetchone()[0] or 0) > 0.5, 30)
                    value, status = s.execute(lag_row).fetchone()
                    assert value > 0.5 and status == "warn"
                finally:
                    admin.execute("SELECT pg_wal_replay_resume()")
                standby.wait_replayed(db_url)
                assert wait_for(lambda: s.execute(lag_row).fetchone()[1] == "ok", 30)
        finally:
            p.execute("SELECT animus.set_health_threshold('replication_lag_sec', warn_at => 30, fail_at => 300)")
            p.execute("DELETE FROM animus.memories WHERE content = 'written while replay is paused (health)'")
