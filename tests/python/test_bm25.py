"""BM25 keyword ranking: SQL scores against an independent reference, and statistics under
concurrent writers (real sessions, one connection each)."""
from __future__ import annotations

import math
import random
import sys
import threading
import uuid
from collections import Counter

import psycopg
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from bm25_reference import BM25  # noqa: E402

WORDS = ("garden tomato river bridge engine invoice meeting coffee rain winter summer budget "
         "planning kelly running cats dogs deploy database query latency memory agent search "
         "ranking document keyword vector hybrid fusion queue worker retry").split()


def vec(dim: int, i: int) -> str:
    v = [0.0] * dim
    v[i % dim] = 1.0
    v[(i + 1) % dim] = 0.5
    return "[" + ",".join(map(str, v)) + "]"


def dim(conn) -> int:
    return conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]


@pytest.fixture
def namespace(conn):
    ns = f"pytest-bm25-{uuid.uuid4().hex[:8]}"
    yield ns
    conn.execute("DELETE FROM animus.memories WHERE namespace = %s", (ns,))


def tokens_by_ts_debug(conn, text: str) -> Counter:
    """Term frequencies from ts_debug (the parser + dictionaries, token by token): the same English
    stemming as to_tsvector, without going through the tsvector the SQL side reads."""
    rows = conn.execute("SELECT lexemes FROM ts_debug('english', %s) WHERE lexemes IS NOT NULL AND cardinality(lexemes) > 0",
                        (text,)).fetchall()
    return Counter(lex for (lexemes,) in rows for lex in lexemes)


def test_sql_scores_equal_an_independent_reference(conn, namespace):
    rng = random.Random(7)
    texts = []
    for i in range(60):
        n = rng.randint(3, 30)
        words = [rng.choice(WORDS[: rng.randint(5, len(WORDS))]) for _ in range(n)]
        texts.append(f"Memory {i}: " + " ".join(words) + ".")
    d = dim(conn)
    ids = []
    for i, t in enumerate(texts):
        ids.append(conn.execute("SELECT id FROM animus.store_memory(%s, %s::vector, 'note', namespace => %s)",
                                (t, vec(d, i), namespace)).fetchone()[0])
    k1, b = conn.execute("SELECT k1, b FROM animus.memory_bm25_settings").fetchone()
    ref = BM25([tokens_by_ts_debug(conn, t) for t in texts], k1=k1, b=b)
    filters = {"namespace": {"in": [namespace]}}
    queries = ["cats and dogs running in the garden", "database query latency", "invoice budget planning meeting",
               "hybrid vector keyword fusion ranking search", "winter rain", "Kelly"]
    checked = 0
    for q in queries:
        q_terms = list(tokens_by_ts_debug(conn, q))
        expected = ref.top(q_terms, 10)
        for budget in (None, 100_000_000):  # the default (budgeted) path and the exhaustive one
            got = conn.execute("SELECT id, score FROM animus.memory_bm25_topk(%s, %s, 10, %s)",
                               (q, psycopg.types.json.Jsonb(filters), budget)).fetchall()
            assert [ids.index(i) for i, _ in got] == [i for i, _ in expected], f"top-10 order differs for {q!r}"
            for (_, s_sql), (_, s_ref) in zip(got, expected):
                assert math.isclose(s_sql, s_ref, abs_tol=1e-6), f"{q!r}: SQL {s_sql} vs reference {s_ref}"
                checked += 1
        # a tiny budget cuts every list: the rows may differ, but each returned score is exact
        # (the rescoring step completes it) and the result says whether it is proven exact
        rows = conn.execute("SELECT id, score, exact FROM animus.memory_bm25_topk(%s, %s, 10, 3)",
                            (q, psycopg.types.json.Jsonb(filters))).fetchall()
        by_index = ref.scores(q_terms)
        for i, s_sql, exact in rows:
            assert math.isclose(s_sql, by_index[ids.index(i)], abs_tol=1e-6)
        if rows and rows[0][2]:
            assert [ids.index(i) for i, _, _ in rows] == [i for i, _ in expected]
    assert checked > 60
    # every memory's score, not just the top 10: the exhaustive SQL path for a broad query
    q = " ".join(WORDS)
    got = dict(conn.execute("SELECT id, score FROM animus.memory_bm25_topk(%s, %s, 1000, 100000000)",
                            (q, psycopg.types.json.Jsonb(filters))).fetchall())
    full = ref.scores(tokens_by_ts_debug(conn, q))
    assert len(got) == sum(1 for s in full if s > 0)
    for idx, i in enumerate(ids):
        if full[idx] > 0:
            assert math.isclose(got[i], full[idx], abs_tol=1e-6)


