"""BM25 per-term tf-weight bounds (change memory_bm25_bounds): the cached largest tf and smallest
length / tf of each (namespace, term), folded plus pending, cover every posting after inserts,
updates, deletes and folds, and a top-k that says `exact` equals exhaustive BM25 when the memories
that would break a stale bound are still pending."""
from __future__ import annotations

import json
import random
import uuid

import pytest

WORDS = ("garden tomato river bridge engine invoice meeting coffee rain winter summer budget "
         "planning kelly running cats dogs deploy database query latency memory agent search").split()


def vec(dim: int, i: int) -> str:
    v = [0.0] * dim
    v[i % dim] = 1.0
    return "[" + ",".join(map(str, v)) + "]"


@pytest.fixture
def spaces(conn):
    tag = uuid.uuid4().hex[:8]
    names = [f"pytest-bounds-{tag}-a", f"pytest-bounds-{tag}-b"]
    yield names
    conn.execute("DELETE FROM animus.memories WHERE namespace = ANY (%s)", (names,))


def store(conn, texts: list[str], ns: str) -> list[int]:
    d = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    items = [{"content": t, "embedding": json.loads(vec(d, i)), "memory_type": "note"} for i, t in enumerate(texts)]
    return [r[0] for r in conn.execute("SELECT id FROM animus.store_memories(%s::jsonb, namespace => %s)",
                                       (json.dumps(items), ns)).fetchall()]


def uncovered(conn, ns: str) -> list[tuple]:
    """(term, cached max_tf, true max_tf, cached min ratio, true min ratio) where the cache does not
    bound the postings (or is unknown); the cache combined as memory_bm25_topk combines it."""
    return conn.execute("""
        WITH cached AS (
            SELECT x.term, max(x.max_tf) AS max_tf, min(x.min_len_ratio) AS min_len_ratio, bool_or(x.unknown) AS unknown
              FROM (SELECT ts.term, ts.max_tf, ts.min_len_ratio, ts.max_tf IS NULL OR ts.min_len_ratio IS NULL AS unknown
                      FROM animus.memory_bm25_term_stats ts WHERE ts.namespace = %(ns)s
                    UNION ALL
                    SELECT d.term, d.max_tf, d.min_len_ratio, d.max_tf IS NULL OR d.min_len_ratio IS NULL
                      FROM animus.memory_bm25_deltas d WHERE d.namespace = %(ns)s AND d.term IS NOT NULL AND d.df > 0) x
             GROUP BY x.term
        ), truth AS (
            SELECT mt.term, max(mt.tf) AS max_tf, min(mt.doc_len::float8 / mt.tf) AS min_len_ratio
              FROM animus.memory_terms mt WHERE mt.namespace = %(ns)s GROUP BY mt.term
        )
        SELECT t.term, c.max_tf, t.max_tf, c.min_len_ratio, t.min_len_ratio
          FROM truth t LEFT JOIN cached c ON c.term = t.term
         WHERE c.term IS NULL OR c.unknown OR c.max_tf < t.max_tf OR c.min_len_ratio > t.min_len_ratio
    """, {"ns": ns}).fetchall()


def totals_differ(conn) -> list[tuple]:
    """Terms whose memory_bm25_term_totals row is not the sum of their memory_bm25_term_stats rows
    (df equal; bounds at least as wide)."""
    return conn.execute("""
        SELECT coalesce(s.term, t.term), s.df, t.df, s.max_tf, t.max_tf, s.min_len_ratio, t.min_len_ratio
          FROM (SELECT term, sum(df) AS df, max(max_tf) AS max_tf, min(min_len_ratio) AS min_len_ratio
                  FROM animus.memory_bm25_term_stats GROUP BY term) s
          FULL JOIN animus.memory_bm25_term_totals t ON t.term = s.term
         WHERE s.term IS NULL OR t.term IS NULL OR s.df <> t.df OR t.max_tf IS NULL OR t.max_tf < s.max_tf
            OR t.min_len_ratio IS NULL OR t.min_len_ratio > s.min_len_ratio
    """).fetchall()


