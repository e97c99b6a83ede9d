"""Schedules end to end: the client methods, exactly-once ticking by concurrent tickers (threads
with their own connections over driven time), a ticker killed mid-tick (its backend terminated,
or its process SIGKILLed while it holds the schedule lock with items submitted in its open
transaction), restart after downtime under both catch-up policies, the Scheduler loop and the
``animus scheduler`` command."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

import animus
from animus.scheduler import Scheduler
from animus_fixtures import client, otel, queue_name, wait_for  # noqa: F401

UTC = timezone.utc
ANIMUS = Path(sys.executable).parent / "animus"
BASE = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def periods_of(conn, name: str) -> list[datetime]:
    rows = conn.execute("SELECT (trigger_info::jsonb ->> 'period_at')::timestamptz FROM animus.work_items "
                        "WHERE source = %s ORDER BY 1", ["schedule:" + name]).fetchall()
    return [r[0] for r in rows]


def start_at_base(conn, *names: str) -> None:
    """Drive time: the schedules' first due period is BASE."""
    conn.execute("UPDATE animus.schedules SET next_run_at = %s WHERE name = ANY(%s)", [BASE, list(names)])


def test_client_methods_and_errors(client, queue_name):
    s = client.create_schedule("c_" + queue_name, "*/15 * * * *", work_type="w", queue=queue_name,
                               params={"a": 1}, timezone="europe/berlin", catchup="all")
    assert (s.name, s.queue, s.timezone, s.catchup, s.paused) == ("c_" + queue_name, queue_name, "Europe/Berlin", "all", False)
    assert s.next_run_at.minute % 15 == 0 and s.next_run_at > datetime.now(UTC) - timedelta(seconds=1)
    i = client.create_schedule("i_" + queue_name, work_type="w", queue=queue_name, every=90)
    assert i.every == timedelta(seconds=90) and i.cron is None
    runs = client.schedule_next_runs(i.name, 3)
    assert [b - a for a, b in zip(runs, runs[1:])] == [timedelta(seconds=90)] * 2
    assert client.cron_next_runs("0 12 * * *", 2, after=BASE) == [BASE + timedelta(hours=12), BASE + timedelta(hours=36)]
    assert {x.name for x in client.list_schedules(queue_name)} == {s.name, i.name}
    assert client.pause_schedule(s.name) is True
    assert client.resume_schedule(s.name) >= datetime.now(UTC) - timedelta(seconds=5)
    assert client.alter_schedule(s.name, cron="@hourly").next_run_at.minute == 0
    with pytest.raises(animus.InvalidSchedule) as e:
        client.create_schedule("bad_" + queue_name, "* * 32 * *", work_type="w", queue=queue_name)
    assert e.value.sqlstate == "ZA131" and "day-of-month" in str(e.value)
    with pytest.raises(animus.InvalidSchedule):
        client.cron_next_runs("* * * * *", timezone="Moon/Base")
    with pytest.raises(animus.ScheduleExists):
        client.create_schedule(s.name, "* * * * *", work_type="w", queue=queue_name)
    with pytest.raises(animus.QueueNotFound):
        client.create_schedule("q_" + queue_name, "* * * * *", work_type="w", queue="no_such_queue_x")
    assert client.drop_schedule(s.name) is True
    with pytest.raises(animus.ScheduleNotFound):
        client.drop_schedule(s.name)
    assert client.drop_schedule(s.name, if_exists=True) is False