def stats(conn, ns: str) -> tuple[int, int, dict[str, int]]:
    docs, total = conn.execute(
        "SELECT coalesce(sum(d), 0), coalesce(sum(l), 0) FROM ("
        " SELECT docs d, total_len l FROM animus.memory_bm25_namespace_stats WHERE namespace = %(ns)s"
        " UNION ALL SELECT df, total_len FROM animus.memory_bm25_deltas WHERE namespace = %(ns)s AND term IS NULL) x",
        {"ns": ns}).fetchone()
    df = dict(conn.execute(
        "SELECT term, sum(df) FROM ("
        " SELECT term, df FROM animus.memory_bm25_term_stats WHERE namespace = %(ns)s"
        " UNION ALL SELECT term, df FROM animus.memory_bm25_deltas WHERE namespace = %(ns)s AND term IS NOT NULL) x"
        " GROUP BY term HAVING sum(df) <> 0", {"ns": ns}).fetchall())
    return int(docs), int(total), {t: int(n) for t, n in df.items()}


def recount(conn, ns: str) -> tuple[int, int, dict[str, int]]:
    docs, total = conn.execute(
        "SELECT count(*), coalesce(sum(animus.bm25_doc_len(fts)), 0) FROM animus.memories WHERE namespace = %s", (ns,)).fetchone()
    df = dict(conn.execute("SELECT u.lexeme, count(*) FROM animus.memories m, unnest(m.fts) u WHERE m.namespace = %s GROUP BY 1",
                           (ns,)).fetchall())
    return int(docs), int(total), {t: int(n) for t, n in df.items()}


def test_statistics_stay_exact_under_concurrent_writers(db_url, conn, namespace):
    d = dim(conn)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        rng = random.Random(w)
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                mine = []
                for i in range(25):
                    text = f"writer {w} note {i} " + " ".join(rng.choice(WORDS[:8]) for _ in range(8))
                    mine.append(c.execute("SELECT id FROM animus.store_memory(%s, %s::vector, 'note', namespace => %s)",
                                          (text, vec(d, w * 100 + i), namespace)).fetchone()[0])
                    if i % 5 == 4:   # content updates and deletes race with the inserts too
                        c.execute("UPDATE animus.memories SET content = content || ' rain' WHERE id = %s", (mine[-2],))
                        c.execute("DELETE FROM animus.memories WHERE id = %s", (mine[-3],))
                    if i % 10 == 9:
                        c.execute("SELECT animus.memory_bm25_refresh(wait => false)")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert stats(conn, namespace) == recount(conn, namespace)
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert stats(conn, namespace) == recount(conn, namespace)


def test_writers_never_wait_for_each_other_on_statistics(db_url, conn, namespace):
    """A writer holding an open transaction (and the refresh lock) blocks no other writer."""
    d = dim(conn)
    with psycopg.connect(db_url) as a, psycopg.connect(db_url) as b:
        a.execute("SELECT animus.store_memory('garden tomato river', %s::vector, 'note', namespace => %s)", (vec(d, 1), namespace))
        assert a.execute("SELECT animus.memory_bm25_refresh(wait => false)").fetchone()[0] is not None
        # a is still open: it holds its new rows, the refresh lock and any folded statistic rows
        b.execute("SET lock_timeout = '2s'")
        b.execute("SELECT animus.store_memory('garden tomato bridge', %s::vector, 'note', namespace => %s)", (vec(d, 2), namespace))
        assert b.execute("SELECT animus.memory_bm25_refresh(wait => false)").fetchone()[0] is None, \
            "a second refresh must skip, not wait, while another one is in progress"
        b.commit()
        a.commit()
    docs, _, df = stats(conn, namespace)
    assert docs == 2 and df["garden"] == 2 and df["river"] == 1 and df["bridg"] == 1


def test_deploy_indexes_existing_memories_and_revert_restores_ts_rank(scratch_db):
    from conftest import sqitch
    sqitch(scratch_db.url, "deploy", "--to", "memory_search@v0.4.0")
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        d = dim(c)
        for i, text in enumerate(["garden tomato river", "garden bridge", "winter rain on the garden"]):
            c.execute("SELECT animus.store_memory(%s, %s::vector, 'note')", (text, vec(d, i)))
    sqitch(scratch_db.url, "deploy")
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        assert stats(c, "default") == recount(c, "default")
        top = c.execute("SELECT content, score FROM animus.search_memory_text('tomato garden', 3)").fetchall()
        assert top[0][0] == "garden tomato river"
        bm25_score = top[0][1]
    sqitch(scratch_db.url, "revert", "-y", "--to", "memory_search@v0.4.0")
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        assert c.execute("SELECT to_regclass('animus.memory_terms')").fetchone()[0] is None
        ts = c.execute("SELECT score FROM animus.search_memory_text('tomato garden', 1)").fetchone()[0]
        expected = c.execute("SELECT ts_rank(fts, animus.memory_or_tsquery('tomato garden'), 1) FROM animus.memories"
                             " WHERE content = 'garden tomato river'").fetchone()[0]
        assert math.isclose(ts, expected, rel_tol=1e-6) and not math.isclose(ts, bm25_score, rel_tol=1e-3)
