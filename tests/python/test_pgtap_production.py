"""The pgTAP production-safe set (tests/pgtap/*.sql) keeps README's promise: it runs on a database
in use, takes no lock stronger than ordinary writes on existing tables, leaves nothing behind but
sequence values, and passes as a non-superuser with the rights README lists. The scratch-only set
(tests/pgtap/scratch/*.sql) is there because each of its files fails the lock probe.
"""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from conftest import PSQL, ROOT, ScratchDB, admin_url, sqitch, url_for

SAFE = sorted((ROOT / "tests/pgtap").glob("*.sql"))
SCRATCH = sorted((ROOT / "tests/pgtap/scratch").glob("*.sql"))
# Advanced by the safe set (nextval is not transactional); README "Testing your own deployment".
SEQUENCES_ADVANCED = {"animus.memories_id_seq", "animus.memory_bm25_deltas_id_seq"}

# Every table, view and materialised view outside the system schemas: what is "existing" for the probe.
USER_RELATIONS = """
SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'information_schema'
   AND n.nspname !~ '^pg_' ORDER BY 1"""


def pg_prove(url: str, *files: Path, options: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PGOPTIONS": f"-c client_min_messages=warning {options}".strip()}
    return subprocess.run(["pg_prove", "--psql-bin", PSQL, "-d", url, "--failures", *map(str, files)],
                          capture_output=True, text=True, env=env)


def seed_production_data(url: str) -> None:
    """What a database in use holds: memories of other tenants, pending BM25 deltas, queued work."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("""
            SELECT animus.store_memories((SELECT jsonb_agg(jsonb_build_object(
                       'content', 'production memory ' || i || ' about tea, grass and zebras',
                       'embedding', (SELECT array_agg(((d * i) % 11 + 1)::real) FROM generate_series(1, s.embedding_dim) d),
                       'memory_type', 'fact', 'namespace', 'prod-' || (i % 3)))
                     FROM generate_series(1, 60) i, animus.memory_settings s))""")
        for i in range(5):
            c.execute("SELECT animus.submit_work('engage', 'prod', dedup_key => %s)", (f"person={i}",))


@pytest.fixture(scope="module")
def deployed():
    """A database deployed like production (dimension 1536), with data, pgTAP installed by the DBA."""
    db = ScratchDB()
    try:
        sqitch(db.url, "deploy")
        with psycopg.connect(db.url, autocommit=True) as c:
            c.execute("CREATE EXTENSION pgtap")
        seed_production_data(db.url)
        yield db.url
    finally:
        db.drop()


def run_under_lock_probe(url: str, path: Path) -> subprocess.CompletedProcess:
    """Runs one file while another session holds ROW EXCLUSIVE and SHARE UPDATE EXCLUSIVE on every
    existing table, as concurrent writers and autovacuum do. Those two conflict with every mode
    above ROW EXCLUSIVE (SHARE UPDATE EXCLUSIVE: VACUUM, CREATE INDEX CONCURRENTLY; SHARE: CREATE
    INDEX; up to ACCESS EXCLUSIVE: DROP INDEX, ALTER TABLE, TRUNCATE, LOCK TABLE) and with none
    below it, so with lock_timeout any stronger lock fails the file with 55P03."""
    with psycopg.connect(url) as holder:
        rels = [sql.SQL(r[0]) for r in holder.execute(USER_RELATIONS)]
        for mode in ("ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE"):
            holder.execute(sql.SQL("LOCK TABLE {} IN {} MODE").format(sql.SQL(", ").join(rels), sql.SQL(mode)))
        try:
            return pg_prove(url, path, options="-c lock_timeout=2s")
        finally:
            holder.rollback()


@pytest.mark.parametrize("path", SAFE, ids=lambda p: p.name)
def test_safe_file_takes_no_lock_stronger_than_ordinary_writes(deployed, path):
    res = run_under_lock_probe(deployed, path)
    assert res.returncode == 0, f"{path.name} waited for a lock or failed:\n{res.stdout}\n{res.stderr}"


@pytest.mark.parametrize("path", SCRATCH, ids=lambda p: p.name)
def test_lock_probe_catches_each_scratch_file(deployed, path):
    """The probe can fail: each scratch-only file takes a strong lock (memory_bulk_load.sql: DROP INDEX
    under ACCESS EXCLUSIVE) and fails under it; a file that passes belongs in the safe set."""
    res = run_under_lock_probe(deployed, path)
    assert res.returncode != 0
    assert "lock timeout" in res.stderr, res.stdout + res.stderr
    assert pg_prove(deployed, path).returncode == 0, "the file passes without the probe"


# What a database in use does all the time, each statement with a timeout. Admin calls that
# serialise on purpose (create_queue, a waiting memory_bm25_refresh) are not in it: README says so.
TRAFFIC = [
    "SELECT animus.store_memory('traffic ' || gen_random_uuid(), {vec}, 'fact', namespace => 'prod-0')",
    "SELECT animus.store_memory('traffic ' || gen_random_uuid(), {vec}, 'fact', namespace => 'prod-new')",
    "SELECT animus.update_memory((SELECT min(id) FROM animus.memories WHERE namespace = 'prod-1'), metadata => '{{\"seen\": 1}}')",
    "SELECT animus.delete_memory((SELECT id FROM animus.store_memory('gone ' || gen_random_uuid(), {vec}, 'fact', namespace => 'prod-2')))",
    "SELECT count(*) FROM animus.search_memory_text('tea grass zebras', 10)",
    "SELECT count(*) FROM animus.search_memory_vector({vec}, 10)",
    "SELECT count(*) FROM animus.hybrid_search('tea', {vec}, 10)",
    "SELECT animus.memory_bm25_refresh(wait => false)",
    "SELECT animus.submit_work('engage', 'traffic', dedup_key => gen_random_uuid()::text)",
    "SELECT animus.complete_work(work_id) FROM animus.read_work(queue => 'work', vt => '30 seconds', qty => 1)",
    "SELECT count(*) FROM animus.queue_stats()",
]


def run_held_open(url: str, path: Path) -> str | None:
    """Runs one file up to its final ROLLBACK, keeps its transaction open, and runs TRAFFIC from
    another session meanwhile (statement_timeout 3 s). Returns what got stuck, or None. Catches
    what the lock probe cannot: row locks on rows the file did not create (e.g. the default
    queue's wake-up row) and strong locks a file takes and keeps."""
    body, sep, _ = path.read_text().rpartition("ROLLBACK;")
    assert sep, f"{path.name} does not end with ROLLBACK"
    marker = f"pgtap_held_open_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PGAPPNAME": marker, "PGOPTIONS": "-c client_min_messages=warning"}
    proc = subprocess.Popen([PSQL, "-X", "-q", "-d", url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdin.write(body + f"SELECT '{marker}';\n")
        proc.stdin.flush()
        with psycopg.connect(url, autocommit=True) as c:
            for _ in range(1200):
                state = c.execute("SELECT state FROM pg_stat_activity WHERE application_name = %s AND query LIKE %s",
                                  (marker, f"%'{marker}'%")).fetchone()
                if state and state[0].startswith("idle in transaction"):
                    break
                time.sleep(0.05)
            else:
                return "the file never reached its end"
            c.execute("SET statement_timeout = '3s'")
            vec = "(SELECT array_fill(0.5::real, ARRAY[embedding_dim])::vector FROM animus.memory_settings)"
            for q in TRAFFIC:
                try:
                    c.execute(q.format(vec=vec))
                except psycopg.errors.QueryCanceled:
                    return f"blocked: {q}"
        return None
    finally:
        proc.stdin.write("ROLLBACK;\n")
        proc.stdin.close()
        proc.wait(timeout=60)


@pytest.mark.parametrize("path", SAFE, ids=lambda p: p.name)
def test_safe_file_held_open_blocks_no_ordinary_traffic(deployed, path):
    assert run_held_open(deployed, path) is None


@pytest.mark.parametrize("path", SCRATCH, ids=lambda p: p.name)
def test_traffic_probe_catches_each_scratch_file(deployed, path):
    assert (run_held_open(deployed, path) or "").startswith("blocked: ")


FINGERPRINT = [
    ("relations", "SELECT c.oid::regclass::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1"),
    ("functions", "SELECT p.oid::regprocedure::text, md5(p.prosrc), coalesce(p.proconfig::text, ''), coalesce(p.proacl::text, '')"
                  " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname !~ '^pg_'"
                  " AND n.nspname <> 'information_schema' ORDER BY 1"),
    ("roles", "SELECT rolname::text FROM pg_roles ORDER BY 1"),
    ("memberships", "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2"),
    ("extensions", "SELECT extname::text, extversion FROM pg_extension ORDER BY 1"),
]


def fingerprint(url: str) -> dict:
    """Catalog entries, and the full contents of every table (as md5 of its sorted rows)."""
    out: dict = {}
    with psycopg.connect(url, autocommit=True) as c:
        for name, q in FINGERPRINT:
            out[name] = c.execute(q).fetchall()
        for (rel,) in c.execute(USER_RELATIONS.replace("'v', 'm', 'f'", "'m'")).fetchall():
            out[rel] = c.execute(sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                                         " FROM {} t").format(sql.SQL(rel))).fetchone()
        seqs = dict(c.execute("SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences").fetchall())
    return {"state": out, "sequences": seqs}


def test_safe_set_leaves_nothing_behind_but_sequence_values(deployed):
    before = fingerprint(deployed)
    res = pg_prove(deployed, *SAFE)
    assert res.returncode == 0, res.stdout + res.stderr
    after = fingerprint(deployed)
    changed = {k for k in before["state"].keys() | after["state"].keys()
               if before["state"].get(k) != after["state"].get(k)}
    assert changed == set(), f"the safe set left changes in: {sorted(changed)}"
    advanced = {k for k, v in after["sequences"].items() if before["sequences"].get(k) != v}
    assert advanced <= SEQUENCES_ADVANCED, f"undocumented sequences advanced: {sorted(advanced - SEQUENCES_ADVANCED)}"


def login_url(role: str, password: str, db: str) -> str:
    parts = urlsplit(admin_url())
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(role)}:{quote(password)}@{host}", path="/" + db))


ANIMUS_ROLES = ("animus_producer", "animus_worker", "animus_memory_reader", "animus_memory_writer", "animus_admin")
ROLE_CREATING = {"security_memory_grants.sql", "security_memory_rls.sql", "security_memory_side_channel.sql",
                 "security_pg_temp.sql", "security_roles.sql", "work_queue_grants.sql", "work_wait_grants.sql",
                 "work_schedules.sql", "memory_lifecycle.sql"}


@pytest.fixture(scope="module")
def deployer():
    """README's rights, exactly: a LOGIN role, not superuser, that deployed animus itself (at
    dimension 3, docs/memory.md's), with CREATEROLE, ADMIN OPTION on the five animus roles and
    createrole_self_grant = 'set'; the superuser installed vector and pgTAP in the database.
    Yields (url of the deployer, url of a second LOGIN role that is only a member of the deployer)."""
    tag = uuid.uuid4().hex[:8]
    role, member, password = f"animus_test_deployer_{tag}", f"animus_test_member_{tag}", uuid.uuid4().hex
    db = f"animus_scratch_{tag}"
    with psycopg.connect(admin_url(), autocommit=True) as su:
        for r in ANIMUS_ROLES:  # cluster-wide: an earlier deploy made them, else the superuser does
            if not su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone():
                su.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(r)))
        su.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER CREATEROLE PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        su.execute(sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.SQL(", ").join(map(sql.Identifier, ANIMUS_ROLES)),
                                                                      sql.Identifier(role)))
        su.execute(sql.SQL("ALTER ROLE {} SET createrole_self_grant = 'set'").format(sql.Identifier(role)))
        su.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER PASSWORD {} IN ROLE {}").format(
            sql.Identifier(member), sql.Literal(password), sql.Identifier(role)))
        su.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(role)))
    try:
        with psycopg.connect(url_for(db), autocommit=True) as su:
            su.execute("CREATE EXTENSION vector")
            su.execute("CREATE EXTENSION pgtap")
        url = login_url(role, password, db)
        sqitch(url, "deploy", "--set", "embedding_dim=3")
        seed_production_data(url)
        yield url, login_url(member, password, db)
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as su:
            su.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            su.execute(sql.SQL("DROP ROLE IF EXISTS {}, {}").format(sql.Identifier(member), sql.Identifier(role)))


def test_safe_set_passes_as_the_non_superuser_deployer(deployer):
    url, _ = deployer
    with psycopg.connect(url) as c:
        assert c.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
    res = pg_prove(url, *SAFE)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "skipped" not in res.stdout, res.stdout


def test_without_createrole_the_role_creating_files_skip_visibly(deployer):
    """A member of the deployer without CREATEROLE: those three files say why they skip, the rest pass."""
    _, member_url = deployer
    res = pg_prove(member_url, *SAFE)
    assert res.returncode == 0, res.stdout + res.stderr
    skipped = {line.split(" ", 1)[0].rsplit("/", 1)[-1] for line in res.stdout.splitlines()
               if "skipped: creates roles (rolled back) and the role running the tests lacks CREATEROLE" in line}
    assert skipped == ROLE_CREATING, res.stdout
