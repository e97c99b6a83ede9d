#!/usr/bin/env python3
"""What the dashboard costs the database: queries per page view and page latency at 100 queues.

A fresh database (animus_bench_dash) with --queues queues (default 100), each holding --queued
queued items, --done completed items and --dead dead items (default 20 / 20 / 2). The dashboard
runs in this process (animus.dashboard, port 0); each page is fetched --n times over HTTP by one
logged-in session. Printed per page: database calls per view (the X-Animus-Queries header), p50
and p95 of the page, and the baseline measured in the same run: the same SQL calls made directly
with psycopg (no HTTP, no rendering), as a ratio.

    make bench-dashboard [BENCH_ARGS="--queues 100 --n 50"]
"""
from __future__ import annotations

import argparse
import http.cookiejar
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queues", type=int, default=100)
    ap.add_argument("--queued", type=int, default=20)
    ap.add_argument("--done", type=int, default=20)
    ap.add_argument("--dead", type=int, default=2)
    ap.add_argument("--n", type=int, default=50)
    args = ap.parse_args()

    import subprocess

    name = "animus_bench_dash"
    subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "createdb", name, "--drop"], check=True,
                   stdout=subprocess.DEVNULL)
    url = devdb.url(name) if hasattr(devdb, "url") else subprocess.run(
        [sys.executable, str(ROOT / "tools/devdb.py"), "url", name], capture_output=True, text=True, check=True).stdout.strip()
    psql = devdb.pgbin("psql")
    subprocess.run(["sqitch", "deploy", "--db-client", psql, "db:pg://" + url.split("://", 1)[1]], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(args.queues):
            q = f"bq_{i:03d}"
            conn.execute("SELECT animus.create_queue(%s)", [q])
            n = args.queued + args.done + args.dead
            conn.execute("SELECT count(*) FROM animus.submit_work_batch(%s::jsonb, queue => %s)",
                         [psycopg.types.json.Jsonb([{"work_type": "done" if k < args.done else ("dead" if k < args.done + args.dead else "t"),
                                                     "source": "bench", "max_attempts": 1} for k in range(n)]), q])
            conn.execute("SELECT count(*) FROM animus.read_work(%s, qty => %s, work_types => ARRAY['done']) r,"
                         " animus.complete_work(r.work_id)", [q, args.done])
            conn.execute("SELECT count(*) FROM animus.read_work(%s, qty => %s, work_types => ARRAY['dead']) r,"
                         " animus.fail_work(r.work_id, 'bench error', retryable => false)", [q, args.dead])
        dead_id = conn.execute("SELECT id FROM animus.work_items WHERE state = 'dead' LIMIT 1").fetchone()[0]
        conn.execute("VACUUM ANALYZE animus.work_items")
    print(f"setup: {args.queues} queues x ({args.queued} queued, {args.done} completed, {args.dead} dead) "
          f"in {time.perf_counter() - t0:.1f}s")

    from animus.dashboard import Dashboard, make_server

    d = Dashboard(url)
    server = make_server(d, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    parts = urlsplit(url)
    op.open(base + "/login", data=urllib.parse.urlencode({"role": parts.username, "password": parts.password}).encode()).read()

    # the SQL each page runs, made directly: the baseline
    baseline = {
        "/": ["SELECT * FROM animus.health()", "SELECT * FROM animus.queue_depth_history(since => '1 hour', buckets => 60)"],
        "/dead": ["SELECT * FROM animus.list_dead_work(page_size => 100)"],
        f"/work/{dead_id}": [f"SELECT * FROM animus.get_work('{dead_id}')", f"SELECT * FROM animus.get_work_steps('{dead_id}')"],
        "/memory": ["SELECT * FROM animus.memory_namespace_stats()"],
    }
    print(f"{'page':<48} {'db calls':>8} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'ratio':>6}")
    with psycopg.connect(url, autocommit=True) as conn:
        for page, sqls in baseline.items():
            times, calls = [], set()
            for _ in range(3):
                op.open(base + page).read()          # warm-up
            for _ in range(args.n):
                t = time.perf_counter()
                r = op.open(base + page)
                r.read()
                times.append((time.perf_counter() - t) * 1000)
                calls.add(int(r.headers["X-Animus-Queries"]))
            bt = []
            for _ in range(args.n):
                t = time.perf_counter()
                for s in sqls:
                    conn.execute(s).fetchall()
                bt.append((time.perf_counter() - t) * 1000)
            p50, b50 = statistics.median(times), statistics.median(bt)
            label = page if not page.startswith("/work/") else "/work/<id>"
            print(f"{label:<48} {'/'.join(map(str, sorted(calls))):>8} {p50:8.1f} {pct(times, 95):8.1f} {b50:8.1f} {p50 / b50:6.2f}")
    server.shutdown()
    d.close()
    subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "dropdb", name], check=False, stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
