"""Embedding models and queue-driven re-embedding: switching a namespace's model queues one work
item per memory (deduplicated: a burst of edits embeds once), a worker with an Embedder
re-embeds, progress is queryable, a vector computed from stale content is not kept."""
from __future__ import annotations

import psycopg
import pytest

import animus
from animus_fixtures import run_worker, wait_for
from test_py_cli import animus_cli, bare_env
from conftest import sqitch


@pytest.fixture
def db3(scratch_db):
    sqitch(scratch_db.url, "deploy", "--set", "embedding_dim=3", "--set", "embedding_model=demo-3d")
    return scratch_db.url


def toy(texts):
    # a deterministic 3-d "model": letter statistics of the text
    out = []
    for t in texts:
        t = t.lower()
        out.append([1.0 + t.count("a"), 1.0 + t.count("e"), 1.0 + len(t) % 7])
    return out


def test_switching_model_reembeds_every_memory_once_through_the_queue(db3):
    emb = animus.FunctionEmbedder(toy, model="toy-3d", provider="local")
    with animus.connect(db3) as c, psycopg.connect(db3, autocommit=True) as conn:
        c.create_queue("reembed")
        with pytest.raises(animus.InvalidMemoryArgument) as info:
            c.register_model("toy-4d", 4)
        assert info.value.sqlstate == "ZA226"
        with pytest.raises(animus.InvalidMemoryArgument) as info:
            c.set_namespace_model("kb", "toy-3d")
        assert info.value.sqlstate == "ZA225"
        c.register_model("toy-3d", 3, provider="local")
        texts = [f"memory number {i} about apples and pears" for i in range(20)]
        ids = [c.store_memory(t, [0.1, 0.2, 0.3], "fact", namespace="kb").id for t in texts]
        c.store_memory("another namespace keeps its vector", [0.3, 0.2, 0.1], "fact", namespace="other")
        assert c.set_namespace_model("kb", "toy-3d", queue="reembed") == 20
        # asking again (or a burst of edits) merges into the items still queued: 20 items, not 40
        assert c.memory_request_reembedding(namespace="kb", queue="reembed") == 20
        active = conn.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = 'reembed' "
                              "AND state NOT IN ('merged')").fetchone()[0]
        assert active == 20
        [p] = c.memory_reembedding_progress("kb")
        assert (p.model, p.total, p.current, p.pending) == ("toy-3d", 20, 0, 20)

        # the operator's view of it: a table, and --wait ends (exit 1) at its timeout while work is pending
        res = animus_cli("memory", "reembedding", "--namespace", "kb", "--dsn", db3, env=bare_env())
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines()[1].split() == ["kb", "toy-3d", "0", "20", "20"]
        res = animus_cli("memory", "reembedding", "--wait", "--timeout", "0.3", "--interval", "0.1", "--dsn", db3,
                         env=bare_env())
        assert res.returncode == 1 and "20 still pending" in res.stderr, res.stderr

        worker = animus.Worker(c, animus.reembedding_handlers(c, emb), queue="reembed", concurrency=2,
                               poll_interval=0.2)
        t = run_worker(worker)
        try:
            # --wait follows the workers to the end: a progress line on stderr, the final table on stdout
            res = animus_cli("memory", "reembedding", "--namespace", "kb", "--wait", "--timeout", "120",
                             "--interval", "0.2", "--dsn", db3, env=bare_env())
            assert res.returncode == 0, res.stderr
            assert "re-embedding: 20/20 (100%)" in res.stderr and res.stderr.rstrip().endswith("done"), res.stderr
            assert res.stdout.splitlines()[1].split() == ["kb", "toy-3d", "20", "20", "0"]
            assert c.memory_reembedding_progress("kb")[0].pending == 0
        finally:
            worker.stop()
            t.join(30)
        for i, t_ in zip(ids, texts):
            row = conn.execute("SELECT embedding::text, embedding_model FROM animus.memories WHERE id = %s", (i,)).fetchone()
            assert row[1] == "toy-3d"
            assert [float(x) for x in row[0].strip("[]").split(",")] == pytest.approx(toy([t_])[0])
        assert conn.execute("SELECT embedding_model FROM animus.memories WHERE namespace = 'other'").fetchone()[0] is None

        # new content: the vector's model is unknown again, and the next pass queues that memory only
        c.update_memory(ids[0], content="pears only now", embedding=[0.5, 0.5, 0.5])
        assert c.memory_reembedding_progress("kb")[0].pending == 1
        assert c.memory_request_reembedding(queue="reembed") == 1
        # a vector computed from content that changed since is not kept
        assert c.memory_set_embedding(ids[0], toy(["stale text"])[0], "toy-3d", "stale text") is False
        assert c.memory_set_embedding(ids[0], toy(["pears only now"])[0], "toy-3d", "pears only now") is True
        assert c.memory_reembedding_progress("kb")[0].pending == 0
