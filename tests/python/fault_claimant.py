"""A worker stand-in for the fault tests, run as a real subprocess so it can be SIGKILLed.

    python fault_claimant.py URL QUEUE VT_SECONDS

Claims one item (read_work, visibility timeout VT_SECONDS), prints "claimed <work_id> <attempts>"
and then hangs -- a handler stuck forever, never heartbeating -- until a line arrives on stdin;
then it tries complete_work with the attempt of its claim (as animus.Worker does: claim fencing) and
prints "completed true|false" or "error <SQLSTATE>".
"""
from __future__ import annotations

import sys
import time

import psycopg

url, queue, vt = sys.argv[1], sys.argv[2], float(sys.argv[3])
with psycopg.connect(url, autocommit=True) as conn:
    row = None
    deadline = time.monotonic() + 30
    while row is None and time.monotonic() < deadline:
        row = conn.execute("SELECT work_id, attempts FROM animus.read_work(%s, make_interval(secs => %s), 1)",
                           [queue, vt]).fetchone()
        if row is None:
            time.sleep(0.05)
    if row is None:
        print("nothing", flush=True)
        sys.exit(1)
    print(f"claimed {row[0]} {row[1]}", flush=True)
    sys.stdin.readline()          # the hang
    try:
        done = conn.execute("SELECT animus.complete_work(work_id => %s, attempt => %s)", [row[0], row[1]]).fetchone()[0]
        print(f"completed {str(done).lower()}", flush=True)
    except psycopg.Error as exc:
        print(f"error {exc.sqlstate}", flush=True)