def test_concurrent_tickers_submit_every_period_exactly_once(db_url, conn, queue_name):
    """8 tickers, each on its own connection, race through driven time (each with its own step
    and start offset, so they overlap and overtake each other): every period of a per-minute
    cron schedule and a 20-second interval schedule is submitted exactly once, none missing."""
    cron_name, every_name = "cc_" + queue_name, "ci_" + queue_name
    conn.execute("SELECT animus.create_schedule(%s, '* * * * *', 'w', queue => %s, catchup => 'all', max_catchup => 10000)",
                 [cron_name, queue_name])
    conn.execute("SELECT animus.create_schedule(%s, work_type => 'w', queue => %s, every => '20 seconds', "
                 "start_at => %s, catchup => 'all', max_catchup => 10000)", [every_name, queue_name, BASE])
    start_at_base(conn, cron_name, every_name)
    end = BASE + timedelta(hours=2)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    submitted: list[int] = [0] * 8

    def ticker(n: int) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                barrier.wait()
                t = BASE + timedelta(seconds=7 * n)
                while t <= end:
                    submitted[n] += len(c.execute("SELECT * FROM animus.tick_schedules(%s, max_submits => 7)", [t]).fetchall())
                    t += timedelta(seconds=13 + 5 * n)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ticker, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    # a final tick at the end instant submits whatever the last tickers left due
    final = len(conn.execute("SELECT * FROM animus.tick_schedules(%s, max_submits => 100000)", [end]).fetchall())
    expected_cron = [BASE + timedelta(minutes=k) for k in range(121)]
    expected_every = [BASE + timedelta(seconds=20 * k) for k in range(361)]
    assert periods_of(conn, cron_name) == expected_cron
    assert periods_of(conn, every_name) == expected_every
    # every submission was reported to exactly one ticker (how many the racing tickers got before
    # the final tick depends on the machine's speed: a ticker that finds a schedule locked skips it)
    assert sum(submitted) + final == len(expected_cron) + len(expected_every), (submitted, final)
    assert sum(submitted) > final, (submitted, final)
    assert sum(1 for x in submitted if x) >= 4, f"too few tickers took part: {submitted}"
    row = conn.execute("SELECT submitted_count, skipped_count FROM animus.schedules WHERE name = %s", [cron_name]).fetchone()
    assert row == (121, 0)


def test_ticker_whose_backend_dies_mid_tick_leaves_no_duplicate_and_no_gap(db_url, conn, queue_name):
    name = "kt_" + queue_name
    conn.execute("SELECT animus.create_schedule(%s, '*/5 * * * *', 'w', queue => %s, catchup => 'all')", [name, queue_name])
    start_at_base(conn, name)
    t = BASE + timedelta(minutes=30)
    victim = psycopg.connect(db_url)             # a transaction left open after the tick
    pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
    got = victim.execute("SELECT * FROM animus.tick_schedules(%s)", [t]).fetchall()
    assert len(got) == 7                         # submitted in its open transaction, lock held
    other = conn.execute("SELECT * FROM animus.tick_schedules(%s)", [t]).fetchall()
    assert [r for r in other if r[0] == name] == [], "a second ticker skips the locked schedule"
    conn.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.OperationalError):
        victim.execute("SELECT 1")
    victim.close()
    assert periods_of(conn, name) == []          # the dead tick's items are gone with it
    again = conn.execute("SELECT * FROM animus.tick_schedules(%s)", [t]).fetchall()
    assert len([r for r in again if r[0] == name]) == 7
    assert periods_of(conn, name) == [BASE + timedelta(minutes=5 * k) for k in range(7)]


def test_ticker_process_sigkilled_mid_tick(db_url, conn, queue_name, tmp_path):
    name = "sk_" + queue_name
    conn.execute("SELECT animus.create_schedule(%s, '* * * * *', 'w', queue => %s, catchup => 'all')", [name, queue_name])
    start_at_base(conn, name)
    t = BASE + timedelta(minutes=9)
    script = tmp_path / "ticker.py"
    script.write_text(textwrap.dedent("""
        import sys, time, psycopg
        c = psycopg.connect(sys.argv[1])
        rows = c.execute("SELECT * FROM animus.tick_schedules(%s)", [sys.argv[2]]).fetchall()
        print(len(rows), c.execute("SELECT pg_backend_pid()").fetchone()[0], flush=True)
        time.sleep(600)          # killed here: items submitted, transaction open, lock held
    """))
    proc = subprocess.Popen([sys.executable, str(script), db_url, t.isoformat()], stdout=subprocess.PIPE, text=True)
    try:
        n, pid = proc.stdout.readline().split()
        assert int(n) == 10
        assert conn.execute("SELECT count(*) FROM animus.tick_schedules(%s) WHERE schedule = %s", [t, name]).fetchone()[0] == 0
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the server ends the orphaned backend (its transaction rolls back): then a tick submits all
    assert wait_for(lambda: conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [int(pid)]).fetchone()[0] == 0, 20)
    assert len(conn.execute("SELECT * FROM animus.tick_schedules(%s) WHERE schedule = %s", [t, name]).fetchall()) == 10
    assert periods_of(conn, name) == [BASE + timedelta(minutes=k) for k in range(10)]