def test_cached_bounds_cover_every_posting_through_writes_and_folds(conn, spaces):
    ns = spaces[0]
    ids = store(conn, ["garden tomato river", "garden garden rain", "coffee meeting budget planning garden"], ns)
    assert uncovered(conn, ns) == []                     # pending deltas only
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert uncovered(conn, ns) == []                     # folded
    assert totals_differ(conn) == []
    # one memory deleted and one stored between two folds: garden's document frequency does not
    # change, but the new memory's garden tf (4) is above the folded bound (2)
    conn.execute("DELETE FROM animus.memories WHERE id = %s", (ids[1],))
    store(conn, ["garden garden garden garden"], ns)
    assert uncovered(conn, ns) == []
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert uncovered(conn, ns) == [], "the fold lost the bounds of postings whose df changes cancelled out"
    assert totals_differ(conn) == []
    assert conn.execute("SELECT max_tf FROM animus.memory_bm25_term_stats WHERE namespace = %s AND term = 'garden'",
                        (ns,)).fetchone()[0] == 4
    # an update re-indexes: shorter text, higher tf
    conn.execute("UPDATE animus.memories SET content = 'rain rain rain' WHERE id = %s", (ids[0],))
    assert uncovered(conn, ns) == []
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert uncovered(conn, ns) == []
    # deletes leave the folded bounds valid (looser); a reindex makes them tight again
    conn.execute("DELETE FROM animus.memories WHERE namespace = %s AND content = 'garden garden garden garden'", (ns,))
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert uncovered(conn, ns) == []
    assert conn.execute("SELECT max_tf FROM animus.memory_bm25_term_stats WHERE namespace = %s AND term = 'garden'",
                        (ns,)).fetchone()[0] == 4
    assert totals_differ(conn) == []
    conn.execute("SELECT animus.memory_bm25_reindex(%s)", (ns,))
    assert conn.execute("SELECT max_tf FROM animus.memory_bm25_term_stats WHERE namespace = %s AND term = 'garden'",
                        (ns,)).fetchone()[0] == 1
    assert uncovered(conn, ns) == []
    assert totals_differ(conn) == []
    # every namespace (memory_bm25_term_totals) and the namespace list (memory_bm25_term_stats):
    # the same statistics, so the same scores for this namespace's memories
    everywhere = conn.execute("SELECT id, score FROM animus.memory_bm25_topk('garden rain coffee', '{}', 1000, 100000000) "
                              "WHERE id IN (SELECT id FROM animus.memories WHERE namespace = %s)", (ns,)).fetchall()
    others = [n for (n,) in conn.execute("SELECT namespace FROM animus.memory_bm25_namespace_stats WHERE namespace <> %s", (ns,))]
    listed = conn.execute("SELECT id, score FROM animus.memory_bm25_topk('garden rain coffee', %s::jsonb, 1000, 100000000)",
                          (json.dumps({"namespace": {"in": [ns] + others}}),)).fetchall()
    listed = [r for r in listed if r[0] in {i for i, _ in everywhere}]
    assert everywhere and [i for i, _ in everywhere] == [i for i, _ in listed]
    assert all(abs(a - b) < 1e-9 for (_, a), (_, b) in zip(everywhere, listed))


