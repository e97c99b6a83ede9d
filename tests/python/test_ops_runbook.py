"""docs/runbook.md: every ```sh block marked <!-- run: sh --> runs, in document order, in bash
with ``set -euo pipefail`` against a fresh database (embedding dimension 3), with the variables
the runbook names (DATABASE_URL, TARGET, ADMIN_URL, WORK) and the embedded server's client
programs (psql, pg_dump, pg_restore) and the ``animus`` command first on PATH. A block that exits
non-zero fails the test with its output."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from conftest import PSQL, ROOT, ScratchDB, admin_url
from test_docs_examples import parse_blocks

RUNBOOK = ROOT / "docs" / "runbook.md"


def sh_blocks() -> list:
    return [b for b in parse_blocks(RUNBOOK) if b.marker == "run" and b.args.split()[:1] == ["sh"]]


def test_the_runbook_has_shell_commands_for_each_topic():
    text = RUNBOOK.read_text()
    for heading in ("## Deploy, upgrade, roll back", "## Backup and restore", "## Monitoring",
                    "## Changing the embedding model", "## Bulk loads", "### Stuck items", "### Poison messages",
                    "### A flood of merges", "### Bloat", "### A full disk"):
        assert heading in text, heading
    assert len(sh_blocks()) >= 12


def test_every_runbook_command_runs(tmp_path: Path):
    db = ScratchDB()
    try:
        url = db.url
        env = {**os.environ,
               "DATABASE_URL": url, "TARGET": "db:pg://" + url.split("://", 1)[1], "ADMIN_URL": admin_url(),
               "WORK": str(tmp_path), "SQITCH_FULLNAME": "animus-runbook", "SQITCH_EMAIL": "runbook@animus.invalid",
               "PATH": os.pathsep.join([str(Path(PSQL).parent), str(Path(sys.executable).parent), os.environ["PATH"]])}
        env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
        # the first deploy chooses the embedding dimension (3: the runbook's vectors are small)
        first = subprocess.run(["sqitch", "deploy", "--set", "embedding_dim=3", env["TARGET"]], cwd=ROOT, env=env,
                               capture_output=True, text=True)
        assert first.returncode == 0, first.stdout + first.stderr
        for block in sh_blocks():
            script = "set -euo pipefail\n" + "\n".join(block.lines) + "\n"
            res = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert res.returncode == 0, f"{block.where} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
            print(f"--- {block.where}\n{res.stdout}")
        with psycopg.connect(url) as conn:
            # what the blocks did, seen in the database
            # the poison block failed both items it claimed (the stuck one is claimed again): both retried
            assert conn.execute("SELECT count(*) FROM animus.dead_work_actions WHERE action = 'retried'").fetchone()[0] == 2
            assert conn.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()[0] == 4
            assert conn.execute("SELECT fail_at FROM animus.health_thresholds WHERE check_name = 'oldest_age_sec'"
                                " AND queue_name = 'work'").fetchone()[0] == 600
    finally:
        db.drop()
        try:
            with psycopg.connect(admin_url(), autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS animus_restored WITH (FORCE)")
        except psycopg.Error:
            pass
