"""The ``animus`` command line, run as a subprocess: help and defaults, settings it refuses,
failures it stops on (no such queue, animus not deployed), and a ``.env`` in the working
directory as the only configuration (what ``make up`` leaves behind)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from animus.cli import build_parser

ANIMUS = Path(sys.executable).parent / "animus"      # the console script pip installed


def bare_env(**extra: str) -> dict[str, str]:
    """The environment without DATABASE_URL, ANIMUS_* or OTEL_* (nothing exported)."""
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith(("ANIMUS_", "OTEL_"))}
    env.update(extra)
    return env


def animus_cli(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(ANIMUS), *args], cwd=cwd, env=env if env is not None else bare_env(),
                          capture_output=True, text=True, timeout=timeout)


HANDLERS = textwrap.dedent('''
    def ping(item):
        return {"pong": item.params.get("n")}

    def patient(item, ctx):
        while not ctx.wait(0.05):      # until the worker says stop
            pass
        return {"stopped": ctx.stop_reason}

    HANDLERS = {"ping": ping, "patient": patient}
''')


@pytest.fixture
def project(tmp_path: Path, db_url: str) -> Path:
    """A working directory as ``make up`` leaves it: a .env naming the database, a handlers module."""
    (tmp_path / ".env").write_text(f"DATABASE_URL={db_url}\n")
    (tmp_path / "cli_handlers.py").write_text(HANDLERS)
    return tmp_path


def test_no_command_prints_the_help_and_fails():
    res = animus_cli()
    assert res.returncode == 2
    assert "usage: animus" in res.stderr and "worker" in res.stderr and "a command is required" in res.stderr


def test_worker_help_shows_every_default():
    res = animus_cli("worker", "--help")
    assert res.returncode == 0
    shown = " ".join(res.stdout.split())
    worker = build_parser()._subparsers._group_actions[0].choices["worker"]
    options = [a for a in worker._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 10
    for action in options:
        assert "(default:" in action.help, f"{action.option_strings[0]}: no default in its help"
        assert " ".join(action.help.split()) in shown
    for default in ("else 4", "else 30", "else 5", "(default: 30)", "0.25", "animus-worker", "info",
                    "ANIMUS_QUEUE, else 'work'", "10 visibility timeouts", "DATABASE_URL"):
        assert default in shown, default


@pytest.mark.parametrize("args,flag", [
    (["--concurrency", "0"], "--concurrency"),
    (["--concurrency", "-3"], "--concurrency"),
    (["--concurrency", "2.5"], "--concurrency"),
    (["--visibility-timeout", "-5"], "--visibility-timeout"),
    (["--visibility-timeout", "0"], "--visibility-timeout"),
    (["--poll-interval", "0"], "--poll-interval"),
    (["--shutdown-timeout", "-1"], "--shutdown-timeout"),
    (["--handler-timeout", "-2"], "--handler-timeout"),
    (["--notify-throttle", "nan"], "--notify-throttle"),
])
def test_bad_settings_are_refused_with_a_message(project, args, flag):
    res = animus_cli("worker", "cli_handlers:HANDLERS", "--no-telemetry", *args, cwd=project, timeout=30)
    assert res.returncode == 2, res.stderr
    assert f"argument {flag}:" in res.stderr and args[1] in res.stderr


def test_a_bad_setting_from_the_environment_is_refused(project):
    res = animus_cli("worker", "cli_handlers:HANDLERS", "--no-telemetry", cwd=project, timeout=30,
                     env=bare_env(ANIMUS_WORKER_CONCURRENCY="0"))
    assert res.returncode == 2 and "ANIMUS_WORKER_CONCURRENCY must be >= 1" in res.stderr


def test_an_unknown_queue_stops_the_worker_with_a_message(project):
    t0 = time.monotonic()
    res = animus_cli("worker", "cli_handlers:HANDLERS", "--no-telemetry", "--queue", "no_such_queue_cli",
                     cwd=project, timeout=60)
    assert res.returncode == 1 and time.monotonic() - t0 < 30
    assert "stopped" in res.stderr and "no work queue named 'no_such_queue_cli'" in res.stderr


def test_a_database_without_animus_stops_the_worker_with_a_message(project, scratch_db):
    (project / ".env").write_text(f"DATABASE_URL={scratch_db.url}\n")
    res = animus_cli("worker", "cli_handlers:HANDLERS", "--no-telemetry", cwd=project, timeout=60)
    assert res.returncode == 1
    assert "stopped" in res.stderr and 'schema "animus" does not exist' in res.stderr


def test_dotenv_alone_configures_connect_and_the_worker(project, conn):
    queue = "cli_" + uuid.uuid4().hex[:10]
    conn.execute("SELECT animus.create_queue(%s)", [queue])
    try:
        # the Python example: animus.connect() with nothing exported
        code = ("import animus; c = animus.connect(); "
                f"r = c.submit_work('ping', 'dotenv-test', params={{'n': 7}}, queue='{queue}'); "
                "print(r.status, r.work_id)")
        out = subprocess.run([sys.executable, "-c", code], cwd=project, env=bare_env(),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        status, work_id = out.stdout.split()
        assert status == "created"
        # the worker CLI, same directory, nothing exported
        proc = subprocess.Popen([str(ANIMUS), "worker", "cli_handlers:HANDLERS", "--queue", queue,
                                 "--no-telemetry", "--poll-interval", "0.5"], cwd=project, env=bare_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            end = time.monotonic() + 30
            row = None
            while time.monotonic() < end:
                row = conn.execute("SELECT state, outcome FROM animus.work_items WHERE id = %s",
                                   [work_id]).fetchone()
                if row[0] == "completed":
                    break
                time.sleep(0.1)
            assert row == ("completed", {"pong": 7})
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    finally:
        conn.execute("SELECT animus.drop_queue(%s)", [queue])


def test_sigterm_logs_a_release_not_a_cancellation(project, conn):
    queue = "cli_" + uuid.uuid4().hex[:10]
    conn.execute("SELECT animus.create_queue(%s)", [queue])
    proc = subprocess.Popen([str(ANIMUS), "worker", "cli_handlers:HANDLERS", "--queue", queue,
                             "--no-telemetry", "--poll-interval", "0.5", "--shutdown-timeout", "0.3"],
                            cwd=project, env=bare_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        work_id = conn.execute("SELECT work_id FROM animus.submit_work('patient', 'test', queue => %s)",
                               [queue]).fetchone()[0]
        end = time.monotonic() + 30
        while time.monotonic() < end and conn.execute(
                "SELECT state FROM animus.work_items WHERE id = %s", [work_id]).fetchone()[0] != "running":
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        lines = [line for line in out.splitlines() if str(work_id) in line]
        assert any("released at shutdown" in line for line in lines), out
        assert not any("cancelled" in line for line in lines), out
        state, released, outcome = conn.execute("SELECT state, released, outcome FROM animus.work_items "
                                                "WHERE id = %s", [work_id]).fetchone()
        assert (state, released, outcome) == ("queued", 1, None)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        conn.execute("SELECT animus.drop_queue(%s)", [queue])
