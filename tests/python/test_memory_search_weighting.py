"""hybrid_search's optional weighting (retrievability, recency, importance) and graph step, and
the vector branch's use of the namespace's active model only.

The defaults change nothing: the same rows, scores and ranks as a call without the arguments, and
the weighted statement with neutral factors ranks as the default one. Each weight and the graph
step change the ranking by the documented formula (docs/memory-lifecycle.md), recomputed here.
"""
from __future__ import annotations

import json
import math
import uuid

import psycopg

import pytest

import animus
from conftest import sqitch

FSRS_FACTOR = 19 / 81


def unit(dim: int, *pairs: tuple[int, float]) -> list[float]:
    v = [0.0] * dim
    for i, x in pairs:
        v[i] = x
    return v


def rows(conn, sql: str, *params):
    return conn.execute(sql, params).fetchall()


@pytest.fixture
def ns(conn):
    name = f"wt-{uuid.uuid4().hex[:8]}"
    yield name
    conn.execute("DELETE FROM animus.memories WHERE namespace = %s", (name,))


@pytest.fixture
def dim(conn):
    return conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]


def store(conn, ns, content, vec, metadata="{}"):
    return conn.execute("SELECT id FROM animus.store_memory(%s, %s::vector, 'fact', namespace => %s, metadata => %s::jsonb)",
                        (content, str(vec), ns, metadata)).fetchone()[0]


HS = ("SELECT id, score, rank, vector_rank, text_rank FROM animus.hybrid_search("
      "%s, %s::vector, 20, %s::jsonb{extra})")


def test_defaults_rank_exactly_as_without_the_new_arguments(conn, ns, dim):
    for i in range(40):
        store(conn, ns, f"walrus note {i} " + " ".join(["tusk"] * (i % 5)),
              unit(dim, (0, 1.0), (1 + i % (dim - 1), 0.1 + i / 100)))
    q = str(unit(dim, (0, 1.0), (3, 0.4)))
    f = '{"namespace": "%s"}' % ns
    for fusion in ("convex", "rrf"):
        base = rows(conn, HS.format(extra=", fusion => %s"), "walrus tusk", q, f, fusion)
        assert len(base) == 20
        explicit = rows(conn, HS.format(extra=", fusion => %s, retrievability_weight => 0, recency_weight => 0, "
                                        "recency_half_life => '30 days', importance_weight => 0, graph_depth => 0, "
                                        "graph_relations => NULL, graph_decay => 0.5"), "walrus tusk", q, f, fusion)
        assert explicit == base
        # the weighted statement (graph step on, no links; weights 0) ranks and scores as the default one
        neutral = rows(conn, HS.format(extra=", fusion => %s, graph_depth => 1"), "walrus tusk", q, f, fusion)
        assert [r[0] for r in neutral] == [r[0] for r in base]
        assert [r[2:] for r in neutral] == [r[2:] for r in base]
        assert [r[1] for r in neutral] == pytest.approx([r[1] for r in base], rel=1e-12)


def vector_only(conn, ns, q, **kw):
    extra = "".join(f", {k} => %s" for k in kw)
    sql = f"SELECT id, score FROM animus.hybrid_search(NULL, %s::vector, 10, %s::jsonb{extra})"
    return conn.execute(sql, (q, '{"namespace": "%s"}' % ns, *kw.values())).fetchall()


