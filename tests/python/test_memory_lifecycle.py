"""Memory lifecycle, sharing, links and review scheduling through the Python client.

Two login roles own memories in one namespace; each sees exactly what visibility allows through
every read path (vector, text and hybrid search, get_memory, memory_chain, memory_neighbors,
due_memories). FSRS-4.5 reviews are checked against values computed here, independently of the
SQL, from the published formulas and default weights.
"""
from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

import animus

NS = "lc-py"
# FSRS-4.5 default weights w0..w16 (open-spaced-repetition, fsrs4anki v4.5 / py-fsrs 3.x)
W = [0.4872, 1.4003, 3.7145, 13.8206, 5.1618, 1.2298, 0.8975, 0.031, 1.6474, 0.1367, 1.0461,
     2.1072, 0.0793, 0.3246, 1.587, 0.2272, 2.8755]
DECAY, FACTOR = -0.5, 19 / 81


def fsrs(reviews):
    """Replays (grade, days since the previous review) with FSRS-4.5; returns (S, D, R) after each."""
    s = d = None
    out = []
    for grade, t in reviews:
        if s is None:
            s, d, r = max(W[grade - 1], 0.1), min(max(W[4] - W[5] * (grade - 3), 1), 10), None
        else:
            r = (1 + FACTOR * t / s) ** DECAY
            if grade == 1:
                s_new = W[11] * d ** -W[12] * ((s + 1) ** W[13] - 1) * math.exp(W[14] * (1 - r))
            else:
                s_new = s * (1 + math.exp(W[8]) * (11 - d) * s ** -W[9] * (math.exp(W[10] * (1 - r)) - 1)
                             * (W[15] if grade == 2 else 1) * (W[16] if grade == 4 else 1))
            d = min(max(W[7] * W[4] + (1 - W[7]) * (d - W[6] * (grade - 3)), 1), 10)
            s = s_new
        out.append((s, d, r))
    return out


def with_login(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))


@pytest.fixture
def owners(db_url, conn):
    """Two login writers of namespace lc-py; B is a member of group role lc_team."""
    tag = uuid.uuid4().hex[:8]
    a, b, team = f"animus_lc_a_{tag}", f"animus_lc_b_{tag}", f"animus_lc_team_{tag}"
    conn.execute(f"CREATE ROLE {team} NOLOGIN")
    conn.execute(f"CREATE ROLE {a} LOGIN PASSWORD 'lc-a-pw' IN ROLE animus_memory_writer")
    conn.execute(f"CREATE ROLE {b} LOGIN PASSWORD 'lc-b-pw' IN ROLE animus_memory_writer, {team}")
    conn.execute("SELECT animus.grant_memory_namespace(%s, %s, can_write => true)", (a, NS))
    conn.execute("SELECT animus.grant_memory_namespace(%s, %s, can_write => true)", (b, NS))
    ca = animus.connect(with_login(db_url, a, "lc-a-pw"))
    cb = animus.connect(with_login(db_url, b, "lc-b-pw"))
    try:
        yield ca, cb, team
    finally:
        ca.close()
        cb.close()
        conn.execute("DELETE FROM animus.memories WHERE namespace = %s", (NS,))
        for r in (a, b):
            conn.execute("SELECT animus.revoke_memory_namespace(%s, %s)", (r, NS))
            conn.execute(f"DROP ROLE {r}")
        conn.execute(f"DROP ROLE {team}")


def vec(dim: int, i: int) -> list[float]:
    v = [0.0] * dim
    v[0] = 1.0
    v[i % dim] += 0.3
    return v


