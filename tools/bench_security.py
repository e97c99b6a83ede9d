#!/usr/bin/env python3
"""bench_security.py (`make bench-security`): what tenant scoping costs the memory searches.

On a FRESH database `animus_bench_security` (never the dev data): N memories in namespace B and
N/10 in namespace A (random 384-d vectors, short texts), then the same queries three ways, each
in alternating rounds so that load from other processes hits all alike:
  baseline   the owner (not confined by RLS) with the filter {"namespace": "A"};
  rls        a reader granted only A, no filter: its read scope alone does the scoping (the
             searches run as the owner and fold the scope into the filter; RLS beneath);
  rls+filter the same reader with the filter as well.
Prints median latency per search kind and the ratio rls / baseline.
Env: BENCH_MEMORIES (default 10000), BENCH_QUERIES (default 30), BENCH_ROUNDS (default 3).
"""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("BENCH_MEMORIES", "10000"))
Q = int(os.environ.get("BENCH_QUERIES", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DIM = 384
DB = "animus_bench_security"
WORDS = ("apple orchard invoice meeting kelly email budget travel doctor garden piano river contract "
         "deadline weather coffee train bicycle museum recipe").split()


def devdb(*args: str) -> str:
    return subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    devdb("createdb", DB, "--drop")
    url = devdb("url", DB)
    env = {**os.environ, "SQITCH_FULLNAME": "bench", "SQITCH_EMAIL": "bench@animus.invalid"}
    subprocess.run(["sqitch", "deploy", "--db-client", devdb("bin", "psql"), "--set", f"embedding_dim={DIM}",
                    "db:pg://" + url.split("://", 1)[1]], cwd=ROOT, check=True, capture_output=True, env=env)
    rng = random.Random(1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS animus_bench_reader_a")
        conn.execute("CREATE ROLE animus_bench_reader_a NOLOGIN IN ROLE animus_memory_reader")
        conn.execute("SELECT animus.grant_memory_namespace('animus_bench_reader_a', 'A')")
        t0 = time.perf_counter()
        for ns, count in (("B", N), ("A", N // 10)):
            for start in range(0, count, 1000):
                batch = [{"content": " ".join(rng.choices(WORDS, k=8)) + f" {ns}{start + i}",
                          "embedding": [rng.gauss(0, 1) for _ in range(DIM)], "memory_type": "fact"}
                         for i in range(min(1000, count - start))]
                conn.execute("SELECT count(*) FROM animus.store_memories(%s, namespace => %s)", [json.dumps(batch), ns])
        conn.execute("VACUUM ANALYZE animus.memories")
        print(f"== {N + N // 10} memories loaded ({N} in B, {N // 10} in A) in {time.perf_counter() - t0:.0f} s, dim {DIM}")
        queries = [([rng.gauss(0, 1) for _ in range(DIM)], " ".join(rng.choices(WORDS, k=3))) for _ in range(Q)]
        kinds = {
            "vector": "SELECT count(*) FROM animus.search_memory_vector(%(v)s::vector, 10, %(f)s)",
            "text": "SELECT count(*) FROM animus.search_memory_text(%(t)s, 10, %(f)s)",
            "hybrid": "SELECT count(*) FROM animus.hybrid_search(%(t)s, %(v)s::vector, 10, %(f)s)",
        }
        modes = {"baseline": (None, '{"namespace": "A"}'), "rls": ("animus_bench_reader_a", "{}"),
                 "rls+filter": ("animus_bench_reader_a", '{"namespace": "A"}')}
        times = {(k, m): [] for k in kinds for m in modes}
        counts = {}
        for _ in range(ROUNDS):
            for kind, sql in kinds.items():
                for mode, (role, filt) in modes.items():
                    conn.execute(f"SET ROLE {role}" if role else "RESET ROLE")
                    for v, t in queries:
                        s = time.perf_counter()
                        n = conn.execute(sql, {"v": json.dumps(v), "t": t, "f": filt}).fetchone()[0]
                        times[(kind, mode)].append(time.perf_counter() - s)
                        counts.setdefault((kind, mode), set()).add(n)
        conn.execute("RESET ROLE")
        print(f"{'search':8} {'baseline (owner + filter)':>26} {'rls (reader, no filter)':>24} {'ratio':>7} "
              f"{'rls + filter':>13} {'ratio':>7}")
        for kind in kinds:
            b = statistics.median(times[(kind, "baseline")]) * 1000
            r = statistics.median(times[(kind, "rls")]) * 1000
            rf = statistics.median(times[(kind, "rls+filter")]) * 1000
            print(f"{kind:8} {b:23.2f} ms {r:21.2f} ms {r / b:7.2f} {rf:10.2f} ms {rf / b:7.2f}")
            assert counts[(kind, "rls")] == counts[(kind, "baseline")] == {10}, f"{kind}: k rows expected in every mode"
    devdb("dropdb", DB)
    with psycopg.connect(devdb("url", "postgres"), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS animus_bench_reader_a")


if __name__ == "__main__":
    main()