@pytest.mark.parametrize("policy", ["latest", "all"])
def test_restart_after_downtime(conn, queue_name, policy):
    """No ticker ran for 6 hours of an hourly schedule: 'latest' submits the last period and counts
    5 skipped; 'all' submits the 6 missed periods oldest first; then ticking goes on normally."""
    name = f"dt_{policy}_{queue_name}"
    conn.execute("SELECT animus.create_schedule(%s, '0 * * * *', 'w', queue => %s, catchup => %s)", [name, queue_name, policy])
    start_at_base(conn, name)
    t = BASE + timedelta(hours=5, minutes=30)
    rows = conn.execute("SELECT period_at FROM animus.tick_schedules(%s) WHERE schedule = %s", [t, name]).fetchall()
    hours = [BASE + timedelta(hours=k) for k in range(6)]
    if policy == "latest":
        assert [r[0] for r in rows] == hours[-1:]
        expected_counts = (1, 5)
    else:
        assert [r[0] for r in rows] == hours
        expected_counts = (6, 0)
    assert conn.execute("SELECT submitted_count, skipped_count, next_run_at FROM animus.schedules WHERE name = %s",
                        [name]).fetchone() == (*expected_counts, BASE + timedelta(hours=6))
    rows = conn.execute("SELECT period_at FROM animus.tick_schedules(%s) WHERE schedule = %s", [t + timedelta(hours=1), name]).fetchall()
    assert [r[0] for r in rows] == [BASE + timedelta(hours=6)]


def test_long_downtime_of_an_interval_schedule_costs_one_tick(conn, queue_name):
    """A year without a ticker for a 1-second interval schedule: one tick submits the latest period
    and counts the 31.5 million skipped ones by arithmetic."""
    name = "yr_" + queue_name
    conn.execute("SELECT animus.create_schedule(%s, work_type => 'w', queue => %s, every => '1 second', start_at => %s)",
                 [name, queue_name, BASE])
    start_at_base(conn, name)
    t = BASE + timedelta(days=365)
    t0 = time.monotonic()
    rows = conn.execute("SELECT period_at FROM animus.tick_schedules(%s) WHERE schedule = %s", [t, name]).fetchall()
    assert time.monotonic() - t0 < 2
    assert [r[0] for r in rows] == [t]
    assert conn.execute("SELECT skipped_count FROM animus.schedules WHERE name = %s", [name]).fetchone()[0] == 365 * 86400


def test_scheduler_run_submits_in_real_time_and_stops(client, conn, queue_name):
    name = "rt_" + queue_name
    client.create_schedule(name, work_type="w", queue=queue_name, every=1)
    sched = Scheduler(client, interval=5)
    th = threading.Thread(target=sched.run, kwargs={"install_signal_handlers": False}, daemon=True)
    t0 = time.monotonic()
    th.start()
    assert wait_for(lambda: len(periods_of(conn, name)) >= 3, 15)
    # it woke for each due period (1 s apart), not once per interval (5 s)
    assert time.monotonic() - t0 < 4.5
    sched.stop()
    th.join(10)
    assert not th.is_alive()
    p = periods_of(conn, name)
    assert len(p) == len(set(p)) and all(b - a == timedelta(seconds=1) for a, b in zip(p, p[1:]))


def test_cli_scheduler_submits_and_stops_on_sigterm(db_url, conn, queue_name):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANIMUS_", "OTEL_"))}
    env["DATABASE_URL"] = db_url
    once = "once_" + queue_name
    conn.execute("SELECT animus.create_schedule(%s, '* * * * *', 'w', queue => %s)", [once, queue_name])
    conn.execute("UPDATE animus.schedules SET next_run_at = date_trunc('minute', now()) - interval '5 minutes' WHERE name = %s", [once])
    out = subprocess.run([str(ANIMUS), "scheduler", "--once", "--no-telemetry"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "submitted 1 period(s)" in out.stdout and len(periods_of(conn, once)) == 1
    assert conn.execute("SELECT skipped_count FROM animus.schedules WHERE name = %s", [once]).fetchone()[0] >= 5
    name = "cli_" + queue_name
    conn.execute("SELECT animus.create_schedule(%s, work_type => 'w', queue => %s, every => '1 second')", [name, queue_name])
    proc = subprocess.Popen([str(ANIMUS), "scheduler", "--interval", "0.5", "--no-telemetry"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: len(periods_of(conn, name)) >= 2, 20)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"schedule {name}: submitted period" in err
    bad = subprocess.run([str(ANIMUS), "scheduler", "--interval", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--interval" in bad.stderr
