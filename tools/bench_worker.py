"""Worker throughput against Graphile Worker (`make bench-worker`), measured in the same run.

On a fresh database of the embedded server (default ``animus_bench_worker``, dropped at the end),
for each concurrency (default 8 and 32):

- **animus**: ITEMS no-op items are submitted (``submit_work_batch``) while no worker runs, then the
  public CLI ``animus worker bench_worker:HANDLERS --queue bench --concurrency C --no-telemetry``
  runs until every item is resolved (polled from the database) and gets SIGTERM. The no-op
  handler is a coroutine (a task on the worker's event loop; Graphile's tasks are async functions).
- **animus, batching on**: the same with ``bench_worker:BATCH_HANDLERS --batch --batch-size B``
  at ``--batch-concurrency`` (default 2000, B = 500): a batch handler gets up to B items per call
  and the worker keeps two claims of up to 1000 items in flight (``--claim-pipeline``: the database
  claims the next batch while the worker unpacks, runs and settles the last) and settles up to
  1000 items per round trip (issue 14's floor: 15,000/s). ``--batch-only`` runs only these.
- **Graphile Worker** (npm ``graphile-worker``, pinned in tools/bench_worker/package.json and
  installed there with ``npm ci`` on first use) in its own schema of the same database: the same
  number of no-op jobs added in bulk (``addJobs``), a worker with the library's defaults except
  the same concurrency, until every job has completed (tools/bench_worker/run_graphile.js).

Both are timed from the first claim to the last completion written to the database (animus: the
items' ``started_at`` / ``resolved_at``; Graphile: its ``job:start`` / ``job:complete`` events),
so process start-up, imports and the pre-fill are not counted. The two systems alternate (A B,
then B A, ...) for ROUNDS rounds and the table reports medians, so a drift in the load of a shared
machine hits both alike. At the first concurrency, animus also runs with telemetry on (the
OpenTelemetry SDK exporting OTLP/HTTP to a local receiver process) in the same rounds; the ratio
of its per-item time to the run without telemetry is the telemetry overhead.

Beside the throughput, the CPU per item over the same span: of the worker process (all threads;
animus from /proc while it drains, Graphile from node's process.cpuUsage) and of the server
backends of the benchmark database (sampled from /proc every 100 ms, the drain poller's left out).
CPU time is far less blurred than items/s by other load on a shared machine.

    python tools/bench_worker.py [--items 20000] [--concurrency 8 32] [--rounds 3] [--no-telemetry]
                                 [--batch-concurrency 2000] [--batch-size 500] [--claim-pipeline 2]
                                 [--batch-only] [--profile FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))
import devdb  # noqa: E402

NODE_DIR = TOOLS / "bench_worker"   # the npm project of the Graphile side (package.json, run_graphile.js)
QUEUE = "bench"
POLLER = "animus_bench_poller"   # application_name of the drain poller, left out of the server CPU
WORK_TYPE = "noop"


async def noop(item) -> None:
    """A no-op coroutine handler: a task on the worker's event loop (Graphile's tasks are async
    functions too)."""
    return None


def noop_sync(item) -> None:
    return None


# What the animus worker CLI loads: `animus worker bench_worker:HANDLERS`, run in tools/ (this
# module; the bench_worker/ folder next to it is the npm project, not a Python package).
HANDLERS = {WORK_TYPE: noop}
SYNC_HANDLERS = {WORK_TYPE: noop_sync}   # the same no-op as a plain function (a thread per slot)


async def noop_batch(items) -> None:
    """A no-op batch handler (``--batch``): None completes every item of the batch."""
    return None


BATCH_HANDLERS = {WORK_TYPE: noop_batch}


# ------------------------------------------------------------------ database
def fresh_database(name: str) -> str:
    """Create database ``name`` (dropped first) on the embedded server and deploy animus."""
    devdb.createdb(name, drop=True)
    url = devdb.url(name)
    env = {**os.environ, "SQITCH_FULLNAME": os.environ.get("SQITCH_FULLNAME", "animus"),
           "SQITCH_EMAIL": os.environ.get("SQITCH_EMAIL", "dev@animus.invalid")}
    res = subprocess.run(["sqitch", "deploy", "--db-client", devdb.pgbin("psql"),
                          "db:pg://" + url.split("://", 1)[1]],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"bench_worker: sqitch deploy failed:\n{res.stdout}\n{res.stderr}")
    return url


def settle(url: str) -> None:
    """Before each run: remove what the previous runs left (animus: resolved items and archived
    messages; Graphile deletes its jobs as they complete) and vacuum, so that no run pays for
    another's dead rows."""
    with psycopg.connect(url, autocommit=True) as c:
        # purge_work deletes at most batch_size items per call: again until nothing is left
        while c.execute("SELECT items_deleted + archived_messages_deleted FROM animus.purge_work("
                        "older_than => '0', queue => %s, batch_size => 100000)", [QUEUE]).fetchone()[0]:
            pass
        c.execute(f"VACUUM ANALYZE animus.work_items, animus.queues, pgmq.q_{QUEUE}, pgmq.a_{QUEUE}")
        if c.execute("SELECT to_regclass('graphile_worker._private_jobs')").fetchone()[0]:
            c.execute("VACUUM ANALYZE graphile_worker._private_jobs, graphile_worker._private_tasks, "
                      "graphile_worker._private_job_queues")


