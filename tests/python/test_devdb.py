"""The embedded server recovers from the usual local mishaps with one clear message."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

DEVDB = [sys.executable, str(ROOT / "tools/devdb.py")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_server():
    """A second, throwaway cluster in its own folder and port."""
    home = Path(tempfile.mkdtemp(prefix="animus-devdb-"))
    home.chmod(0o755)
    env = {**os.environ, "ANIMUS_PGDATA": str(home / "pg"), "ANIMUS_PG_PORT": str(free_port())}
    yield env
    subprocess.run([*DEVDB, "stop"], env=env, capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def devdb(env, *args):
    return subprocess.run([*DEVDB, *args], env=env, capture_output=True, text=True)


def test_port_in_use_gives_one_clear_message(own_server):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(own_server["ANIMUS_PG_PORT"])))
        busy.listen()
        res = devdb(own_server, "start")
    assert res.returncode == 1
    assert "already in use" in res.stderr and "ANIMUS_PG_PORT" in res.stderr
    assert "Traceback" not in res.stderr


def test_start_is_idempotent_and_recovers_from_a_stale_pid_file(own_server):
    assert devdb(own_server, "start").returncode == 0
    assert devdb(own_server, "start").returncode == 0, "a second start must reuse the running server"
    pidfile = Path(own_server["ANIMUS_PGDATA"]) / "data" / "postmaster.pid"
    pid = int(pidfile.read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)  # a crash: postmaster.pid stays behind
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower():
            break
        subprocess.run(["sleep", "0.1"])
    assert pidfile.exists()
    res = devdb(own_server, "start")
    assert res.returncode == 0, res.stderr
    assert devdb(own_server, "status").returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts the server as another user")
def test_a_private_checkout_is_made_traversable_for_the_server_user(capsys):
    """CI clones into `mktemp -d` (mode 0700): the server user must still reach the checkout."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("devdb_mod", ROOT / "tools/devdb.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    top = Path(tempfile.mkdtemp(prefix="animus-private-"))       # 0700, like mktemp -d
    try:
        inner = top / "checkout"
        inner.mkdir(mode=0o755)
        mod.allow_server_user_through(inner)
        assert top.stat().st_mode & 0o777 == 0o701                  # traverse only, not list
        assert inner.stat().st_mode & 0o777 == 0o755                # already traversable: unchanged
        assert f"{top} made traversable" in capsys.readouterr().err
    finally:
        shutil.rmtree(top, ignore_errors=True)
