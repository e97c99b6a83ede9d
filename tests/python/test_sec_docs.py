"""docs/security.md lists every SECURITY DEFINER function of schema animus, and only those."""
from __future__ import annotations

import re

from conftest import ROOT


def test_the_security_definer_list_in_the_docs_matches_the_catalog(conn):
    text = (ROOT / "docs/security.md").read_text()
    block = text.split("<!-- secdef-list:start -->", 1)[1].split("<!-- secdef-list:end -->", 1)[0]
    documented = set(re.findall(r"^- `([^`]+)`", block, flags=re.M))
    actual = {r[0] for r in conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'animus'::regnamespace AND p.prosecdef")}
    assert actual - documented == set(), f"SECURITY DEFINER functions missing from docs/security.md: {sorted(actual - documented)}"
    assert documented - actual == set(), f"docs/security.md lists functions that are not SECURITY DEFINER: {sorted(documented - actual)}"


def test_every_security_definer_function_states_its_contract(conn):
    rows = conn.execute("""
        SELECT p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc') IS NOT NULL
          FROM pg_proc p WHERE p.pronamespace = 'animus'::regnamespace AND p.prosecdef""").fetchall()
    assert rows
    assert [r[0] for r in rows if not r[1]] == [], "a SECURITY DEFINER function without COMMENT ON FUNCTION (its contract)"


HELPERS = re.compile(r"^(memory_check_|memory_filter_|memory_normalize_text_filter$|memory_validate_filters$|memory_or_tsquery$"
                     r"|memory_parses_as_vector$|memory_content_hash$|memory_text_candidates$|memory_vector_candidates$"
                     r"|memory_bm25_topk$|bm25_|work_message_headers$)")
ROLES = ("animus_producer", "animus_worker", "animus_memory_reader", "animus_memory_writer", "animus_admin")


def test_the_roles_table_in_the_docs_matches_the_grants(conn):
    text = (ROOT / "docs/security.md").read_text()
    may: dict[str, set[str]] = {}
    for role in ROLES:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{role}` |"))
        cell = row.split("|")[2]
        may[role] = {n for n in re.findall(r"`([a-z_0-9]+)`", cell) if not n.startswith("animus_") and "." not in n}
    may["animus_memory_writer"] |= may["animus_memory_reader"]          # "everything a reader may, plus"
    for role in ROLES:
        granted = {r[0] for r in conn.execute(
            "SELECT DISTINCT p.proname FROM pg_proc p WHERE p.pronamespace = 'animus'::regnamespace"
            " AND has_function_privilege(%s, p.oid, 'EXECUTE')", [role])}
        words = {"memories", "memory_settings", "can_write"}   # tables and arguments named in the cells
        listed = may[role] - words
        assert listed - granted == set(), f"docs say {role} may run {sorted(listed - granted)}, but it may not"
        undocumented = {f for f in granted - listed if not HELPERS.match(f)}
        if role == "animus_admin":   # member of producer, worker, memory writer: their rights too
            undocumented -= may["animus_producer"] | may["animus_worker"] | may["animus_memory_writer"]
        assert undocumented == set(), f"{role} may run {sorted(undocumented)}, which docs/security.md does not say"