def test_each_weight_changes_the_ranking_by_the_documented_factor(conn, ns, dim):
    q = unit(dim, (0, 1.0))
    a = store(conn, ns, "alpha", unit(dim, (0, 1.0), (1, 0.05)), '{"importance": 0.2}')   # nearest
    b = store(conn, ns, "bravo", unit(dim, (0, 1.0), (1, 0.30)))                          # second
    base = dict(vector_only(conn, ns, str(q)))
    assert list(base) == [a, b] and base[a] > base[b]

    # importance: a's score x (1 - wi + wi * 0.2); b has none (1)
    got = dict(vector_only(conn, ns, str(q), importance_weight=1.0))
    assert list(got) == [b, a]
    assert got[a] == pytest.approx(base[a] * 0.2) and got[b] == pytest.approx(base[b])
    got = dict(vector_only(conn, ns, str(q), importance_weight=0.5))
    assert got[a] == pytest.approx(base[a] * (0.5 + 0.5 * 0.2))

    # recency: a last updated 60 days ago, half-life 30 days: factor 0.25 at weight 1
    conn.execute("UPDATE animus.memories SET updated_at = now() - interval '60 days' WHERE id = %s", (a,))
    got = dict(vector_only(conn, ns, str(q), recency_weight=1.0, recency_half_life="30 days"))
    assert list(got) == [b, a]
    assert got[a] == pytest.approx(base[a] * 0.25, rel=1e-4) and got[b] == pytest.approx(base[b], rel=1e-4)
    got = dict(vector_only(conn, ns, str(q), recency_weight=1.0, recency_half_life="120 days"))
    assert got[a] == pytest.approx(base[a] * 0.5 ** 0.5, rel=1e-4)

    # retrievability: a reviewed (grade 1, "again") a year ago: R = (1 + 19/81 t / S)^-0.5
    conn.execute("SELECT animus.review_memory(%s, 1, now() - interval '365 days')", (a,))
    s, days = conn.execute("SELECT stability, extract(epoch FROM now() - last_review) / 86400 "
                           "FROM animus.memory_reviews WHERE memory_id = %s", (a,)).fetchone()
    r = (1 + FSRS_FACTOR * float(days) / s) ** -0.5
    assert r < 0.2
    got = dict(vector_only(conn, ns, str(q), retrievability_weight=1.0))
    assert list(got) == [b, a]
    assert got[a] == pytest.approx(base[a] * r, rel=1e-4) and got[b] == pytest.approx(base[b])

    # the factors multiply
    got = dict(vector_only(conn, ns, str(q), retrievability_weight=0.5, importance_weight=0.5))
    assert got[a] == pytest.approx(base[a] * (0.5 + 0.5 * r) * 0.6, rel=1e-4)


def test_graph_step_adds_the_neighbours_of_the_top_hits(conn, ns, dim):
    sea = '{"topic": "sea"}'
    hit = store(conn, ns, "narwhal migration routes", unit(dim, (0, 1.0)), sea)
    other = store(conn, ns, "narwhal diet", unit(dim, (0, 1.0), (1, 0.5)), sea)
    n1 = store(conn, ns, "sea ice thickness", unit(dim, (2, 1.0)))       # no keyword: not a candidate
    n2 = store(conn, ns, "arctic cod population", unit(dim, (3, 1.0)))
    off = store(conn, ns, "unrelated recipe", unit(dim, (4, 1.0)), sea)
    conn.execute("SELECT animus.link_memories(%s, %s, 'related', 0.8)", (hit, n1))
    conn.execute("SELECT animus.link_memories(%s, %s, 'related', 0.5)", (n2, n1))    # reached backwards, depth 2
    conn.execute("SELECT animus.link_memories(%s, %s, 'mentions', 1.0)", (hit, off))
    f = '{"namespace": "%s"}' % ns
    sql = ("SELECT id, score, vector_rank, text_rank FROM animus.hybrid_search('narwhal', NULL, 10, %s::jsonb{extra})")
    base = rows(conn, sql.format(extra=""), f)
    assert [r[0] for r in base] == [hit, other] or [r[0] for r in base] == [other, hit]
    top = {r[0]: r[1] for r in base}

    d1 = rows(conn, sql.format(extra=", graph_depth => 1"), f)
    got = {r[0]: r for r in d1}
    assert set(got) == {hit, other, n1, off}
    assert got[n1][1] == pytest.approx(top[hit] * 0.8 * 0.5) and got[n1][2:] == (None, None)
    assert got[off][1] == pytest.approx(top[hit] * 1.0 * 0.5)
    assert [r[0] for r in d1][:2] == [r[0] for r in base]          # the hits keep their places

    d2 = {r[0]: r[1] for r in rows(conn, sql.format(extra=", graph_depth => 2, graph_decay => 0.9, "
                                                   "graph_relations => '{related}'"), f)}
    assert set(d2) == {hit, other, n1, n2}                         # 'mentions' not followed
    assert d2[n1] == pytest.approx(top[hit] * 0.8 * 0.9)
    assert d2[n2] == pytest.approx(top[hit] * 0.8 * 0.9 * 0.5 * 0.9)

    # neighbours pass the search's filter too
    filtered = {r[0] for r in rows(conn, sql.format(extra=", graph_depth => 1"),
                                   '{"namespace": "%s", "metadata": {"topic": "sea"}}' % ns)}
    assert filtered == {hit, other, off}


@pytest.mark.parametrize("extra, state", [
    ("graph_depth => 6", "ZA221"), ("graph_depth => -1", "ZA221"), ("graph_decay => 0", "ZA002"),
    ("graph_relations => '{}'", "ZA221"), ("recency_weight => 1.5", "ZA224"),
    ("importance_weight => -0.1", "ZA224"), ("recency_half_life => '0 s'", "ZA224"),
])
def test_bad_weighting_and_graph_arguments_are_refused(conn, extra, state):
    with pytest.raises(psycopg.Error) as info:
        conn.execute(f"SELECT * FROM animus.hybrid_search('x', NULL, 10, '{{}}', {extra})")
    assert info.value.sqlstate == state


