"""Semantic memory: deploy-time dimension, changing the model later, filtered search through the
HNSW index, concurrent stores, and retrieval quality on a small NFCorpus subset."""
from __future__ import annotations

import asyncio
import csv
import json
import math
import threading
from pathlib import Path

import numpy as np
import psycopg
import pytest

from conftest import ROOT, sqitch

NFCORPUS = (ROOT / ".." / "shared" / "data" / "nfcorpus").resolve()


def vec(v) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def sqlstate(exc: pytest.ExceptionInfo) -> str:
    return exc.value.diag.sqlstate


@pytest.fixture
def db384(scratch_db):
    sqitch(scratch_db.url, "deploy", "--set", "embedding_dim=384", "--set", "embedding_model=test-minilm")
    return scratch_db.url


def test_dimension_and_model_come_from_the_deploy_variables(db384):
    with psycopg.connect(db384, autocommit=True) as c:
        assert c.execute("SELECT embedding_dim, embedding_model, state FROM animus.memory_settings").fetchone() \
            == (384, "test-minilm", "ready")
        assert c.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                         "WHERE attrelid = 'animus.memories'::regclass AND attname = 'embedding'").fetchone()[0] == "vector(384)"
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT animus.store_memory('x', %s::vector, 'fact')", (vec([1.0] * 1536),))
        assert sqlstate(e) == "ZA200"
        assert c.execute("SELECT count(*) FROM animus.memories").fetchone()[0] == 0


def test_changing_the_embedding_model_reembeds_every_memory(db384):
    rng = np.random.default_rng(1)
    with psycopg.connect(db384, autocommit=True) as c:
        for i in range(5):
            c.execute("SELECT animus.store_memory(%s, %s::vector, 'fact')", (f"memory {i}", vec(rng.standard_normal(384))))
        assert c.execute("SELECT animus.memory_begin_reembedding('tiny-model', 8)").fetchone()[0] == 5
        assert c.execute("SELECT embedding_dim, embedding_model, state FROM animus.memory_settings").fetchone() \
            == (8, "tiny-model", "reembedding")
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT animus.memory_begin_reembedding('other', 16)")
        assert sqlstate(e) == "ZA209"
        # old-dimension vectors are refused, new ones accepted
        ids = [r[0] for r in c.execute("SELECT id FROM animus.memories WHERE embedding IS NULL ORDER BY id")]
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT animus.update_memory(%s, embedding => %s::vector)", (ids[0], vec(rng.standard_normal(384))))
        assert sqlstate(e) == "ZA200"
        for i in ids[:3]:
            c.execute("SELECT animus.update_memory(%s, embedding => %s::vector)", (i, vec(rng.standard_normal(8))))
        # vector search sees the re-embedded memories, keyword search all of them
        assert c.execute("SELECT count(*) FROM animus.search_memory_vector(%s::vector, 10)",
                         (vec(rng.standard_normal(8)),)).fetchone()[0] == 3
        assert c.execute("SELECT count(*) FROM animus.search_memory_text('memory', 10)").fetchone()[0] == 5
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT animus.memory_finish_reembedding()")
        assert sqlstate(e) == "ZA210"
        for i in ids[3:]:
            c.execute("SELECT animus.update_memory(%s, embedding => %s::vector)", (i, vec(rng.standard_normal(8))))
        assert c.execute("SELECT animus.memory_finish_reembedding()").fetchone()[0] == 5
        assert c.execute("SELECT state FROM animus.memory_settings").fetchone()[0] == "ready"
        assert c.execute("SELECT format_type(atttypid, atttypmod), attnotnull, attstorage FROM pg_attribute "
                         "WHERE attrelid = 'animus.memories'::regclass AND attname = 'embedding'").fetchone() \
            == ("vector(8)", True, "m")
        assert c.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'memories_embedding_hnsw'").fetchone()[0] == 1
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT animus.memory_finish_reembedding()")
        assert sqlstate(e) == "ZA209"
    # only admins may do it
    with psycopg.connect(db384, autocommit=False) as c:
        c.execute("SET ROLE animus_memory_writer")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT animus.memory_begin_reembedding('x', 8)")


