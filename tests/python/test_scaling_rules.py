"""The schema keeps the rules a sharded layout needs (issue 16, part 6; docs/scaling.md).

On Citus, animus distributes memories by namespace and work by queue. That only works while

* every table of schema animus is classified here as *distributed* (with its distribution column
  and co-location group), *reference* (a copy on every node) or *local* (coordinator only), so a new
  table cannot slip in unclassified;
* every primary key, unique constraint and unique index of a distributed table includes its
  distribution column (Citus enforces uniqueness per shard only);
* no foreign key crosses distribution keys: a distributed table references a reference table, or
  a table of its own co-location group through the distribution column; a reference or local
  table never references a distributed one.

Today's schema breaks the rules in the places listed in KNOWN_VIOLATIONS, each with the reason
and the fix, for the lead to resolve; the test requires that list to be exact, so a fix must
remove its entry and a new violation fails.
"""
from __future__ import annotations

import psycopg
import pytest

# table -> ("distributed", distribution column, co-location group) | ("reference",) | ("local",)
LAYOUT: dict[str, tuple] = {
    # memory: every row belongs to one namespace; searches filtered by namespace are router calls
    "memories": ("distributed", "namespace", "memory"),
    "memory_terms": ("distributed", "namespace", "memory"),
    "memory_bm25_term_stats": ("distributed", "namespace", "memory"),
    "memory_bm25_namespace_stats": ("distributed", "namespace", "memory"),
    "memory_bm25_deltas": ("distributed", "namespace", "memory"),
    # work: every row belongs to one queue; claims and settles act on one queue
    "work_items": ("distributed", "queue_name", "work"),
    "work_events": ("distributed", "queue_name", "work"),
    "concurrency_limits": ("distributed", "queue_name", "work"),
    "concurrency_keys": ("distributed", "queue_name", "work"),
    "concurrency_held": ("distributed", "queue_name", "work"),
    "work_steps": ("distributed", "work_id", "work_steps"),
    "work_awaited": ("distributed", "work_id", "work_awaited"),
    "dead_work_actions": ("distributed", "queue_name", "work"),
    # memory side tables keyed by memory id (no namespace column yet: see KNOWN_VIOLATIONS)
    "memory_links": ("distributed", "source_id", "memory_links"),
    "memory_reviews": ("distributed", "memory_id", "memory_reviews"),
    # small, read by every call or written only by admins: a copy on every node
    "queues": ("reference",),
    "queue_grants": ("reference",),
    "memory_namespace_grants": ("reference",),
    "schedules": ("reference",),
    "memory_settings": ("reference",),
    "memory_vector_index_settings": ("reference",),
    "memory_bm25_settings": ("reference",),
    "work_state_transitions": ("reference",),
    "error_codes": ("reference",),
    "installed_extensions": ("reference",),
    "installed_version": ("reference",),
    "health_thresholds": ("reference",),
    "memory_models": ("reference",),
    "memory_namespace_models": ("reference",),
    "memory_review_settings": ("reference",),
    # serialises create_queue / drop_queue: one row on the coordinator
    "queue_admin_lock": ("local",),
    # BM25 statistics summed over every namespace (searches over all of them): the coordinator's
    "memory_bm25_term_totals": ("local",),
}

# (table, constraint or index, rule) -> why, and what the owner changes to fix it.
KNOWN_VIOLATIONS: dict[tuple[str, str, str], str] = {
    ("memories", "memories_pkey", "unique without distribution column"):
        "ids are global (bigint identity); fix: PRIMARY KEY (namespace, id), lookups by id carry the "
        "namespace or go through every shard",
    ("work_items", "work_items_pkey", "unique without distribution column"):
        "work ids are global UUIDs; fix: PRIMARY KEY (queue_name, id) (uuidv7 stays unique anyway)",
    ("work_items", "work_items_waits_for", "unique without distribution column"):
        "one waiter per item; fix: UNIQUE (queue_name, waits_for) (a merge never crosses queues)",
    ("concurrency_held", "concurrency_held_pkey", "unique without distribution column"):
        "held items keyed by work id alone; fix: PRIMARY KEY (queue_name, work_id)",
    ("work_steps", "work_steps_work_id_fkey", "foreign key across distribution keys"):
        "work_steps has no queue_name, so it cannot be co-located with work_items; fix: add queue_name, "
        "distribute by it, FOREIGN KEY (queue_name, work_id) REFERENCES work_items (queue_name, id)",
    ("dead_work_actions", "dead_work_actions_pkey", "unique without distribution column"):
        "one action per dead item, keyed by work id alone; fix: PRIMARY KEY (queue_name, work_id)",
    ("memories", "memories_superseded_by_fkey", "foreign key across distribution keys"):
        "a superseded memory points at its successor by id (always in its own namespace: ZA refuses a "
        "cross-namespace supersession); fix with the primary key: FOREIGN KEY (namespace, superseded_by) "
        "REFERENCES memories (namespace, id)",
    ("memory_links", "memory_links_source_id_fkey", "foreign key across distribution keys"):
        "links carry memory ids without their namespace; fix: add namespace, distribute by it, "
        "FOREIGN KEY (namespace, source_id) REFERENCES memories (namespace, id) (links stay within a namespace)",
    ("memory_links", "memory_links_target_id_fkey", "foreign key across distribution keys"):
        "as the source: FOREIGN KEY (namespace, target_id) REFERENCES memories (namespace, id)",
    ("memory_reviews", "memory_reviews_memory_id_fkey", "foreign key across distribution keys"):
        "review state keyed by memory id alone; fix: add namespace, distribute by it, "
        "FOREIGN KEY (namespace, memory_id) REFERENCES memories (namespace, id)",
}