# ------------------------------------------------------------------ animus
def animus_cli() -> list[str]:
    script = Path(sys.executable).with_name("animus")
    return [str(script)] if script.exists() else [sys.executable, "-m", "animus.cli"]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """CPU used by the server backends of the benchmark database (every client connection but the
    sampler's own and the drain poller's), sampled every 100 ms in a thread while a run lasts;
    :meth:`between` interpolates the CPU spent between two epoch times."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[float, float]] = []
        self._per_pid: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-server-cpu", daemon=True)

    def start(self) -> "ServerCpu":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "ServerCpu":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as c:
            while True:
                pids = [r[0] for r in c.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                    "AND application_name IS DISTINCT FROM %s", [POLLER]).fetchall()]
                for pid in pids:
                    try:
                        self._per_pid[pid] = process_cpu(pid)
                    except (OSError, IndexError, ValueError):   # ended meanwhile: its last value stays
                        pass
                self.samples.append((time.time(), sum(self._per_pid.values())))
                if self._stop.wait(0.1):
                    return

    def at(self, t: float) -> float:
        s = self.samples
        for (t0, c0), (t1, c1) in zip(s, s[1:]):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1
        return s[0][1] if t < s[0][0] else s[-1][1]

    def between(self, first: float, last: float) -> float:
        return self.at(last) - self.at(first)


def prefill(url: str, items: int) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        for done in range(0, items, 5000):
            c.execute("SELECT count(*) FROM animus.submit_work_batch("
                      "(SELECT jsonb_agg(jsonb_build_object('work_type', %s::text, 'source', 'bench_worker')) "
                      "   FROM generate_series(1, %s)), queue => %s)",
                      [WORK_TYPE, min(5000, items - done), QUEUE])
        queued = c.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s AND state = 'queued'",
                           [QUEUE]).fetchone()[0]
    if queued != items:
        raise SystemExit(f"bench_worker: pre-filled {queued} animus items, expected {items}")


def run_animus(url: str, items: int, concurrency: int, *, telemetry_env: dict[str, str] | None = None,
               profile: Path | None = None, handlers: str = "HANDLERS", extra: tuple[str, ...] = ()) -> dict:
    """Pre-fill, run the worker CLI until the queue is drained, SIGTERM it; the processing time
    from the first claim to the last resolution, from the database's timestamps."""
    settle(url)
    prefill(url, items)
    cmd = [*animus_cli(), "worker", f"bench_worker:{handlers}", "--queue", QUEUE, "--concurrency", str(concurrency),
           "--dsn", url, "--log-level", "warning", *extra]
    env = dict(os.environ, DATABASE_URL=url)
    if telemetry_env is None:
        cmd.append("--no-telemetry")
    else:
        env.update(telemetry_env)
    worker = subprocess.Popen(cmd, cwd=TOOLS, env=env)
    spy = None
    if profile is not None:   # py-spy attached to the worker for the run (see --profile)
        spy = subprocess.Popen(["py-spy", "record", "--pid", str(worker.pid), "--threads",
                                "--format", "raw", "--rate", "200", "--output", str(profile), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    limit = time.monotonic() + 60 + items / 20   # far beyond any plausible run: a stuck worker fails
    cpu_from = None
    server = ServerCpu(url).start()
    try:
        with psycopg.connect(url, autocommit=True, application_name=POLLER) as c:
            while True:
                if worker.poll() is not None:
                    raise SystemExit(f"bench_worker: the animus worker exited with {worker.returncode}")
                left = c.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = %s "
                                 "AND resolved_at IS NULL", [QUEUE]).fetchone()[0]
                cpu = process_cpu(worker.pid)
                if cpu_from is None and left < items:
                    cpu_from = (cpu, left)       # processing has begun: start counting the CPU
                if left == 0:
                    break
                if time.monotonic() > limit:
                    raise SystemExit(f"bench_worker: the animus worker left {left} items unresolved")
                time.sleep(0.2)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if spy is not None:
            spy.wait(timeout=60)
        server.stop()
    with psycopg.connect(url, autocommit=True) as c:
        completed, other, first, last = c.execute(
            "SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state <> 'completed'), "
            "       extract(epoch FROM min(started_at)), extract(epoch FROM max(resolved_at)) "
            "  FROM animus.work_items WHERE queue_name = %s", [QUEUE]).fetchone()
    if completed != items or other:
        raise SystemExit(f"bench_worker: animus completed {completed} of {items} items ({other} in other states)")
    seconds = float(last - first)
    cpu_us = (cpu - cpu_from[0]) / cpu_from[1] * 1e6 if cpu_from and cpu_from[1] else float("nan")
    return {"system": "animus", "items": items, "concurrency": concurrency, "seconds": seconds,
            "items_per_s": items / seconds, "cpu_us_per_item": cpu_us,
            "server_cpu_us_per_item": server.between(float(first), float(last)) / items * 1e6}


# ------------------------------------------------------------------ Graphile Worker
def npm_install() -> None:
    """``npm ci`` into tools/bench_worker/node_modules (git-ignored) when it is missing or older
    than the lock file."""
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("installing Graphile Worker: npm ci in tools/bench_worker", flush=True)
    res = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel", "error"], cwd=NODE_DIR,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"bench_worker: npm ci failed in {NODE_DIR}:\n{res.stdout}\n{res.stderr}")


def run_graphile(url: str, items: int, concurrency: int) -> dict:
    settle(url)
    with ServerCpu(url) as server:
        res = subprocess.run(["node", "run_graphile.js", "--items", str(items), "--concurrency", str(concurrency)],
                             cwd=NODE_DIR, env=dict(os.environ, DATABASE_URL=url), capture_output=True, text=True,
                             timeout=120 + items / 20)
    warnings = sorted(set(ln for ln in res.stderr.splitlines() if ln.startswith("graphile-worker")))
    if res.returncode != 0:
        raise SystemExit(f"bench_worker: run_graphile.js failed ({res.returncode}):\n{res.stderr}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if out["completed"] != items or out["errors"] or out["left"]:
        raise SystemExit(f"bench_worker: Graphile Worker did not complete every job: {out}")
    out["warnings"] = warnings
    out["server_cpu_us_per_item"] = server.between(out["first_start"], out["last_complete"]) / items * 1e6
    return out


# ------------------------------------------------------------------ telemetry receiver
def start_receiver() -> tuple[subprocess.Popen, dict[str, str]]:
    """A local OTLP/HTTP sink (accepts and drops; bench_python's): the worker's SDK exports for real."""
    from bench_python import start_receiver as start_otlp_sink
    proc, endpoint = start_otlp_sink()
    return proc, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_METRIC_EXPORT_INTERVAL": "5000"}


# ------------------------------------------------------------------ main
def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def fmt(rates: list[float]) -> str:
    return f"{statistics.median(rates):8.0f} [{' '.join(f'{r:.0f}' for r in rates)}]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=20000, help="no-op items (and Graphile jobs) per run")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per concurrency (median)")
    ap.add_argument("--batch-concurrency", type=int, default=2000,
                    help="concurrency of the batching-on run (0: skip it)")
    ap.add_argument("--batch-size", type=int, default=500, help="items per batch handler call")
    ap.add_argument("--claim-pipeline", type=int, nargs="+", default=[2],
                    help="read_work calls in flight in the batching-on runs (several: alternating "
                         "runs of each, one line each)")
    ap.add_argument("--no-telemetry", dest="telemetry", action="store_false",
                    help="skip the animus runs with telemetry on")
    ap.add_argument("--db", default="animus_bench_worker", help="database to create (dropped first and at the end)")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--batch-only", action="store_true",
                    help="only the batching-on runs (no Graphile, no concurrency 8/32 runs): a short check "
                         "while developing the batch path")
    ap.add_argument("--profile", type=Path, default=None,
                    help="also run the animus worker once more at the first concurrency under py-spy "
                         "(must be on PATH) and write its on-CPU stacks here (collapsed, one per line)")
    args = ap.parse_args(argv)

    npm_install()
    print(f"== fresh database {args.db}", flush=True)
    url = fresh_database(args.db)
    receiver = None
    try:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("SELECT animus.create_queue(queue => %s)", [QUEUE])
            server = c.execute("SHOW server_version").fetchone()[0]
        telemetry_env = None
        if args.telemetry and not args.batch_only:
            receiver, telemetry_env = start_receiver()

        systems = {"animus": lambda c: run_animus(url, args.items, c),
                   "graphile": lambda c: run_graphile(url, args.items, c)}
        results: dict[int, dict[str, list[dict]]] = {}
        warnings: set[str] = set()
        load_start = os.getloadavg()
        for i, conc in enumerate([] if args.batch_only else args.concurrency):
            order = ["animus", "graphile"]
            if telemetry_env is not None and i == 0:
                order.append("animus_telemetry")
                systems["animus_telemetry"] = lambda c: run_animus(url, args.items, c, telemetry_env=telemetry_env)
            results[conc] = {name: [] for name in order}
            for r in range(args.rounds):
                for name in (order if r % 2 == 0 else order[::-1]):   # A B, then B A: drift cancels out
                    res = systems[name](conc)
                    warnings.update(res.get("warnings", []))
                    results[conc][name].append(res)
                    print(f"   concurrency {conc:3d} round {r + 1}: {name:17s} {res['items_per_s']:8.0f} items/s "
                          f"({res['seconds']:.2f} s)", flush=True)
        batched: dict[int, list[dict]] = {p: [] for p in args.claim_pipeline}
        if args.batch_concurrency:
            for r in range(args.rounds):
                for p in (args.claim_pipeline if r % 2 == 0 else args.claim_pipeline[::-1]):
                    res = run_animus(url, args.items, args.batch_concurrency, handlers="BATCH_HANDLERS",
                                     extra=("--batch", "--batch-size", str(args.batch_size),
                                            "--claim-pipeline", str(p)))
                    batched[p].append(res)
                    print(f"   batching on, concurrency {args.batch_concurrency}, claim pipeline {p}, round {r + 1}: "
                          f"{res['items_per_s']:8.0f} items/s ({res['seconds']:.2f} s; CPU per item worker "
                          f"{res['cpu_us_per_item']:.0f} µs, server {res['server_cpu_us_per_item']:.0f} µs; "
                          f"load {os.getloadavg()[0]:.2f})", flush=True)
        if args.profile is not None:
            if args.batch_only:
                run_animus(url, args.items, args.batch_concurrency, profile=args.profile, handlers="BATCH_HANDLERS",
                           extra=("--batch", "--batch-size", str(args.batch_size)))
            else:
                run_animus(url, args.items, args.concurrency[0], profile=args.profile)
            print(f"   py-spy profile of the animus worker: {args.profile}")

        print()
        med = lambda runs, key: statistics.median(x[key] for x in runs)  # noqa: E731
        if results:
            print(f"| {'concurrency':>11} | {'animus items/s [runs]':>30} | {'Graphile items/s [runs]':>30} | "
                  f"{'ratio':>5} |")
            print(f"|{'-' * 12}:|{'-' * 31}:|{'-' * 31}:|{'-' * 6}:|")
            for conc, by in results.items():
                a = [x["items_per_s"] for x in by["animus"]]
                g = [x["items_per_s"] for x in by["graphile"]]
                print(f"| {conc:>11} | {fmt(a):>30} | {fmt(g):>30} | "
                      f"{statistics.median(a) / statistics.median(g):5.2f} |")
            print(f"\nCPU µs per item (medians)\n| {'concurrency':>11} | {'worker: animus':>14} | {'Graphile':>8} | "
                  f"{'ratio':>5} | {'server: animus':>14} | {'Graphile':>8} | {'ratio':>5} |")
            print(f"|{'-' * 12}:|{'-' * 15}:|{'-' * 9}:|{'-' * 6}:|{'-' * 15}:|{'-' * 9}:|{'-' * 6}:|")
            for conc, by in results.items():
                wa, wg = med(by["animus"], "cpu_us_per_item"), med(by["graphile"], "cpu_us_per_item")
                sa, sg = med(by["animus"], "server_cpu_us_per_item"), med(by["graphile"], "server_cpu_us_per_item")
                print(f"| {conc:>11} | {wa:14.0f} | {wg:8.0f} | {ratio(wa, wg):5.2f} | {sa:14.0f} | {sg:8.0f} | {ratio(sa, sg):5.2f} |")
            for conc, by in results.items():
                if "animus_telemetry" in by:
                    a = statistics.median(x["items_per_s"] for x in by["animus"])
                    t = [x["items_per_s"] for x in by["animus_telemetry"]]
                    ca = statistics.median(x["cpu_us_per_item"] for x in by["animus"])
                    ct = statistics.median(x["cpu_us_per_item"] for x in by["animus_telemetry"])
                    print(f"\nanimus with telemetry on (SDK, OTLP/HTTP to a local receiver), concurrency {conc}: "
                          f"{fmt(t).strip()} items/s; per-item time telemetry on / off: {a / statistics.median(t):.2f}; "
                          f"worker CPU per item {ct:.0f} / {ca:.0f} µs = {ratio(ct, ca):.2f}")  # nan when too short to sample
        for p, runs in batched.items():
            if not runs:
                continue
            rates = [x["items_per_s"] for x in runs]
            print(f"\nanimus batching on (batch handlers of up to {args.batch_size} items, concurrency "
                  f"{args.batch_concurrency}, {p} claim(s) of up to {-(-args.batch_concurrency // p)} items in "
                  f"flight, settles of up to 1000 per round trip): "
                  f"{fmt(rates).strip()} items/s (floor 15000: {statistics.median(rates) / 15000:.2f}x); "
                  f"CPU per item: worker {med(runs, 'cpu_us_per_item'):.0f} µs, server "
                  f"{med(runs, 'server_cpu_us_per_item'):.0f} µs")
        if results:
            gv = next(iter(next(iter(results.values()))["graphile"]))["version"]
            print(f"\nratio = animus / Graphile Worker {gv} (library defaults, same concurrency), medians of "
                  f"{args.rounds} alternating rounds; target >= 1.5 (issue 14). {args.items} no-op items per run, "
                  f"timed from first claim to last completion. CPU: user + system over the same span, per item (lower "
                  f"is better), of the worker process (every thread) and of the server backends it and its pool use. "
                  f"Server {server}; {os.cpu_count()} cores; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
        print(f"load average at the start {' '.join(f'{x:.2f}' for x in load_start)}, at the end "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min; {os.cpu_count()} cores)")
        for w in sorted(warnings):
            print(w)
    finally:
        if receiver is not None:
            receiver.terminate()
        if not args.keep_db:
            devdb.dropdb(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
