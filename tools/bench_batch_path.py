"""Server cost of the batched claim + settle path, A/B in one run (`make bench-batch-path`).

    .venv/bin/python tools/bench_batch_path.py [--base @v0.7.0] [--items N] [--qty Q] [--rounds R]

Two fresh databases of the embedded server: one deployed to --base (a Sqitch tag), one to head.
Each round, per database: N keyless no-op items are submitted (submit_work_batch of 1,000; not
timed), then drained by one session with read_work(qty => Q) + complete_work(work_ids, NULL,
attempts) until empty. Timed: the wall time of the drain and the CPU (user + system) of that
session's server backend, read from /proc/<pid>/stat before and after (the server runs on this
machine), per item. Rounds alternate A B, B A, ... so that drifting load hits both alike; the
report gives per-round figures, the medians and head / base ratios. Tuples written per item
(pg_stat inserts + updates + deletes on animus.work_items and the queue table) and the HOT share of
work_items updates are printed per database.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402

import psycopg  # noqa: E402

QUEUE = "bpath"
TICK = os.sysconf("SC_CLK_TCK")


def fresh_db(name: str, to: str | None) -> str:
    with psycopg.connect(devdb.url("postgres"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    url = devdb.url(name)
    cmd = f'source "{ROOT}/tools/lib.sh"; sqitch_run "{url}" deploy' + (f" --to {to}" if to else "")
    subprocess.run(["bash", "-c", cmd], check=True, capture_output=True)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("SELECT animus.create_queue(%s)", [QUEUE])
    return url


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def fill(c, n: int) -> None:
    for done in range(0, n, 1000):
        c.execute("SELECT count(*) FROM animus.submit_work_batch("
                  "(SELECT jsonb_agg(jsonb_build_object('work_type', 'noop', 'source', 'bench')) "
                  "   FROM generate_series(1, %s)), queue => %s)", [min(1000, n - done), QUEUE])


def drain(c, qty: int) -> tuple[int, float, float]:
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    n = 0
    cpu0, t0 = backend_cpu(pid), time.perf_counter()
    while True:
        rows = c.execute("SELECT work_id, attempts FROM animus.read_work(queue => %s, vt => '60 seconds', qty => %s)",
                         [QUEUE, qty]).fetchall()
        if not rows:
            break
        c.execute("SELECT count(*) FROM animus.complete_work(work_ids => %s::uuid[], attempts => %s::int[])",
                  [[r[0] for r in rows], [r[1] for r in rows]])
        n += len(rows)
    return n, time.perf_counter() - t0, backend_cpu(pid) - cpu0


def counters(c) -> tuple[int, int, int]:
    c.execute("SELECT pg_stat_force_next_flush()")
    w = c.execute("SELECT n_tup_ins + n_tup_upd + n_tup_del, n_tup_upd, n_tup_hot_upd FROM pg_stat_all_tables "
                  "WHERE relid = 'animus.work_items'::regclass").fetchone()
    q = c.execute("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_all_tables WHERE relid = %s::regclass",
                  [f"pgmq.q_{QUEUE}"]).fetchone()
    return w[0] + q[0], w[1], w[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="@v0.7.0", help="Sqitch tag of the baseline database")
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--qty", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    dbs = {"base": fresh_db("animus_bpath_base", a.base), "head": fresh_db("animus_bpath_head", None)}
    conns = {k: psycopg.connect(u, autocommit=True) for k, u in dbs.items()}
    res: dict[str, list[tuple[float, float]]] = {"base": [], "head": []}
    writes = {}
    try:
        with open("/proc/loadavg") as f:
            print(f"load average at start: {f.read().split()[:3]}")
        for r in range(a.rounds):
            order = ["base", "head"] if r % 2 == 0 else ["head", "base"]
            for k in order:
                c = conns[k]
                fill(c, a.items)
                c.execute("VACUUM ANALYZE animus.work_items")
                before = counters(c)
                n, wall, cpu = drain(c, a.qty)
                after = counters(c)
                res[k].append((wall / n * 1e6, cpu / n * 1e6))
                writes[k] = ((after[0] - before[0]) / n, after[1] - before[1], after[2] - before[2])
                print(f"round {r + 1} {k:4}  {n} items  wall {wall / n * 1e6:6.1f} us/item  "
                      f"server cpu {cpu / n * 1e6:6.1f} us/item  ({n / wall:,.0f} items/s)", flush=True)
        with open("/proc/loadavg") as f:
            print(f"load average at end: {f.read().split()[:3]}")
        med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in res.items()}
        for k in ("base", "head"):
            w = writes[k]
            hot = w[2] / w[1] if w[1] else float("nan")
            print(f"{k:4} ({a.base if k == 'base' else 'head'}): median wall {med[k][0]:.1f} us/item, "
                  f"server cpu {med[k][1]:.1f} us/item; tuples written/item (work_items + queue) {w[0]:.2f}, "
                  f"HOT share of work_items updates {hot:.2f}")
        print(f"head / base: wall {med['head'][0] / med['base'][0]:.2f}, server cpu {med['head'][1] / med['base'][1]:.2f}")
    finally:
        for c in conns.values():
            c.close()
        if not a.keep:
            with psycopg.connect(devdb.url("postgres"), autocommit=True) as c:
                for name in ("animus_bpath_base", "animus_bpath_head"):
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