def test_concurrent_stores_of_the_same_content_make_one_memory(db_url):
    ns = f"pytest-concurrent-{np.random.default_rng().integers(1 << 30)}"
    with psycopg.connect(db_url, autocommit=True) as c:
        dim = c.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    barrier = threading.Barrier(4)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def store(seed: int) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                v = vec(np.random.default_rng(seed).standard_normal(dim))
                barrier.wait()
                results.append(c.execute("SELECT id, created FROM animus.store_memory('the same words', %s::vector, "
                                         "'fact', namespace => %s)", (v, ns)).fetchone())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r[0] for r in results}) == 1, "all four sessions must get the same id"
    assert sorted(r[1] for r in results) == [False, False, False, True], "exactly one session created it"
    with psycopg.connect(db_url, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM animus.memories WHERE namespace = %s", (ns,)).fetchone()[0] == 1
        c.execute("DELETE FROM animus.memories WHERE namespace = %s", (ns,))


def test_filtered_vector_search_returns_k_rows_through_the_index(db384):
    """6,000 clustered memories (above the 5,000 rows under which search is always exact);
    namespace 'big' holds half (HNSW path with iterative scan), 'small' 0.5 % (exact path).
    k rows whenever k rows match, and recall against exact search."""
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((20, 384))
    n = 6000
    X = centers[rng.integers(0, 20, n)] + 0.9 * rng.standard_normal((n, 384))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    ns = ["small" if i % 200 == 0 else ("big" if i % 2 else "other") for i in range(n)]
    with psycopg.connect(db384, autocommit=True) as c:
        for s in range(0, n, 1000):
            items = [{"content": f"memory {i}", "embedding": vec(X[i]), "memory_type": "fact", "namespace": ns[i]}
                     for i in range(s, s + 1000)]
            c.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)", (json.dumps(items),))
        c.execute("ANALYZE animus.memories")
        id_of = {r[1]: r[0] for r in c.execute("SELECT id, content FROM animus.memories")}
        Q = centers[rng.integers(0, 20, 20)] + 0.9 * rng.standard_normal((20, 384))
        recalls = []
        for q in Q:
            qv = vec(q)
            for want_ns, k in (("big", 50), ("small", 10), ("small", 50)):
                got = [r[0] for r in c.execute(
                    "SELECT id FROM animus.search_memory_vector(%s::vector, %s, %s::jsonb)",
                    (qv, k, json.dumps({"namespace": want_ns})))]
                members = [i for i in range(n) if ns[i] == want_ns]
                assert len(got) == min(k, len(members)), f"{want_ns}, k={k}"
                exact = sorted(members, key=lambda i: -float(X[i] @ q) / np.linalg.norm(q))[:k]
                recalls.append(len(set(got) & {id_of[f"memory {i}"] for i in exact}) / len(exact))
            assert len(c.execute("SELECT id FROM animus.search_memory_vector(%s::vector, 200)", (qv,)).fetchall()) == 200
        assert np.mean(recalls) >= 0.95


# --- retrieval quality on a small NFCorpus subset ------------------------------------------------

def ndcg10(ranked: list[str], rel: dict[str, int]) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


