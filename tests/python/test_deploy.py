"""Sqitch deploys, reverts and verifies; the schema snapshot and the single-file install stay fresh."""
from __future__ import annotations

import difflib
import subprocess
import sys

import psycopg

from conftest import ROOT, dump_schema, psql_file, sqitch


def animus_objects(url: str) -> int:
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'animus')"
            " + (SELECT count(*) FROM pg_extension WHERE extname IN ('vector', 'pgmq'))"
        ).fetchone()[0]


def diff(a: str, b: str, a_name: str, b_name: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), a_name, b_name))


def test_deploy_revert_deploy_round_trips(scratch_db):
    sqitch(scratch_db.url, "deploy")
    first = dump_schema(scratch_db.url)
    assert "CREATE SCHEMA animus" in first

    sqitch(scratch_db.url, "revert", "-y")
    assert animus_objects(scratch_db.url) == 0, "revert left schema animus or an extension behind"

    sqitch(scratch_db.url, "deploy")
    second = dump_schema(scratch_db.url)
    assert first == second, diff(first, second, "first deploy", "redeploy")


def test_verify_fails_loudly_when_a_deployed_object_is_missing(scratch_db):
    sqitch(scratch_db.url, "deploy")
    assert sqitch(scratch_db.url, "verify").returncode == 0
    with psycopg.connect(scratch_db.url, autocommit=True) as c:
        c.execute("DROP TABLE animus.error_codes CASCADE")
    res = sqitch(scratch_db.url, "verify", check=False)
    assert res.returncode != 0
    assert "errors" in res.stdout + res.stderr


def test_schema_snapshot_matches_a_fresh_deploy(scratch_db):
    sqitch(scratch_db.url, "deploy")
    committed = (ROOT / "sql/schema.sql").read_text()
    fresh = dump_schema(scratch_db.url)
    assert committed == fresh, (
        "sql/schema.sql differs from a fresh deploy; run `make snapshot` and review the diff:\n"
        + diff(committed, fresh, "sql/schema.sql", "fresh deploy"))


def test_single_file_install_is_generated_from_the_plan():
    res = subprocess.run([sys.executable, str(ROOT / "tools/gen_install.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_single_file_install_equals_sqitch_deploy(scratch_db, tmp_path):
    res = psql_file(scratch_db.url, ROOT / "sql/animus.sql")
    assert res.returncode == 0, res.stderr
    by_file = dump_schema(scratch_db.url)
    committed = (ROOT / "sql/schema.sql").read_text()
    assert by_file == committed, diff(committed, by_file, "sqitch deploy", "sql/animus.sql")


def test_error_code_docs_match_the_table(scratch_db):
    sqitch(scratch_db.url, "deploy")
    rendered = subprocess.run(["bash", str(ROOT / "tools/snapshot.sh"), "errors-url", scratch_db.url],
                              capture_output=True, text=True, check=True).stdout
    assert (ROOT / "docs/errors.md").read_text() == rendered, "docs/errors.md is stale: run `make snapshot`"


import pytest  # noqa: E402


@pytest.mark.parametrize("value", ["0", "3000", "abc", "", "3); DROP TABLE animus.error_codes; --"])
def test_bad_embedding_dim_is_refused_with_a_clear_error_and_nothing_deployed(scratch_db, value):
    res = sqitch(scratch_db.url, "deploy", "--set", f"embedding_dim={value}", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "embedding_dim must be a whole number from 1 to 2000" in out and "HINT:" in out, out
    assert animus_objects(scratch_db.url) == 0, "a failed deploy leaves nothing behind"


def test_empty_embedding_model_is_refused(scratch_db):
    res = sqitch(scratch_db.url, "deploy", "--set", "embedding_model=", check=False)
    assert res.returncode != 0 and "embedding_model must be a name" in res.stdout + res.stderr


def test_revert_leaves_no_pgmq_schema_and_no_default_privileges(scratch_db):
    sqitch(scratch_db.url, "deploy")
    sqitch(scratch_db.url, "revert", "-y")
    with psycopg.connect(scratch_db.url) as c:
        assert c.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN ('animus', 'pgmq')").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM pg_default_acl").fetchone()[0] == 0, "default-privilege rows left behind"