def test_exact_results_stay_exact_with_pending_and_changed_memories(conn, spaces):
    """'kelly' is rare (read whole), 'garden' common (cut at a small budget): on long memories its
    cached bound proves the top-1 exact. Short memories of 'garden' alone then outscore every
    'kelly' memory: pending (deltas not folded), folded, updated, deleted. Every answer marked exact
    must equal exhaustive BM25."""
    rng = random.Random(16)
    a, b = spaces
    fill = WORDS[14:]
    store(conn, [f"{rng.choice(WORDS[:3])} " + " ".join(rng.choice(fill) for _ in range(12)) for _ in range(40)], a)
    store(conn, ["kelly tomato " + " ".join(rng.choice(fill) for _ in range(38)) for _ in range(3)], a)
    conn.execute("SELECT animus.memory_bm25_refresh()")
    filters = json.dumps({"namespace": {"in": spaces}})   # 2 namespaces > lim 1: the proof uses the bounds alone
    results = []

    def top1(budget: int) -> tuple:
        rows = conn.execute("SELECT id, exact FROM animus.memory_bm25_topk('kelly garden', %s::jsonb, 1, %s)",
                            (filters, budget)).fetchall()
        full = conn.execute("SELECT id FROM animus.memory_bm25_topk('kelly garden', %s::jsonb, 1, 100000000)",
                            (filters,)).fetchall()
        results.append((rows, full))
        if rows[0][1]:
            assert rows[0][0] == full[0][0], f"marked exact, differs from exhaustive BM25 ({len(results)})"
        return rows[0][1], full[0][0]

    exact, first = top1(3)
    assert exact, "the cached bound of 'garden' proves the top-1 (k1 + 1 would not)"
    heavy = store(conn, ["garden garden garden garden garden garden"] * 2, b)      # pending
    assert top1(3)[1] in heavy
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert top1(3)[1] in heavy
    conn.execute("UPDATE animus.memories SET content = 'garden garden garden garden garden garden garden garden' WHERE id = %s",
                 (heavy[0],))
    conn.execute("DELETE FROM animus.memories WHERE id = %s", (heavy[1],))
    top1(3)
    conn.execute("DELETE FROM animus.memories WHERE id = %s", (heavy[0],))
    top1(3)
    conn.execute("SELECT animus.memory_bm25_refresh()")
    assert top1(3)[1] == first
    assert top1(100)[0]



def test_a_filtered_exact_answer_holds_when_the_impacts_are_stale(conn, spaces):
    """Postings are read in order of `impact`, the tf-weight computed with the namespace's average
    length when they were written. Very short memories written while every memory was short (a low
    impact), medium ones after long memories raised the average (a higher impact), then more long
    ones: now the short memories weigh the most, yet sit below the medium ones in impact order. A
    top-k over one namespace (seeded: the common term cut by a small budget) that says `exact`
    must still equal exhaustive BM25: the impact of the last posting read bounds nothing here."""
    ns = spaces[0]
    filler = " ".join(WORDS)
    steps = [[f"okapi shortword{i}" for i in range(20)],                                    # A: short, early
             [f"okapi {filler} {filler} firstlong{i}" for i in range(40)],                   # raise the average
             [f"okapi mid{i}a mid{i}b mid{i}c mid{i}d" for i in range(12)],                 # C: medium
             [f"okapi {filler} {filler} secondlong{i}" for i in range(40)],                  # raise it again
             ["okapi zebu", "zebu quokka okapi"]]
    for texts in steps:
        store(conn, texts, ns)
        conn.execute("SELECT animus.memory_bm25_refresh()")
    f = json.dumps(conn.execute("SELECT animus.memory_validate_filters(%s::jsonb)",
                                (json.dumps({"namespace": ns}),)).fetchone()[0])
    truth = conn.execute("SELECT id, score FROM animus.memory_bm25_topk('okapi zebu', %s, 10, 100000000)", (f,)).fetchall()
    short = {r[0] for r in conn.execute("SELECT id FROM animus.memories WHERE namespace = %s AND content LIKE 'okapi shortword%%'",
                                        (ns,))}
    assert len(short & {r[0] for r in truth}) == 8          # the short memories do rank right below the two zebu ones
    exact = 0
    for budget in (3, 5, 8, 12, 20, 40, 100000000):
        got = conn.execute("SELECT id, score, exact FROM animus.memory_bm25_topk('okapi zebu', %s, 10, %s)", (f, budget)).fetchall()
        if got and got[0][2]:
            exact += 1
            assert [r[0] for r in got] == [r[0] for r in truth], f"budget {budget} says exact"
            assert [r[1] for r in got] == pytest.approx([r[1] for r in truth], rel=1e-9)
    assert exact >= 1        # an exhaustive budget reads every list whole
