"""A throwaway PostgreSQL cluster for fault injection (never the shared test server).

Its own data folder and port, started by tools/devdb.py with ANIMUS_PGDATA / ANIMUS_PG_PORT, so
killing it (``pg_ctl stop -m immediate``: no checkpoint, crash recovery at the next start) harms
nobody else. Also the knobs that scale the fault suite: ``make faults`` sets ANIMUS_FAULTS=full.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psycopg

from conftest import ROOT, sqitch

DEVDB = [sys.executable, str(ROOT / "tools/devdb.py")]
FULL = os.environ.get("ANIMUS_FAULTS", "short") == "full"


def scale(short, full):
    """The short figure inside `make test`, the full one under `make faults`."""
    return full if FULL else short


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="animus-faults-"))
        self.home.chmod(0o755)
        self.port = free_port()
        self.env = {**os.environ, "ANIMUS_PGDATA": str(self.home / "pg"), "ANIMUS_PG_PORT": str(self.port)}
        self.data = self.home / "pg" / "data"
        self.crashes = 0

    def devdb(self, *args: str) -> subprocess.CompletedProcess:
        res = subprocess.run([*DEVDB, *args], env=self.env, capture_output=True, text=True)
        if res.returncode != 0:
            raise AssertionError(f"devdb {' '.join(args)} failed: {res.stderr}")
        return res

    def start(self) -> None:
        self.devdb("start")

    def url(self, db: str = "animus") -> str:
        pw = (self.home / "pg" / "password").read_text().strip()
        return f"postgresql://postgres:{quote(pw, safe='')}@127.0.0.1:{self.port}/{db}"

    def deploy(self, db: str = "animus") -> str:
        self.devdb("createdb", db)
        sqitch(self.url(db), "deploy")
        return self.url(db)

    def crash(self) -> None:
        """Immediate shutdown: every backend is killed, nothing is flushed beyond the WAL."""
        cmd = [str(Path(self.devdb("bin", "pg_ctl").stdout.strip())), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", os.environ.get("ANIMUS_PG_USER", "animuspg"), "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)
        self.crashes += 1

    def destroy(self) -> None:
        subprocess.run([*DEVDB, "stop"], env=self.env, capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


def connect_retrying(url: str, deadline: float, **kw) -> psycopg.Connection:
    """Connect, retrying with capped exponential backoff while the server is down."""
    delay = 0.05
    while True:
        try:
            return psycopg.connect(url, autocommit=True, connect_timeout=2, **kw)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(1.0, delay * 2)
