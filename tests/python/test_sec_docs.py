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
