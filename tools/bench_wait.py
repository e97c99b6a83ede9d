"""bench_wait.py: how soon a waiter wakes after complete_work commits (not part of `make test`).

    .venv/bin/python tools/bench_wait.py [--items 400] [--poll 0.5]

On a FRESH database `animus_bench_wait` of the embedded server, in one run:
  notify    client.wait over the client's LISTEN connection (notification at commit)
  polling   client.wait with the notification suppressed (the item's mark removed before the
            completion, as if it were lost): the listener's re-check every --poll seconds finds it
  sql       SELECT * FROM animus.wait_work(...) in its own session (polls 10 ms doubling to 500 ms)
Latency: from complete_work returning to the completer (its commit acknowledged) to the waiter
returning with the outcome; printed as p50 / p99 / max in milliseconds. Items are completed one at
a time, 20 ms apart, while 20 waiters wait.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tools"))

import psycopg  # noqa: E402

import animus  # noqa: E402
import devdb  # noqa: E402


def fresh_db(name: str) -> str:
    import subprocess

    subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "createdb", name, "--drop"], check=True,
                   capture_output=True)
    url = devdb.url(name)
    target = "db:pg://" + url.split("://", 1)[1]
    subprocess.run(["sqitch", "deploy", "--db-client", devdb.pgbin("psql"), target], cwd=ROOT, check=True,
                   capture_output=True)
    return url


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(mode: str, url: str, items: int, poll: float, group: int = 20) -> list[float]:
    c = animus.connect(url, pool_min_size=2, pool_max_size=4)
    c.wait_poll_interval = poll if mode == "polling" else 60.0
    admin = psycopg.connect(url, autocommit=True)
    lat: list[float] = []
    try:
        c.create_queue(f"bw_{mode}", if_not_exists=True)
        q = f"bw_{mode}"
        for _ in range(0, items, group):
            subs = [c.submit_work("t", "bench", queue=q) for _ in range(group)]
            claimed = {i.id: i for i in c.read_work(q, qty=group, vt=300)}
            woke: dict = {}

            def waiter(wid):
                if mode == "sql":
                    with psycopg.connect(url, autocommit=True) as s:
                        s.execute("SELECT state FROM animus.wait_work(%s, '60 seconds')", [wid]).fetchone()
                else:
                    c.wait(wid, timeout=60)
                woke[wid] = time.perf_counter()

            threads = [threading.Thread(target=waiter, args=(s.work_id,)) for s in subs]
            for t in threads:
                t.start()
            if mode == "sql":
                time.sleep(0.6)      # every session has polled once and backed off to its 500 ms pace
            else:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    n = admin.execute("SELECT count(*) FROM animus.work_awaited WHERE work_id = ANY (%s)",
                                      [[s.work_id for s in subs]]).fetchone()[0]
                    if n == group:
                        break
                    time.sleep(0.01)
            if mode == "polling":
                admin.execute("DELETE FROM animus.work_awaited WHERE work_id = ANY (%s)", [[s.work_id for s in subs]])
            done: dict = {}
            for s in subs:
                assert s.work_id in claimed
                c.complete_work(s.work_id, outcome=1)
                done[s.work_id] = time.perf_counter()
                time.sleep(0.02)
            for t in threads:
                t.join(60)
            lat.extend((woke[w] - done[w]) * 1000 for w in done)
    finally:
        admin.close()
        c.close()
    return lat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--poll", type=float, default=0.5, help="the listener's re-check interval in the polling run")
    args = ap.parse_args()
    url = fresh_db("animus_bench_wait")
    print(f"== waiter wake-up after complete_work commits, {args.items} items per mode (fresh database animus_bench_wait)")
    results = {}
    for mode in ("notify", "polling", "sql"):
        lat = run(mode, url, args.items, args.poll)
        results[mode] = lat
        label = {"notify": "client.wait, LISTEN/NOTIFY", "polling": f"client.wait, polling fallback only ({args.poll:g} s)",
                 "sql": "SQL wait_work (polls <= 500 ms)"}[mode]
        print(f"   {label:<44} p50 {pct(lat, 50):8.2f} ms   p99 {pct(lat, 99):8.2f} ms   max {max(lat):8.2f} ms"
              f"   (mean {statistics.fmean(lat):.2f})")
    n50 = pct(results["notify"], 50)
    print(f"   notify vs polling-only: p50 {pct(results['polling'], 50) / max(n50, 1e-3):.0f}x faster, "
          f"p99 {pct(results['polling'], 99) / max(pct(results['notify'], 99), 1e-3):.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
