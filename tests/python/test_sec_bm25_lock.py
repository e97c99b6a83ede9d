"""A stranger (a login with no animus role) cannot stop the BM25 statistics from being folded.

The refresh used to serialise on pg_advisory_xact_lock(hashtext('animus.memory_bm25_refresh')):
any login may take that key, which hung manual refreshes and made every write-time refresh skip,
so animus.memory_bm25_deltas (summed by every search) grew without bound. The refresh now locks
the row of animus.memory_bm25_settings, which only the owner may lock.
"""
from __future__ import annotations

import uuid

import psycopg
import pytest

from conftest import admin_url

OLD_KEY = "SELECT pg_advisory_lock(hashtext('animus.memory_bm25_refresh')), pg_advisory_lock(hashtext('animus.memory_bm25_refresh'))"


@pytest.fixture
def stranger(db_url):
    """A session of a role that is a member of no animus role, holding the old refresh key."""
    name = f"animus_test_stranger_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url(), autocommit=True) as c:
        c.execute(f'CREATE ROLE "{name}" NOLOGIN')
    s = psycopg.connect(db_url, autocommit=True)
    try:
        s.execute(f'SET ROLE "{name}"')
        assert not s.execute("SELECT pg_has_role(current_user, 'animus_memory_reader', 'USAGE')").fetchone()[0]
        s.execute(OLD_KEY)
        yield s
    finally:
        s.close()
        with psycopg.connect(admin_url(), autocommit=True) as c:
            c.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def dim(conn):
    return conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]


def vec(i: int, dim: int) -> str:
    return "[" + ",".join("1" if j in (0, 1 + i % (dim - 1)) else "0" for j in range(dim)) + "]"


def test_manual_refresh_is_not_blocked_by_a_stranger_holding_the_old_key(stranger, conn, dim):
    conn.execute("SELECT animus.store_memory(content => 'stranger lock probe memory', embedding => %s::vector, "
                 "memory_type => 'fact', namespace => 'bm25-lock')", (vec(1, dim),))
    conn.execute("SET lock_timeout = '3s'")
    folded = conn.execute("SELECT animus.memory_bm25_refresh()").fetchone()[0]
    assert folded is not None and folded >= 1


def test_write_time_refresh_keeps_the_backlog_bounded_while_a_stranger_holds_the_old_key(stranger, conn, dim):
    conn.execute("SET lock_timeout = '3s'")
    before = conn.execute("SELECT refresh_after FROM animus.memory_bm25_settings").fetchone()[0]
    conn.execute("SELECT animus.memory_bm25_configure(refresh_after => 5)")
    try:
        conn.execute("SELECT animus.memory_bm25_refresh()")
        for i in range(40):
            conn.execute("SELECT animus.store_memory(content => %s, embedding => %s::vector, memory_type => 'fact', "
                         "namespace => 'bm25-lock')", (f"note {i} about walrus{i} and narwhal{i} in the harbour", vec(i, dim)))
        pending = conn.execute("SELECT count(*) FROM animus.memory_bm25_deltas").fetchone()[0]
        # each write appends about 6 rows; with refresh_after = 5 every write folds the backlog
        assert pending < 40, f"{pending} delta rows pending: the write-time refresh was skipped"
    finally:
        conn.execute("SELECT animus.memory_bm25_configure(refresh_after => %s)", (before,))
        conn.execute("DELETE FROM animus.memories WHERE namespace = 'bm25-lock'")
        conn.execute("SELECT animus.memory_bm25_refresh()")
