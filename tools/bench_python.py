"""Benchmark of the Python client (run by `make bench-python` on a fresh database).

1. Per-call overhead: the wrapper (OpenTelemetry SDK installed, BatchSpanProcessor + periodic
   metric reader exporting OTLP/HTTP to a local receiver process) against the same SQL called
   with bare psycopg on one connection, interleaved call by call in the same run; p50/p95 of
   each and the ratio. Target: p50 ratio <= 1.15 for submit_work and hybrid_search.
2. Submit throughput (bare psycopg, N threads) without and with an animus Worker LISTENing on the
   wake-up channel, as a ratio (target ~1.0: wake-ups are throttled in the database).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import textwrap
import threading
import time

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

import animus
from animus.embedding import to_vector_literal
from animus.telemetry.deferred import DEFERRED

RECEIVER = textwrap.dedent("""
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200); self.end_headers()
        def log_message(self, *a): pass
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
""")


def start_receiver() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    port = proc.stdout.readline().strip()
    return proc, f"http://127.0.0.1:{port}"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def deferred_cpu_ns() -> int:
    """CPU time of the client's telemetry thread (span ends and metric records it does for the
    calls, animus.telemetry.deferred), so that work moved off the call path is still counted."""
    t = DEFERRED._thread
    return 0 if t is None else time.clock_gettime_ns(time.pthread_getcpuclockid(t.ident))


def interleave(base, wrapped, n: int, warmup: int = 200):
    """Run the two call by call, alternating which goes first; wall-clock samples and this
    thread's CPU per call of each, and the telemetry thread's CPU over the run."""
    for _ in range(warmup):
        base()
        wrapped()
    animus.telemetry.flush()
    side0 = deferred_cpu_ns()
    tb: list[int] = []
    tw: list[int] = []
    cpu_b = cpu_w = 0
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for i in range(n):
        if i & 1:
            c0 = cpu(); t0 = clock(); base(); t1 = clock(); c1 = cpu(); wrapped(); t2 = clock(); c2 = cpu()
            tb.append(t1 - t0); tw.append(t2 - t1); cpu_b += c1 - c0; cpu_w += c2 - c1
        else:
            c0 = cpu(); t0 = clock(); wrapped(); t1 = clock(); c1 = cpu(); base(); t2 = clock(); c2 = cpu()
            tw.append(t1 - t0); tb.append(t2 - t1); cpu_w += c1 - c0; cpu_b += c2 - c1
    return tb, tw, cpu_b / n / 1e3, cpu_w / n / 1e3, (deferred_cpu_ns() - side0) / n / 1e3


def compare(name: str, bare, wrapped, n: int, tuned=None) -> tuple[float, float]:
    """The wrapper against ``bare``, the target's baseline: the same SQL the idiomatic psycopg
    way (``conn.execute`` with named parameters, dict rows). Reports wall-clock p50/p95, this
    thread's CPU per call (the client-side cost, which contention from other processes on the
    machine does not blur) and the CPU the telemetry thread spent for the wrapped calls.

    Then, if given, against ``tuned``: the same SQL the fastest way we know with bare psycopg
    (one reused cursor, positional parameters, tuple rows, as the wrapper itself does), in a
    second interleaved run; its ratio shows what the wrapper and the SDK cost on their own."""
    tb, tw, cpu_b, cpu_w, side = interleave(bare, wrapped, n)
    b50, w50 = statistics.median(tb) / 1e3, statistics.median(tw) / 1e3
    ratio = w50 / b50
    print(f"{name}\n  wall  bare p50 {b50:8.1f} µs p95 {pct(tb, 0.95) / 1e3:8.1f} µs | animus p50 {w50:8.1f} µs "
          f"p95 {pct(tw, 0.95) / 1e3:8.1f} µs | p50 ratio {ratio:5.3f} (+{w50 - b50:.1f} µs) "
          f"{'OK' if ratio <= 1.15 else 'ABOVE TARGET'} (target <= 1.15)"
          f"\n  client CPU per call  bare {cpu_b:7.1f} µs | animus {cpu_w:7.1f} µs | "
          f"{cpu_w - cpu_b:+.1f} µs (span, metrics, pool, mapping)"
          f"\n  plus on the telemetry thread, off the call path: {side:.1f} µs CPU per call"
          " (span end and result attributes, histogram records)")
    if tuned is not None:
        tt, tw2, cpu_t, cpu_w2, _ = interleave(tuned, wrapped, n)
        t50, w50b = statistics.median(tt) / 1e3, statistics.median(tw2) / 1e3
        print(f"  against tuned bare psycopg (one cursor, positional, tuple rows), a second run: p50 "
              f"{t50:8.1f} µs vs animus {w50b:8.1f} µs, ratio {w50b / t50:5.3f}; client CPU {cpu_t:6.1f} vs "
              f"{cpu_w2:6.1f} µs (informational: the wrapper's and the SDK's own cost)")
    return b50, w50


def throughput(dsn: str, queue: str, threads: int, seconds: float) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def run(i: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as c:
            n = 0
            while time.monotonic() < stop:
                c.execute("SELECT * FROM animus.submit_work(work_type => %s, source => %s, queue => %s)",
                          ["bench", "bench", queue])
                n += 1
            counts[i] = n

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


TRACE_CONTEXT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def bench_submit(client, bare, tuned, calls: int) -> None:
    client.create_queue("bench", if_not_exists=True)
    # The bare call sends what the wrapper sends, trace context included: the same SQL.
    compare("submit_work",
            lambda: bare.execute("SELECT * FROM animus.submit_work(work_type => %(work_type)s, "
                                 "source => %(source)s, params => %(params)s, queue => %(queue)s, "
                                 "trace_context => %(trace_context)s)",
                                 {"work_type": "bench", "source": "bench", "params": Jsonb({"n": 1}),
                                  "queue": "bench", "trace_context": Jsonb(TRACE_CONTEXT)}).fetchone(),
            lambda: client.submit_work("bench", "bench", params={"n": 1}, queue="bench"),
            calls,
            tuned=lambda: tuned.execute("SELECT * FROM animus.submit_work(work_type => %s, source => %s, "
                                        "params => %s, queue => %s, trace_context => %s)",
                                        ["bench", "bench", Jsonb({"n": 1}), "bench",
                                         Jsonb(TRACE_CONTEXT)]).fetchall())


def bench_hybrid(client, bare, tuned, memories: int, calls: int) -> None:
    dim = bare.execute("SELECT embedding_dim FROM animus.memory_settings").fetchone()["embedding_dim"]
    rnd = random.Random(7)
    words = ("agent memory queue worker postgres vector search hybrid keyword rank fusion trace span "
             "kelly cafe tea morning meeting email calendar").split()
    items = [{"content": " ".join(rnd.choices(words, k=12)) + f" #{i}",
              "embedding": [rnd.gauss(0, 1) for _ in range(dim)], "memory_type": "bench"}
             for i in range(memories)]
    for i in range(0, len(items), 250):
        client.store_memories(items[i:i + 250], namespace="bench")
    qv = [rnd.gauss(0, 1) for _ in range(dim)]
    # Both sides start from the same Python list of floats and send pgvector's text form.
    compare(f"hybrid_search (k=10, {memories} memories, {dim}-d)",
            lambda: bare.execute("SELECT * FROM animus.hybrid_search(query_text => %(q)s, "
                                 "query_embedding => %(e)s::vector, k => %(k)s)",
                                 {"q": "vector search agent", "e": to_vector_literal(qv), "k": 10}).fetchall(),
            lambda: client.hybrid_search("vector search agent", qv, k=10),
            calls,
            tuned=lambda: tuned.execute("SELECT * FROM animus.hybrid_search(query_text => %s, "
                                        "query_embedding => %s::vector, k => %s)",
                                        ["vector search agent", to_vector_literal(qv), 10]).fetchall())


def bench_throughput(client, dsn: str, threads: int, seconds: float, rounds: int = 4) -> None:
    client.create_queue("bench", if_not_exists=True)
    client.create_queue("bench_idle", if_not_exists=True)
    per = seconds / rounds
    print(f"\n== submit throughput, {threads} threads, {rounds} alternating rounds of {per:g} s "
          "without / with a worker (bare psycopg)")
    env = dict(os.environ, DATABASE_URL=dsn)
    without: list[float] = []
    with_worker: list[float] = []
    wakeups: list[tuple[int, int]] = []
    def with_a_worker() -> float:
        # A real `animus worker` LISTENing on the wake-up channel; it consumes another (empty)
        # queue so that the CPU its handlers would burn is not what is measured.
        worker = subprocess.Popen([sys.executable, "-m", "animus.cli", "worker", "bench_python:HANDLERS",
                                   "--queue", "bench_idle", "--no-telemetry", "--log-level", "warning"],
                                  env=env, cwd=os.path.dirname(os.path.abspath(__file__)))
        time.sleep(1.5)
        counter = psycopg.connect(dsn, autocommit=True)
        counter.execute('LISTEN "animus_work"')
        try:
            rate = throughput(dsn, "bench", threads, per)
            wakeups.append((sum(1 for n in counter.notifies(timeout=0.2) if n.payload == "bench"),
                            round(rate * per)))
            return rate
        finally:
            counter.close()
            worker.terminate()
            worker.wait(timeout=30)

    for i in range(rounds):   # alternate the order so a drift in the machine's load cancels out
        if i % 2 == 0:
            without.append(throughput(dsn, "bench", threads, per))
            with_worker.append(with_a_worker())
        else:
            with_worker.append(with_a_worker())
            without.append(throughput(dsn, "bench", threads, per))
    a, b = statistics.mean(without), statistics.mean(with_worker)
    print(f"without a worker {a:8.0f} submits/s {[round(x) for x in without]} | with a worker listening "
          f"{b:8.0f} submits/s {[round(x) for x in with_worker]} | ratio {b / a:5.3f} (target ~1.0)")
    n_wake, n_sub = sum(w for w, _ in wakeups), sum(s for _, s in wakeups)
    print(f"wake-up NOTIFYs seen by a listener during the 'with' rounds: {n_wake} for {n_sub} submits "
          f"({rounds * per:g} s; the queue's throttle allows one per 250 ms, i.e. at most "
          f"{int(rounds * per / 0.25) + rounds})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--memories", type=int, default=2000)
    ap.add_argument("--throughput-seconds", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--only", choices=["submit", "hybrid", "throughput"], action="append",
                    help="run only these parts (repeatable); default all")
    args = ap.parse_args()
    dsn = os.environ["DATABASE_URL"]

    receiver, endpoint = start_receiver()
    os.environ.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_METRIC_EXPORT_INTERVAL="5000")
    handle = animus.telemetry.init(service_name="animus-bench")
    assert handle.enabled, handle.reason
    print(f"OpenTelemetry SDK on: BatchSpanProcessor + OTLP/HTTP to {endpoint} (receiver process)")
    client = animus.connect(dsn, pool_min_size=1, pool_max_size=2)
    bare = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    tuned = psycopg.connect(dsn, autocommit=True).cursor()
    try:
        parts = set(args.only or ["submit", "hybrid", "throughput"])
        print("\n== per-call latency, interleaved call by call")
        if "submit" in parts:
            bench_submit(client, bare, tuned, args.calls)
        if "hybrid" in parts:
            bench_hybrid(client, bare, tuned, args.memories, max(500, args.calls // 3))
        if "throughput" in parts:
            bench_throughput(client, dsn, args.threads, args.throughput_seconds)
    finally:
        client.close()
        bare.close()
        tuned.connection.close()
        handle.shutdown()
        receiver.terminate()
    return 0


HANDLERS = {"bench": lambda item: None}

if __name__ == "__main__":
    sys.exit(main())
