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


def test_make_up_writes_dotenv_once_and_never_overwrites_the_users(tmp_path, db_url):
    import devdb as dev
    env_file, record = tmp_path / ".env", tmp_path / "dotenv-written"
    assert dev.write_dotenv(env_file, db_url, record).startswith("wrote .env")
    assert f"DATABASE_URL={db_url}\n" in env_file.read_text()
    assert oct(env_file.stat().st_mode & 0o777) == "0o600", "the file holds a password"
    assert "has DATABASE_URL" in dev.write_dotenv(env_file, db_url, record), "a second make up changes nothing"
    # Ours, but stale (e.g. a new password after `make clean`): brought up to date.
    dev.write_dotenv(env_file, db_url + "?stale=1", record)
    assert dev.write_dotenv(env_file, db_url, record).startswith("wrote .env")
    # Edited by the user: never touched again.
    env_file.write_text(env_file.read_text() + "OTEL_SERVICE_NAME=my-agent\n")
    before = env_file.read_text()
    assert "left as it is" in dev.write_dotenv(env_file, db_url + "?other=1", record)
    assert env_file.read_text() == before
    # A file the user wrote from scratch is not touched either.
    env_file.write_text("SOMETHING=else\n")
    assert "left as it is" in dev.write_dotenv(env_file, db_url, record)
    assert env_file.read_text() == "SOMETHING=else\n"


def test_dotenv_is_ignored_by_git():
    res = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert res.returncode == 0, ".env holds a password and must be ignored by git"


def test_python_example_runs_with_nothing_exported_after_make_up(tmp_path, db_url):
    """README's Python example, in a directory holding the .env that make up writes, with no DATABASE_URL exported."""
    import devdb as dev
    dev.write_dotenv(tmp_path / ".env", db_url, tmp_path / "record")
    code = ("import animus, uuid\n"
            "client = animus.connect()\n"
            "key = str(uuid.uuid4())\n"
            "first = client.submit_work('engage', 'scheduler', dedup_key=key)\n"
            "again = client.submit_work('engage', 'inbox-agent', dedup_key=key)\n"
            "print(first.status, again.status, again.canonical_id == first.work_id)\n"
            "client.cancel_work(first.work_id)\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "created merged True"


def test_shared_buffers_follow_the_machine_within_bounds():
    sys.path.insert(0, str(ROOT / "tools"))
    import devdb as d
    gib = 2**30
    assert d.shared_buffers_mb(24 * gib) == 4096       # this machine: capped at 4 GB
    assert d.shared_buffers_mb(8 * gib) == 2048         # a quarter
    assert d.shared_buffers_mb(256 * 2**20) == 128      # never below 128 MB
    assert 0 < d.memory_limit() <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert d.SERVER_SETTINGS["shared_buffers"] == f"'{d.shared_buffers_mb(d.memory_limit())}MB'"