@pytest.fixture(scope="module")
def catalog(db_url):
    with psycopg.connect(db_url, autocommit=True) as c:
        tables = {r[0]: set(r[1]) for r in c.execute(
            "SELECT c.relname, array_agg(a.attname::text) FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE c.relnamespace = 'animus'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "GROUP BY c.relname")}
        # every unique index (those behind PRIMARY KEY / UNIQUE constraints included), with its columns
        uniques = c.execute(
            "SELECT t.relname, i.relname, ARRAY(SELECT a.attname::text FROM unnest(x.indkey) k "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k) , x.indexprs IS NOT NULL "
            "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE t.relnamespace = 'animus'::regnamespace AND x.indisunique").fetchall()
        fkeys = c.execute(
            "SELECT t.relname, k.conname, r.relname, r.relnamespace = 'animus'::regnamespace, "
            "ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o) "
            "      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o), "
            "ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o) "
            "      JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o) "
            "FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid "
            "WHERE k.contype = 'f' AND t.relnamespace = 'animus'::regnamespace").fetchall()
    return tables, uniques, fkeys


def violations(catalog) -> dict[tuple[str, str, str], str]:
    tables, uniques, fkeys = catalog
    found: dict[tuple[str, str, str], str] = {}
    for table, index, cols, expr in uniques:
        kind = LAYOUT.get(table, ("?",))
        if kind[0] == "distributed" and (expr or kind[1] not in cols):
            found[(table, index, "unique without distribution column")] = f"{index} on {cols}"
    for table, name, ref, ref_in_animus, cols, ref_cols in fkeys:
        src = LAYOUT.get(table, ("?",))
        dst = LAYOUT.get(ref, ("reference",) if not ref_in_animus else ("?",))
        ok = True
        if dst[0] == "distributed":
            # allowed only between tables of one co-location group, distribution column to distribution column
            ok = (src[0] == "distributed" and src[2] == dst[2] and src[1] in cols
                  and ref_cols[cols.index(src[1])] == dst[1])
        elif dst[0] == "local":
            ok = src[0] == "local"
        if not ok:
            found[(table, name, "foreign key across distribution keys")] = f"{table}{cols} -> {ref}{ref_cols}"
    return found


def test_every_animus_table_is_classified(catalog):
    tables = set(catalog[0])
    assert tables - set(LAYOUT) == set(), ("new tables must be classified in LAYOUT (and docs/scaling.md) as "
                                           "distributed, reference or local")
    assert set(LAYOUT) - tables == set(), "LAYOUT names tables that no longer exist"


def test_distributed_tables_have_their_distribution_column(catalog):
    tables = catalog[0]
    for table, kind in LAYOUT.items():
        assert kind[0] in ("distributed", "reference", "local"), table
        if kind[0] == "distributed":
            assert kind[1] in tables[table], f"{table} has no column {kind[1]}"


def test_unique_keys_and_foreign_keys_keep_the_sharding_rules(catalog):
    found = violations(catalog)
    new = {k: v for k, v in found.items() if k not in KNOWN_VIOLATIONS}
    fixed = [k for k in KNOWN_VIOLATIONS if k not in found]
    assert not new, "the schema breaks the sharding rules of docs/scaling.md:\n" + "\n".join(
        f"  {t}.{n}: {rule} ({what})" for (t, n, rule), what in new.items())
    assert not fixed, f"fixed: remove these from KNOWN_VIOLATIONS and docs/scaling.md: {fixed}"


def test_the_rules_catch_what_they_should(catalog):
    """The checker itself: a unique index without the distribution column, and foreign keys from a
    reference table to a distributed one and across co-location groups, are reported."""
    tables, uniques, fkeys = catalog
    fake_uniques = [("memory_terms", "memory_terms_by_id", ["memory_id"], False),
                    ("memories", "memories_by_expr", ["namespace"], True)]
    fake_fkeys = [("schedules", "schedules_last_work_fkey", "work_items", True, ["last_work_id"], ["id"]),
                  ("work_events", "work_events_ns_fkey", "memories", True, ["queue_name"], ["namespace"]),
                  ("memory_terms", "memory_terms_memory_fkey", "memories", True, ["namespace", "memory_id"],
                   ["namespace", "id"])]
    found = violations((tables, fake_uniques, fake_fkeys))
    assert set(found) == {("memory_terms", "memory_terms_by_id", "unique without distribution column"),
                          ("memories", "memories_by_expr", "unique without distribution column"),
                          ("schedules", "schedules_last_work_fkey", "foreign key across distribution keys"),
                          ("work_events", "work_events_ns_fkey", "foreign key across distribution keys")}