@pytest.mark.skipif(not (NFCORPUS / "corpus.jsonl").exists(), reason=f"NFCorpus not found at {NFCORPUS}")
def test_quality_on_an_nfcorpus_subset(db384):
    """The first 100 dev queries against the whole corpus: hybrid beats both branches, vector search
    equals exact search, keyword search is at least plain ts_rank over OR."""
    d = NFCORPUS
    doc_ids = (d / "corpus_ids.txt").read_text().split()
    D = np.load(d / "emb_corpus_minilm.npy").astype(np.float32)
    qids = (d / "query_ids_dev.txt").read_text().split()[:100]
    Q = np.load(d / "emb_queries_dev_minilm.npy").astype(np.float32)[:100]
    qrels: dict[str, dict[str, int]] = {}
    with open(d / "qrels" / "dev.tsv") as f:
        for qid, did, g in list(csv.reader(f, delimiter="\t"))[1:]:
            qrels.setdefault(qid, {})[did] = int(g)
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(d / "queries.jsonl"))}
    text = {}
    for line in open(d / "corpus.jsonl"):
        doc = json.loads(line)
        text[doc["_id"]] = (doc["title"] + " " + doc["text"]).strip()
    with psycopg.connect(db384, autocommit=True) as c:
        for s in range(0, len(doc_ids), 1000):
            items = [{"content": text[doc_ids[i]], "embedding": vec(D[i]), "memory_type": "doc",
                      "metadata": {"doc": doc_ids[i]}} for i in range(s, min(s + 1000, len(doc_ids)))]
            c.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)", (json.dumps(items),))
        c.execute("ANALYZE animus.memories")
        doc_of = {r[0]: r[1] for r in c.execute("SELECT id, metadata->>'doc' FROM animus.memories")}
        scores: dict[str, list[float]] = {"text": [], "vector": [], "hybrid": [], "exact": [], "ts_rank": []}
        same_as_exact = 0
        for qi, qid in enumerate(qids):
            if qid not in qrels:
                continue
            qv, qt = vec(Q[qi]), queries[qid]
            runs = {
                "text": c.execute("SELECT id FROM animus.search_memory_text(%s, 10)", (qt,)).fetchall(),
                "vector": c.execute("SELECT id FROM animus.search_memory_vector(%s::vector, 10)", (qv,)).fetchall(),
                "hybrid": c.execute("SELECT id FROM animus.hybrid_search(%s, %s::vector, 10)", (qt, qv)).fetchall(),
                # a materialised CTE keeps the planner from answering through the HNSW index
                "exact": c.execute("WITH d AS MATERIALIZED (SELECT id, embedding <=> %s::vector AS dist FROM animus.memories) "
                                   "SELECT id FROM d ORDER BY dist, id LIMIT 10", (qv,)).fetchall(),
                "ts_rank": c.execute("SELECT m.id FROM animus.memories m, animus.memory_or_tsquery(%s) q "
                                     "WHERE m.fts @@ q ORDER BY ts_rank(m.fts, q) DESC, m.id LIMIT 10", (qt,)).fetchall(),
            }
            for name, rows in runs.items():
                scores[name].append(ndcg10([doc_of[r[0]] for r in rows], qrels[qid]))
            same_as_exact += runs["vector"] == runs["exact"]
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    assert mean["hybrid"] > max(mean["text"], mean["vector"]), mean
    assert same_as_exact == len(scores["exact"]), "vector search must equal exact search on a small table"
    assert mean["text"] >= mean["ts_rank"], mean


def test_bulk_store_memories_on_several_connections(db384):
    """Client.bulk_store_memories: begin, batches on three connections at once, finish. The BM25
    statistics equal a recount afterwards (the loaded memories' postings are folded once), the
    indexes are back, and a refused batch stops the load with the indexes rebuilt all the same."""
    import animus

    rng = np.random.default_rng(5)
    words = ["zebra", "grass", "river", "stone", "cloud", "amber", "falcon", "maple"]

    def items(n: int, start: int = 0):
        for i in range(start, start + n):
            yield {"content": f"item {i} " + " ".join(rng.choice(words, 6)), "embedding": rng.standard_normal(384),
                   "memory_type": "fact", "namespace": f"bulk-{i % 3}"}

    with animus.connect(db384) as client, psycopg.connect(db384, autocommit=True) as c:
        with pytest.raises(animus.InvalidArgument):
            client.bulk_store_memories(items(1), jobs=0)
        assert c.execute("SELECT bulk_from FROM animus.memory_bm25_settings").fetchone()[0] is None
        client.store_memories(list(items(20, 10_000)))
        res = client.bulk_store_memories(items(500), batch_size=37, jobs=3, parallel_workers=1)
        assert (res.stored, res.created, res.updated, res.memories) == (500, 500, 0, 520)
        assert res.load_seconds > 0 and res.finish_seconds > 0
        assert c.execute("SELECT count(*) FROM animus.memory_bm25_deltas WHERE term IS NOT NULL").fetchone()[0] == 0
        assert c.execute(
            "SELECT count(*) FROM (SELECT ts.namespace, ts.term, ts.df FROM animus.memory_bm25_term_stats ts "
            "EXCEPT SELECT m.namespace, u.lexeme, count(*) FROM animus.memories m CROSS JOIN LATERAL unnest(m.fts) u "
            "GROUP BY 1, 2) d").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM animus.memory_bm25_term_stats").fetchone()[0] == c.execute(
            "SELECT count(DISTINCT (m.namespace, u.lexeme)) FROM animus.memories m CROSS JOIN LATERAL unnest(m.fts) u").fetchone()[0]
        assert c.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'animus' AND indexname IN "
                         "('memories_embedding_hnsw', 'memories_fts_gin', 'memories_metadata_gin', "
                         "'memory_terms_impact_idx')").fetchone()[0] == 4

        def bad():   # the 30th item has the wrong dimension: its batch (the second) is refused
            for i, m in enumerate(items(60, 20_000)):
                yield {**m, "embedding": [0.5] * 3} if i == 29 else m

        with pytest.raises(animus.DimensionMismatch):
            client.bulk_store_memories(bad(), batch_size=20, jobs=1)
        assert c.execute("SELECT count(*) FROM animus.memories WHERE content LIKE 'item 2____ %'").fetchone()[0] == 20
        assert c.execute("SELECT bulk_from FROM animus.memory_bm25_settings").fetchone()[0] is None
        assert c.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'animus' AND indexname IN "
                         "('memories_embedding_hnsw', 'memories_fts_gin', 'memories_metadata_gin', "
                         "'memory_terms_impact_idx')").fetchone()[0] == 4

        # the asyncio client: the same path as concurrent tasks
        async def load_async():
            async with await animus.connect_async(db384) as ac:
                res = await ac.bulk_store_memories(items(90, 30_000), batch_size=25, jobs=2, parallel_workers=0)
                with pytest.raises(animus.DimensionMismatch):
                    await ac.bulk_store_memories(bad(), batch_size=20, jobs=2)
                return res

        res = asyncio.run(load_async())
        assert (res.stored, res.created, res.memories) == (90, 90, 630)
        assert c.execute("SELECT bulk_from FROM animus.memory_bm25_settings").fetchone()[0] is None
        assert c.execute("SELECT count(*) FROM (SELECT ts.namespace, ts.term, ts.df FROM animus.memory_bm25_term_stats ts "
                         "EXCEPT SELECT m.namespace, u.lexeme, count(*) FROM animus.memories m CROSS JOIN LATERAL "
                         "unnest(m.fts) u GROUP BY 1, 2) d").fetchone()[0] == 0