def test_two_owners_see_exactly_what_visibility_allows_through_every_read_path(owners, conn):
    ca, cb, team = owners
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    ids = {}
    ids["shared"] = ca.store_memory("okapi facts for everyone", vec(dim, 1), "fact", namespace=NS).id
    ids["a_private"] = ca.store_memory("okapi secret of A", vec(dim, 2), "note", namespace=NS, visibility="private").id
    ids["a_team"] = ca.store_memory("okapi plan for the team", vec(dim, 3), "note", namespace=NS,
                                    visibility="groups", groups=[team]).id
    ids["b_private"] = cb.store_memory("okapi secret of B", vec(dim, 4), "note", namespace=NS, visibility="private").id
    for name in ("a_private", "a_team"):
        ca.link_memories(ids["shared"], ids[name])
    cb.link_memories(ids["b_private"], ids["shared"])
    for name in ids:
        conn.execute("SELECT animus.review_memory(%s, 3, now() - interval '30 days')", (ids[name],))
    names = {v: k for k, v in ids.items()}
    expected = {ca: {"shared", "a_private", "a_team"}, cb: {"shared", "a_team", "b_private"}}
    for client, want in expected.items():
        q = vec(dim, 1)
        f = {"namespace": NS}
        assert {names[h.id] for h in client.search_memory_vector(q, k=50, filters=f)} == want
        assert {names[h.id] for h in client.search_memory_text("okapi", k=50, filters=f)} == want
        assert {names[h.id] for h in client.hybrid_search("okapi", q, k=50, filters=f)} == want
        assert {n for n, i in ids.items() if client.get_memory(i) is not None} == want
        assert {names[n.memory_id] for n in client.memory_neighbors(ids["shared"])} == want - {"shared"}
        assert {names[d.memory_id] for d in client.due_memories(NS)} == want
        hidden = (set(ids) - want).pop()
        with pytest.raises(animus.MemoryNotFound):
            client.memory_chain(ids[hidden])
        with pytest.raises(animus.MemoryNotFound):
            client.review_memory(ids[hidden], 3)
        assert client.delete_memory(ids[hidden]) is False
    # the admin connection (every namespace) sees all four
    assert conn.execute("SELECT count(*) FROM animus.search_memory_text('okapi', 50, %s::jsonb)",
                        ('{"namespace": "%s"}' % NS,)).fetchone()[0] == 4


def test_supersession_chain_and_expiry(owners, conn):
    ca, _cb, _team = owners
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    v1 = ca.store_memory("the capital of Australia is Sydney", vec(dim, 5), "fact", namespace=NS).id
    v2 = ca.store_memory("the capital of Australia is Canberra", vec(dim, 6), "fact", namespace=NS,
                         supersedes=[v1]).id
    t = ca.store_memory("capital city trivia night tonight", vec(dim, 7), "event", namespace=NS,
                        ttl=timedelta(hours=2)).id
    f = {"namespace": NS}
    assert [h.id for h in ca.search_memory_text("capital", k=10, filters=f)].count(v1) == 0
    assert v1 in [h.id for h in ca.search_memory_text("capital", k=10, filters={**f, "include_superseded": True})]
    chain = ca.memory_chain(v1)
    assert [(c.memory_id, c.generation) for c in chain] == [(v2, 0), (v1, 1)]
    old = ca.get_memory(v1)
    assert old is not None and old.superseded_by == v2
    assert t in [h.id for h in ca.search_memory_text("capital", k=10, filters=f)]
    conn.execute("UPDATE animus.memories SET expires_at = now() - interval '1 second' WHERE id = %s", (t,))
    assert t not in [h.id for h in ca.search_memory_text("capital", k=10, filters=f)]
    assert t not in [h.id for h in ca.search_memory_vector(vec(dim, 7), k=10, filters=f)]
    assert ca.purge_expired_memories(namespace=NS) == 1
    assert ca.get_memory(t) is None
    with pytest.raises(animus.InvalidMemoryArgument) as info:
        ca.store_memory("trivia again", vec(dim, 8), "event", namespace=NS,
                        expires_at=datetime.now(timezone.utc) - timedelta(days=1))
    assert info.value.sqlstate == "ZA216"
    with pytest.raises(animus.InvalidMemoryArgument) as info:
        ca.update_memory_lifecycle(v1, supersedes=[v2])
    assert info.value.sqlstate == "ZA217"


