"""Shared fixtures: every test runs against the embedded server started by `make test`.

ANIMUS_ADMIN_URL  a superuser URL of the server (database `postgres`), to create scratch databases
DATABASE_URL      the test database, freshly deployed by tools/test.sh
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402

PSQL = devdb.pgbin("psql")


def admin_url() -> str:
    url = os.environ.get("ANIMUS_ADMIN_URL")
    if not url:
        pytest.exit("ANIMUS_ADMIN_URL is not set: run the tests with `make test`", returncode=2)
    return url


def url_for(db: str) -> str:
    parts = urlsplit(admin_url())
    return urlunsplit(parts._replace(path="/" + db))


def sqitch(url: str, command: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    target = "db:pg://" + url.split("://", 1)[1]
    env = {**os.environ, "SQITCH_FULLNAME": "animus-tests", "SQITCH_EMAIL": "tests@animus.invalid"}
    res = subprocess.run(["sqitch", command, "--db-client", PSQL, *args, target],
                         cwd=ROOT, capture_output=True, text=True, env=env)
    if check and res.returncode != 0:
        raise AssertionError(f"sqitch {command} failed:\n{res.stdout}\n{res.stderr}")
    return res


def psql_file(url: str, path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args, "-f", str(path), url],
                          capture_output=True, text=True)


def dump_schema(url: str) -> str:
    return subprocess.run(["bash", str(ROOT / "tools/snapshot.sh"), "dump-url", url],
                          capture_output=True, text=True, check=True).stdout


class ScratchDB:
    """A new empty database, dropped at teardown."""

    def __init__(self) -> None:
        self.name = f"animus_scratch_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = url_for(self.name)

    def drop(self) -> None:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def scratch_db():
    db = ScratchDB()
    yield db
    db.drop()


@pytest.fixture(scope="session")
def db_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("DATABASE_URL is not set: run the tests with `make test`", returncode=2)
    return url


@pytest.fixture
def conn(db_url):
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c