def test_python_client_passes_the_weighting_and_graph_arguments(db_url, conn, ns, dim):
    a = store(conn, ns, "penguin colony", unit(dim, (0, 1.0)), '{"importance": 0.1}')
    b = store(conn, ns, "penguin feathers", unit(dim, (0, 1.0), (1, 0.3)))
    n = store(conn, ns, "krill", unit(dim, (2, 1.0)))
    conn.execute("SELECT animus.link_memories(%s, %s, 'eats', 0.5)", (a, n))
    with animus.connect(db_url) as c:
        f = {"namespace": ns}
        # keyword branch only: krill is no candidate, the graph step brings it
        base = c.hybrid_search("penguin", k=5, filters=f, embed=False)
        assert [h.id for h in base] == [a, b]
        hits = c.hybrid_search("penguin", k=5, filters=f, embed=False, importance_weight=1.0,
                               recency_weight=0.0, recency_half_life=86400.0, retrievability_weight=0.0,
                               graph_depth=1, graph_relations=["eats"], graph_decay=0.5)
        assert [h.id for h in hits] == [b, a, n]
        assert hits[2].vector_rank is None and hits[2].text_rank is None
        assert hits[2].score == pytest.approx(hits[1].score * 0.5 * 0.5)


# --- searches use only vectors of the namespace's active model ---------------------------------

@pytest.fixture
def db3(scratch_db):
    sqitch(scratch_db.url, "deploy", "--set", "embedding_dim=3", "--set", "embedding_model=demo-3d")
    return scratch_db.url


def test_vectors_of_another_model_are_not_found_by_the_vector_branch(db3):
    with psycopg.connect(db3, autocommit=True) as conn:
        conn.execute("SELECT animus.create_queue('reembed')")
        conn.execute("SELECT animus.register_model('toy-a', 3)")
        conn.execute("SELECT animus.register_model('toy-b', 3)")
        ids = [conn.execute("SELECT id FROM animus.store_memory(%s, %s::vector, 'fact', namespace => 'kb')",
                            (f"okapi fact {i}", f"[1, {i / 10}, 0.2]")).fetchone()[0] for i in range(6)]
        keep = conn.execute("SELECT id FROM animus.store_memory('okapi elsewhere', '[1, 0, 0.2]', 'fact', "
                            "namespace => 'other')").fetchone()[0]
        for i in ids:
            conn.execute("SELECT animus.memory_set_embedding(%s, %s::vector, 'toy-a', content) FROM animus.memories "
                         "WHERE id = %s", (i, f"[1, {(i % 7) / 10}, 0.2]", i))
        conn.execute("SELECT animus.set_namespace_model('kb', 'toy-a', 'reembed')")
        q = "[1, 0.1, 0.2]"

        def vec_ids(sql_filter="{}"):
            return {r[0] for r in conn.execute("SELECT id FROM animus.search_memory_vector(%s::vector, 50, %s::jsonb)",
                                               (q, sql_filter))}

        def hybrid(sql_filter="{}"):
            return {r[0]: (r[1], r[2]) for r in conn.execute(
                "SELECT id, vector_rank, text_rank FROM animus.hybrid_search('okapi', %s::vector, 50, %s::jsonb)",
                (q, sql_filter))}

        assert vec_ids() == set(ids) | {keep}
        # the namespace switches to toy-b: every vector of kb is of toy-a now (mid re-embedding)
        conn.execute("SELECT animus.set_namespace_model('kb', 'toy-b', 'reembed')")
        assert vec_ids() == {keep}                           # 'other' has no active model: every vector
        assert vec_ids('{"namespace": "kb"}') == set()
        h = hybrid('{"namespace": "kb"}')
        assert set(h) == set(ids) and all(vr is None and tr is not None for vr, tr in h.values())
        # re-embedded ones come back, the others stay out until their turn
        for i in ids[:2]:
            assert conn.execute("SELECT animus.memory_set_embedding(%s, '[1, 0.1, 0.2]', 'toy-b', content) "
                                "FROM animus.memories WHERE id = %s", (i, i)).fetchone()[0]
        assert vec_ids('{"namespace": "kb"}') == set(ids[:2])
        assert vec_ids() == set(ids[:2]) | {keep}
        h = hybrid('{"namespace": "kb"}')
        assert {i for i, (vr, _) in h.items() if vr is not None} == set(ids[:2])
        # new content clears the model (its vector is of unknown model): out of the vector branch
        conn.execute("SELECT animus.update_memory(%s, content => 'okapi fact, edited', embedding => '[1, 0.1, 0.2]')", (ids[0],))
        assert vec_ids('{"namespace": "kb"}') == {ids[1]}