def test_review_memory_follows_fsrs_4_5_with_the_default_weights(owners, conn):
    ca, _cb, _team = owners
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    m = ca.store_memory("FSRS schedules reviews", vec(dim, 9), "fact", namespace=NS).id
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    plan = [(3, 0.0), (3, 3.5), (1, 27.5), (2, 2.0), (4, 6.25)]
    want = fsrs(plan)
    at = t0
    for (grade, days), (s, d, r) in zip(plan, want):
        at = at + timedelta(days=days)
        got = ca.review_memory(m, grade, reviewed_at=at)
        assert got.stability == pytest.approx(s, rel=1e-9)
        assert got.difficulty == pytest.approx(d, rel=1e-9)
        assert (got.retrievability is None) == (r is None)
        if r is not None:
            assert got.retrievability == pytest.approx(r, rel=1e-9)
        # desired retention 0.9: due S days after the review
        assert (got.due_at - at).total_seconds() == pytest.approx(s * 86400, abs=1e-3)
    assert got.reps == 5 and got.lapses == 1
    assert [x.memory_id for x in ca.due_memories(NS, at=got.due_at - timedelta(seconds=1))] == []
    assert [x.memory_id for x in ca.due_memories(NS, at=got.due_at)] == [m]
    with pytest.raises(animus.InvalidMemoryArgument) as info:
        ca.review_memory(m, 0)
    assert info.value.sqlstate == "ZA222"


def test_graph_expand_and_default_boost_leave_scores_alone(owners, conn):
    ca, _cb, _team = owners
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    a = ca.store_memory("graph start node", vec(dim, 10), "fact", namespace=NS).id
    b = ca.store_memory("graph middle node", vec(dim, 11), "fact", namespace=NS).id
    c = ca.store_memory("graph far node", vec(dim, 12), "fact", namespace=NS).id
    ca.link_memories(a, b, weight=0.8)
    ca.link_memories(b, c, relation="cites", weight=0.5)
    ca.link_memories(c, a)   # a cycle
    hits = {g.memory_id: g for g in ca.memory_graph_expand([a], [0.1], depth=2, decay=0.5)}
    assert set(hits) == {b, c}
    assert hits[b].score == pytest.approx(0.1 * 0.8 * 0.5)
    assert hits[c].score == pytest.approx(0.1 * 1 * 0.5)   # the direct link c -> a beats a -> b -> c
    assert hits[c].hops == 1
    hybrid = ca.hybrid_search("graph node", vec(dim, 10), k=10, filters={"namespace": NS})
    boosted = [conn.execute("SELECT animus.memory_boost(%s)", (h.score,)).fetchone()[0] for h in hybrid]
    assert boosted == [h.score for h in hybrid]