def test_bulk_load_between_transactions_and_in_one(db384):
    """Between separate transactions, other sessions keep searching (exact scan) and storing while
    the indexes are dropped; in one transaction they wait for its end (the documented trade-off)."""
    rng = np.random.default_rng(3)

    def batch(prefix: str, n: int) -> str:
        return json.dumps([{"content": f"{prefix} {i}", "embedding": vec(rng.standard_normal(384)),
                            "memory_type": "fact"} for i in range(n)])

    nearest = ("SELECT array_agg(id ORDER BY rank) FROM animus.search_memory_vector(%s::vector, 5)")
    exact = ("SELECT array_agg(id) FROM (SELECT id FROM animus.memories ORDER BY embedding <=> %s::vector, id LIMIT 5) s")
    q = vec(rng.standard_normal(384))
    with psycopg.connect(db384, autocommit=True) as admin, psycopg.connect(db384, autocommit=True) as other:
        admin.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)", (batch("before", 50),))
        assert admin.execute("SELECT animus.memory_begin_bulk_load()").fetchone()[0] == 50
        other.execute("SET lock_timeout = '5s'")
        assert other.execute(nearest, (q,)).fetchone()[0] == other.execute(exact, (q,)).fetchone()[0]
        assert other.execute("SELECT count(*) FILTER (WHERE created) FROM animus.store_memories(%s::jsonb)",
                             (batch("during", 10),)).fetchone()[0] == 10
        with pytest.raises(psycopg.Error) as e:
            admin.execute("SELECT animus.memory_begin_bulk_load()")
        assert sqlstate(e) == "ZA212"
        assert admin.execute("SELECT animus.memory_finish_bulk_load(parallel_workers => 1)").fetchone()[0] == 60
        assert other.execute(nearest, (q,)).fetchone()[0] == other.execute(exact, (q,)).fetchone()[0]

        # one transaction: a reader started meanwhile waits for the lock until COMMIT
        other.execute("SET lock_timeout = '300ms'")
        with admin.transaction():
            admin.execute("SELECT animus.memory_begin_bulk_load()")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(nearest, (q,))
            admin.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)", (batch("inside", 20),))
            admin.execute("SELECT animus.memory_finish_bulk_load()")
        assert other.execute("SELECT count(*) FROM animus.memories").fetchone()[0] == 80
        assert other.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'animus' AND indexname IN "
                             "('memories_embedding_hnsw', 'memories_fts_gin', 'memories_metadata_gin')").fetchone()[0] == 3