# --- the keyword branch checks the lifecycle state inside BM25's top-k, lazily -----------------

@pytest.mark.parametrize("hide", ["third", "all_but_4", "best_25"])
@pytest.mark.parametrize("extra", ["", "memory_type"])
def test_keyword_search_with_state_equals_the_bm25_ranking_of_the_live_memories(conn, ns, dim, hide, extra):
    """The reference is independent of the state check: the exhaustive BM25 ranking without the
    state (its scores do not depend on it), the hidden memories dropped in Python. Hiding the 25
    best memories leaves fewer live ones among the ranked candidates than k: the fallback path."""
    ids, types = [], {}
    for i in range(60):
        t = "fact" if i % 2 else "note"
        ids.append(conn.execute("SELECT id FROM animus.store_memory(%s, %s::vector, %s, namespace => %s)",
                                ("quokka " * (1 + i % 7) + f"island note {i}", str(unit(dim, (0, 1.0), (1, i / 100))),
                                 t, ns)).fetchone()[0])
        types[ids[-1]] = t
    f = {"namespace": ns} | ({"memory_type": "fact"} if extra else {})
    every = conn.execute("SELECT id FROM animus.memory_bm25_topk('quokka island', animus.memory_validate_filters(%s::jsonb) - 'state', "
                         "1000, 100000000)", (json.dumps(f),)).fetchall()
    if hide == "third":
        gone = ids[::3]
    elif hide == "all_but_4":
        gone = ids[:-4]
    else:
        gone = [r[0] for r in every[:25]]
    expired, superseded = gone[::2], gone[1::2]
    conn.execute("UPDATE animus.memories SET expires_at = now() - interval '1 minute' WHERE id = ANY (%s)", (expired,))
    for old in superseded:
        newer = next(i for i in reversed(ids) if i not in gone)
        conn.execute("UPDATE animus.memories SET superseded_by = %s, superseded_at = now() WHERE id = %s", (newer, old))
    assert conn.execute("SELECT animus.memory_read_filters(%s::jsonb) ? 'state'", (json.dumps(f),)).fetchone()[0]
    exhaustive = conn.execute("SELECT id, score FROM animus.memory_bm25_topk('quokka island', "
                              "animus.memory_validate_filters(%s::jsonb) - 'state', 1000, 100000000)", (json.dumps(f),)).fetchall()
    live = [r for r in exhaustive if r[0] not in set(gone)]
    assert live
    for k in (1, 5, 10, 30):
        got = conn.execute("SELECT id, score FROM animus.search_memory_text('quokka island', %s, %s::jsonb)",
                           (k, json.dumps(f))).fetchall()
        # the same memories in the same order, with the same BM25 scores (different plans may sum
        # a memory's terms in a different order: equal up to the last bit)
        assert [r[0] for r in got] == [r[0] for r in live[:k]]
        assert [r[1] for r in got] == pytest.approx([r[1] for r in live[:k]], rel=1e-12)
        hyb = {r[0] for r in conn.execute("SELECT id FROM animus.hybrid_search('quokka island', %s::vector, %s, %s::jsonb)",
                                          (str(unit(dim, (0, 1.0))), k, json.dumps(f)))}
        assert not hyb & set(gone) and len(hyb) == min(k, len(live))
    if extra:
        assert all(types[r[0]] == "fact" for r in live)


def test_the_state_check_is_inlined_into_the_search_filter(conn, ns, dim):
    """memory_state_match is one expression: the planner inlines it into memory_filter_match's
    condition, so a row with state costs a few jsonb tests, not a call of a SQL function."""
    store(conn, ns, "wombat burrow", unit(dim, (0, 1.0)))
    conn.execute("UPDATE animus.memories SET expires_at = now() + interval '1 day' WHERE namespace = %s", (ns,))
    f = conn.execute("SELECT animus.memory_validate_filters(%s::jsonb)::text", (json.dumps({"namespace": ns}),)).fetchone()[0]
    assert "state" in json.loads(f)
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN (VERBOSE, COSTS OFF) SELECT m.id FROM animus.memories AS m "
        "WHERE animus.memory_filter_match(%s::jsonb, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)",
        (f,)))
    assert "_animus" in plan                       # the state check is in the filter ...
    assert "memory_state_match" not in plan        # ... as an expression, not a function call