def test_store_memories_takes_the_lifecycle_keys_per_element(owners, conn):
    ca, cb, team = owners
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    old = ca.store_memory("batch: the meeting is on Monday", vec(dim, 1), "fact", namespace=NS).id
    soon = datetime.now(timezone.utc) + timedelta(days=3)
    res = ca.store_memories([
        {"content": "batch: the meeting is on Tuesday", "embedding": vec(dim, 2), "memory_type": "fact",
         "supersedes": [old]},
        {"content": "batch: parking is closed today", "embedding": vec(dim, 3), "memory_type": "event",
         "ttl": timedelta(hours=2)},
        {"content": "batch: the office wifi password", "embedding": vec(dim, 4), "memory_type": "fact",
         "visibility": "private"},
        {"content": "batch: team offsite plan", "embedding": vec(dim, 5), "memory_type": "note",
         "visibility": "groups", "groups": [team], "expires_at": soon},
        {"content": "batch: the company motto", "embedding": vec(dim, 6), "memory_type": "fact", "pinned": True},
        {"content": "batch: plain", "embedding": vec(dim, 7), "memory_type": "fact"},
    ], namespace=NS)
    ids = [r.id for r in res]
    assert [r.ordinal for r in res] == [1, 2, 3, 4, 5, 6] and all(r.created for r in res)
    rows = {r[0]: r[1:] for r in conn.execute(
        "SELECT m.id, m.superseded_by, m.expires_at IS NOT NULL AND m.expires_at BETWEEN now() + interval '119 min' AND now() + interval '121 min', "
        "m.visibility, m.share_groups::regrole[]::text[], m.pinned, r.rolname, m.expires_at "
        "FROM animus.memories AS m LEFT JOIN pg_roles AS r ON r.oid = m.owner_role WHERE m.id = ANY (%s)", (ids + [old],))}
    assert rows[old][0] == ids[0]
    assert rows[ids[1]][1] is True
    assert rows[ids[2]][2] == "private"
    assert rows[ids[3]][2:4] == ("groups", [team]) and abs((rows[ids[3]][6] - soon).total_seconds()) < 1
    assert rows[ids[4]][4] is True
    # the elements with lifecycle keys are owned by the caller, as store_memory's are
    assert rows[old][5].startswith("animus_lc_a_") and {rows[i][5] for i in ids[:5]} == {rows[old][5]}
    # what each owner sees follows from the keys
    f = {"namespace": NS}
    seen_b = {h.id for h in cb.search_memory_text("batch", k=50, filters=f)}
    assert seen_b == {ids[0], ids[1], ids[3], ids[4], ids[5]}          # not A's private one, not the superseded
    seen_a = {h.id for h in ca.search_memory_text("batch", k=50, filters=f)}
    assert seen_a == set(ids)
    # B cannot overwrite A's private memory by storing its content in a batch
    with pytest.raises(animus.AnimusError) as info:
        cb.store_memories([{"content": "batch: new", "embedding": vec(dim, 8), "memory_type": "fact"},
                           {"content": "batch: the office wifi password", "embedding": vec(dim, 9), "memory_type": "fact"}],
                          namespace=NS)
    assert info.value.sqlstate == "ZA211" and "memories[2]" in str(info.value)


@pytest.mark.parametrize("element, state", [
    ({"ttl": -5}, "ZA216"),
    ({"ttl": "2 hours", "expires_at": "2099-01-01T00:00:00Z"}, "ZA216"),
    ({"expires_at": "2001-01-01T00:00:00Z"}, "ZA216"),
    ({"expires_at": "next week"}, "ZA208"),
    ({"pinned": "yes"}, "ZA208"),
    ({"supersedes": ["x"]}, "ZA208"),
    ({"supersedes": [-1]}, "ZA207"),
    ({"visibility": "public"}, "ZA218"),
    ({"visibility": "groups", "groups": ["no_such_role_xyz"]}, "ZA219"),
    ({"groups": "team"}, "ZA208"),
])
def test_store_memories_refuses_a_bad_lifecycle_key_naming_the_element(conn, element, state):
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    ns = f"lc-batch-{uuid.uuid4().hex[:6]}"
    batch = [{"content": f"good {i}", "embedding": str(vec(dim, i)), "memory_type": "fact", "ttl": "1 day"} for i in range(2)]
    batch.append({"content": "the bad one", "embedding": str(vec(dim, 3)), "memory_type": "fact", **element})
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM animus.store_memories(%s::jsonb, %s)", (json.dumps(batch), ns))
    assert info.value.sqlstate == state
    assert "memories[3]" in info.value.diag.message_primary and info.value.diag.message_hint
    assert conn.execute("SELECT count(*) FROM animus.memories WHERE namespace = %s", (ns,)).fetchone()[0] == 0


def test_store_memories_supersedes_only_within_the_namespace(conn):
    dim = conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
    other = conn.execute("SELECT id FROM animus.store_memory('elsewhere', %s::vector, 'fact', namespace => 'lc-batch-x')",
                         (str(vec(dim, 1)),)).fetchone()[0]
    try:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM animus.store_memories(%s::jsonb, 'lc-batch-y')",
                         (json.dumps([{"content": "here", "embedding": str(vec(dim, 2)), "memory_type": "fact",
                                       "supersedes": [other]}]),))
        assert info.value.sqlstate == "ZA217" and "memories[1]" in info.value.diag.message_primary
        assert conn.execute("SELECT superseded_by FROM animus.memories WHERE id = %s", (other,)).fetchone()[0] is None
    finally:
        conn.execute("DELETE FROM animus.memories WHERE namespace IN ('lc-batch-x', 'lc-batch-y')")
