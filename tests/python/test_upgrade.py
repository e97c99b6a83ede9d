"""Users deploy to production with Sqitch: a database at tag v0.4.0 holding data upgrades to the
head of the plan, ends with the same schema as a fresh deploy, keeps its data, and keeps working.
Reverting back to v0.4.0 and deploying again round-trips too."""
from __future__ import annotations

import psycopg
import pytest

from conftest import ROOT, admin_url, dump_schema, sqitch
from test_deploy import diff

V04 = "@v0.4.0"
TENANT = "animus_test_upgrade_tenant"


def fill_v040(url: str) -> dict:
    """Work and memories written through the v0.4.0 API, as a production database would hold them."""
    with psycopg.connect(url, autocommit=True) as c:
        dim = c.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0]
        vec = lambda i: "[" + ",".join(str(((i * 7 + j) % 13) + 1) for j in range(dim)) + "]"  # noqa: E731
        c.execute("SELECT animus.create_queue(queue => 'upgrade_q')")
        first = c.execute("SELECT work_id FROM animus.submit_work(work_type => 'engage', source => 'scheduler', "
                          "queue => 'upgrade_q', dedup_key => 'person=kelly', params => '{\"p\": 1}')").fetchone()[0]
        c.execute("SELECT animus.submit_work(work_type => 'engage', source => 'human:alice', queue => 'upgrade_q', "
                  "dedup_key => 'person=kelly')")
        c.execute("SELECT animus.submit_work(work_type => 'other', source => 'test', queue => 'upgrade_q')")
        for i, text in enumerate(["Kelly prefers green tea in the morning",
                                  "Kelly is training for the Berlin marathon",
                                  "The quarterly report is due on Friday"]):
            c.execute("SELECT animus.store_memory(content => %s, embedding => %s::vector, memory_type => 'fact', namespace => 'upgrade')",
                      (text, vec(i)))
        # A tenant: a role granted the namespace (roles are cluster-wide; the grant is this database's).
        c.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TENANT}') THEN "
                  f"CREATE ROLE {TENANT} NOLOGIN IN ROLE animus_memory_reader; END IF; END $$")
        c.execute("SELECT animus.grant_memory_namespace(%s, 'upgrade')", (TENANT,))
        return {"first": first, "vec": vec(0)}


@pytest.fixture
def tenant_role():
    yield TENANT
    with psycopg.connect(admin_url(), autocommit=True) as c:
        c.execute(f"DROP ROLE IF EXISTS {TENANT}")


def test_v040_database_with_data_upgrades_to_head_like_a_fresh_deploy(scratch_db, tenant_role):
    # What a fresh deploy of the head holding the same data looks like (queues generate functions).
    sqitch(scratch_db.url, "deploy")
    fill_v040(scratch_db.url)
    fresh = dump_schema(scratch_db.url)
    sqitch(scratch_db.url, "revert", "-y")

    sqitch(scratch_db.url, "deploy", "--to", V04)
    seeded = fill_v040(scratch_db.url)
    sqitch(scratch_db.url, "deploy")
    upgraded = dump_schema(scratch_db.url)
    assert upgraded == fresh, diff(fresh, upgraded, "fresh deploy", "v0.4.0 upgraded to head")
    assert sqitch(scratch_db.url, "verify").returncode == 0

    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        states = dict(c.execute("SELECT state, count(*) FROM animus.work_items "
                                "WHERE queue_name = 'upgrade_q' GROUP BY state").fetchall())
        assert states == {"queued": 2, "merged": 1}
        # The upgrade default: the group roles hold every queue, so existing producers and workers
        # keep working until an admin confines them.
        assert sorted(r[0] for r in c.execute("SELECT role_oid::regrole::text FROM animus.queue_grants "
                                              "WHERE queue_name = '*'")) == ["animus_admin", "animus_producer", "animus_worker"]
        # The v0.4.0 work is claimed and settled by the new code, as the worker role.
        c.execute("SET ROLE animus_worker")
        claimed = c.execute("SELECT work_id, attempts, requesters_total FROM animus.read_work(queue => 'upgrade_q', "
                            "vt => '30 seconds', qty => 5)").fetchall()
        assert {r[0] for r in claimed} >= {seeded["first"]}
        assert {r[0]: r[2] for r in claimed}[seeded["first"]] == 2   # its v0.4.0 merged submission counts
        for work_id, attempts, _ in claimed:
            c.execute("SELECT animus.complete_work(work_id => %s, attempt => %s)", (work_id, attempts))
        c.execute("RESET ROLE")
        assert c.execute("SELECT state FROM animus.get_work(%s)", (seeded["first"],)).fetchone()[0] == "completed"
        # The v0.4.0 memories are found by all three searches.
        assert c.execute("SELECT count(*) FROM animus.search_memory_text(query => 'kelly tea', k => 5, "
                         "filters => '{\"namespace\": \"upgrade\"}')").fetchone()[0] >= 1
        hits = c.execute("SELECT content FROM animus.search_memory_vector(query_embedding => %s::vector, k => 1, "
                         "filters => '{\"namespace\": \"upgrade\"}')", (seeded["vec"],)).fetchall()
        assert hits == [("Kelly prefers green tea in the morning",)]
        assert c.execute("SELECT count(*) FROM animus.hybrid_search(query_text => 'marathon', query_embedding => %s::vector, "
                         "k => 3, filters => '{\"namespace\": \"upgrade\"}')", (seeded["vec"],)).fetchone()[0] == 3
        # The v0.4.0 namespace grant survives, now keyed by the role's OID: the tenant still finds its memories.
        assert c.execute("SELECT g.role_oid = r.oid FROM animus.memory_namespace_grants g JOIN pg_roles r ON r.rolname = g.role_name "
                         "WHERE g.role_name = %s AND g.namespace = 'upgrade'", (TENANT,)).fetchone() == (True,)
        c.execute(f"SET ROLE {TENANT}")
        assert c.execute("SELECT animus.memory_scope()").fetchone()[0] == ["upgrade"]
        assert c.execute("SELECT count(*) FROM animus.search_memory_text(query => 'kelly', k => 5)").fetchone()[0] == 2
        c.execute("RESET ROLE")

    # And back: revert to v0.4.0 restores the v0.4.0 schema with the data in place, then forward again.
    sqitch(scratch_db.url, "revert", "-y", "--to", V04)
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM animus.memories WHERE namespace = 'upgrade'").fetchone()[0] == 3
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM animus.memory_namespace_grants WHERE role_name = %s", (TENANT,)).fetchone()[0] == 1
    sqitch(scratch_db.url, "deploy")
    assert dump_schema(scratch_db.url) == fresh
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        c.execute(f"SET ROLE {TENANT}")
        assert c.execute("SELECT animus.memory_scope()").fetchone()[0] == ["upgrade"]


def test_plan_is_append_only_after_v040():
    """Changes before the v0.4.0 tag are never edited in the plan; later work is appended (reworks included)."""
    plan = (ROOT / "sqitch.plan").read_text().splitlines()
    tag_line = next(i for i, ln in enumerate(plan) if ln.startswith("@v0.4.0 "))
    names_before = [ln.split()[0] for ln in plan[:tag_line] if ln and not ln.startswith(("%", "@", "#"))]
    assert names_before == ["schema", "extensions", "roles", "errors", "work_items", "work_queues", "work_submit",
                            "work_lifecycle", "work_status", "work_release", "memory_table", "memory_filters",
                            "memory_store", "memory_search", "memory_bm25", "memory_admin", "security_memory_rls",
                            "security_bm25_rls"]
