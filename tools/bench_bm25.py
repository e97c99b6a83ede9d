#!/usr/bin/env python3
"""BM25 benchmark (`make bench-bm25`): speed and write cost on synthetic data. (Quality on
nfcorpus is `make bench-quality`, whose text row is BM25 and which prints the Python reference.)

Every figure is printed beside a baseline measured in the same run, on a FRESH database (dropped
and deployed with embedding_dim=384 each run; never the dev database `animus`).

speed    synthetic memories (Zipf-distributed pseudo-words, 15-85 words each, random 384-d
         vectors) at growing sizes (default 25k, 50k, 100k): p50/p95 of the BM25 top-10 for
         10-word queries beside the ts_rank branch and exhaustive BM25, how often the top-10 is
         proven exact and its overlap with exhaustive BM25; hybrid_search at the largest size.
write    per-memory cost of an insert with the BM25 triggers over the same insert with them
         disabled (same table, same run, interleaved), one row per statement and in batches.

    python tools/bench_bm25.py [--sizes 25000,50000,100000] [--queries 40]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402

DIM = 384

# The keyword branch as the memory_search change ships it (ts_rank over an OR query), verbatim but
# for its name: the baseline every BM25 figure is compared with.
TS_RANK_BRANCH = """
CREATE FUNCTION pg_temp.ts_rank_candidates(query text, filters jsonb DEFAULT '{}', lim integer DEFAULT 100)
    RETURNS TABLE (id bigint, score double precision) STABLE ROWS 100 SET search_path = '' LANGUAGE plpgsql
AS $$
DECLARE
    q tsquery := animus.memory_or_tsquery(query);
BEGIN
    IF q IS NULL OR lim IS NULL OR lim < 1 THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT m.id, pg_catalog.ts_rank(m.fts, $1, 1)::double precision AS score
           FROM animus.memories AS m
          WHERE m.fts @@ $1
            AND animus.memory_filter_match($2, m.namespace, m.memory_type, m.source, m.metadata, m.created_at)
          ORDER BY score DESC, m.id
          LIMIT $3'
        USING q, coalesce(filters, '{}'), lim;
END
$$;
"""


def log(msg: str = "") -> None:
    print(msg, flush=True)


def fresh_db(name: str) -> str:
    devdb.createdb(name, drop=True)
    url = devdb.url(name)
    target = "db:pg://" + url.split("://", 1)[1]
    subprocess.run(["sqitch", "deploy", "--db-client", devdb.pgbin("psql"), "--set", f"embedding_dim={DIM}",
                    "--set", "embedding_model=bench-bm25", target], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "SQITCH_FULLNAME": "bench", "SQITCH_EMAIL": "bench@animus.invalid"})
    return url


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def timed(conn, sql: str, params: list[tuple]) -> tuple[list[float], list[list]]:
    times, rows = [], []
    for p in params:
        t = time.perf_counter()
        rows.append(conn.execute(sql, p).fetchall())
        times.append((time.perf_counter() - t) * 1000)
    return times, rows


def vec_literal(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in v) + "]"


# ---------------------------------------------------------------------------------------------
GENERATE = """
INSERT INTO animus.memories (namespace, content, memory_type, embedding)
SELECT 'bench',
       (SELECT string_agg(pg_temp.word(floor(exp(random() * ln(100000)))::int), ' ')
          FROM generate_series(1, 15 + (g %% 61) + (random() * 10)::int) AS w WHERE g > 0),
       (ARRAY['fact', 'episode', 'preference'])[g %% 3 + 1],
       (SELECT array_agg(random() - 0.5) FROM generate_series(1, %(dim)s::int) AS d WHERE g > 0)::vector
  FROM generate_series(%(start)s::int, %(stop)s::int) AS g
ON CONFLICT DO NOTHING
"""
WORD = """
CREATE FUNCTION pg_temp.word(r integer) RETURNS text IMMUTABLE LANGUAGE sql AS $$
  SELECT (ARRAY['ka','lo','mi','nu','pe','ra','si','to','vu','we','ba','de','fi','go','hu','ja','ke','li','mo','ny'])[r % 20 + 1]
      || (ARRAY['b','d','f','g','k','l','m','n','p','r','s','t','v','z','x','c'])[(r / 20) % 16 + 1]
      || (ARRAY['a','e','i','o','u','y','ai','ou'])[(r / 320) % 8 + 1]
      || CASE WHEN r >= 2560 THEN (ARRAY['n','r','l','m','t','k','s','p','d','g'])[(r / 2560) % 10 + 1]
                                  || (ARRAY['o','a','u','e','i'])[(r / 25600) % 5 + 1] ELSE '' END $$;
"""


def write_cost(conn, label: str, seed: int) -> None:
    """Per-memory insert time with the BM25 triggers over the same inserts with them disabled."""
    def insert_round(tag: str, start: int, n: int, per_statement: int) -> float:
        t = time.perf_counter()
        for s in range(start, start + n, per_statement):
            conn.execute(GENERATE.replace("'bench'", f"'{tag}'"), {"dim": DIM, "start": s, "stop": s + per_statement - 1})
        return (time.perf_counter() - t) / n * 1000

    trig = ["memory_bm25_after_insert", "memory_bm25_after_delete"]
    for per_statement, n, rounds in ((1, 100, 4), (500, 500, 2)):
        with_bm25, plain = [], []
        for r in range(rounds):
            base = seed + r * 10_000 + per_statement * 100_000
            with_bm25.append(insert_round("write-bm25", base, n, per_statement))
            for tg in trig:
                conn.execute(f"ALTER TABLE animus.memories DISABLE TRIGGER {tg}")
            plain.append(insert_round("write-plain", base + 5_000, n, per_statement))
            conn.execute("DELETE FROM animus.memories WHERE namespace = 'write-plain'")
            for tg in trig:
                conn.execute(f"ALTER TABLE animus.memories ENABLE TRIGGER {tg}")
        a, p = statistics.median(with_bm25), statistics.median(plain)
        log(f"write cost {label}, {per_statement:>3} row(s) per statement: {a:6.2f} ms/memory with BM25 vs {p:6.2f} ms "
            f"without (same table and indexes) = {a / p:.2f}x")


def speed(sizes: list[int], n_queries: int) -> None:
    log(f"== speed: synthetic memories at {', '.join(f'{s:,}' for s in sizes)} rows; {n_queries} ten-word queries, k = 10")
    url = fresh_db("animus_bench_bm25")
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SELECT setseed(0.5)")
    conn.execute(WORD)
    conn.execute(TS_RANK_BRANCH)
    hnsw = conn.execute("SELECT pg_get_indexdef('animus.memories_embedding_hnsw'::regclass)").fetchone()[0]
    conn.execute("DROP INDEX animus.memories_embedding_hnsw")
    filt = Jsonb({})
    loaded = 0
    log(f"{'rows':>8} {'load/s':>7} | {'BM25 p50':>8} {'p95':>6} | {'ts_rank p50':>11} {'p95':>6} {'ratio':>6} | "
        f"{'exhaustive p50':>14} | {'proven exact':>12} {'overlap@10':>10} | {'postings':>9}")
    for size in sizes:
        t = time.perf_counter()
        for start in range(loaded + 1, size + 1, 5000):
            conn.execute(GENERATE, {"dim": DIM, "start": start, "stop": min(start + 4999, size)})
        rate = (size - loaded) / (time.perf_counter() - t)
        loaded = size
        conn.execute("SELECT animus.memory_bm25_refresh()")
        conn.execute("VACUUM ANALYZE animus.memories, animus.memory_terms")
        queries = [r[0] for r in conn.execute(
            "SELECT (SELECT string_agg(w, ' ') FROM (SELECT w FROM unnest(string_to_array(m.content, ' ')) AS w"
            "        ORDER BY random() LIMIT 10) AS y)"
            "  FROM generate_series(1, %s) AS g JOIN animus.memories AS m"
            "    ON m.id = (SELECT min(id) FROM animus.memories) + (g * 7919) %% %s", (n_queries, size - 1)).fetchall()]
        n_base = max(10, n_queries // 2)
        for q in queries:  # warm-up: caches and plan caches, untimed (the index pages were just written)
            conn.execute("SELECT count(*) FROM animus.memory_bm25_topk(%s, %s, 10)", (q, filt)).fetchone()
        bm_t, bm_rows = timed(conn, "SELECT id, score, exact FROM animus.memory_bm25_topk(%s, %s, 10)", [(q, filt) for q in queries])
        ts_t, _ = timed(conn, "SELECT id FROM pg_temp.ts_rank_candidates(%s, %s, 10)", [(q, filt) for q in queries[:n_base]])
        ex_t, ex_rows = timed(conn, "SELECT id FROM animus.memory_bm25_topk(%s, %s, 10, 100000000)", [(q, filt) for q in queries[:n_base]])
        proven = sum(1 for r in bm_rows if r and r[0][2]) / len(bm_rows)
        overlap = statistics.mean(len({x[0] for x in a} & {x[0] for x in e}) / max(1, len(e))
                                  for a, e in zip(bm_rows, ex_rows))
        postings = conn.execute("SELECT count(*) FROM animus.memory_terms").fetchone()[0]
        log(f"{size:>8,} {rate:>7,.0f} | {pct(bm_t, .5):>8.2f} {pct(bm_t, .95):>6.2f} | {pct(ts_t, .5):>11.2f} {pct(ts_t, .95):>6.2f} "
            f"{pct(ts_t, .5) / pct(bm_t, .5):>5.1f}x | {pct(ex_t, .5):>14.2f} | {proven:>12.0%} {overlap:>10.3f} | {postings:>9,}")

    write_cost(conn, "(no HNSW index: the worst case for the ratio)", 10_000_000)
    # hybrid at the largest size, with the HNSW index back in place
    t = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute(hnsw)
    log(f"HNSW index rebuilt in {time.perf_counter() - t:.0f} s (not part of any figure below)")
    qv = [(q, vec_literal(np.random.default_rng(i).standard_normal(DIM))) for i, q in enumerate(queries)]
    for q, v in qv:  # warm-up of the new HNSW index, untimed
        conn.execute("SELECT count(*) FROM animus.hybrid_search(%s, %s::vector, 10)", (q, v)).fetchone()
    hy_t, _ = timed(conn, "SELECT id FROM animus.hybrid_search(%s, %s::vector, 10)", qv)
    t100, _ = timed(conn, "SELECT id FROM animus.memory_text_candidates(%s, '{}', 100)", [(q,) for q, _ in qv])
    v100, _ = timed(conn, "SELECT id FROM animus.memory_vector_candidates(%s::vector, '{}', 100)", [(v,) for _, v in qv])
    ve_t, _ = timed(conn, "SELECT id FROM animus.search_memory_vector(%s::vector, 10)", [(v,) for _, v in qv])
    tx_t, _ = timed(conn, "SELECT id FROM animus.search_memory_text(%s, 10)", [(q,) for q, _ in qv])
    tf_t, _ = timed(conn, "SELECT id FROM animus.search_memory_text(%s, 10, '{\"memory_type\": \"fact\"}')", [(q,) for q, _ in qv])
    log(f"at {loaded:,} rows: search_memory_text p50 {pct(tx_t, .5):.2f} ms p95 {pct(tx_t, .95):.2f} "
        f"(filtered to memory_type 'fact', a third of the rows: p50 {pct(tf_t, .5):.2f} ms p95 {pct(tf_t, .95):.2f}); "
        f"search_memory_vector p50 {pct(ve_t, .5):.2f} ms p95 {pct(ve_t, .95):.2f}; "
        f"hybrid_search (candidates 100 per branch) p50 {pct(hy_t, .5):.2f} ms p95 {pct(hy_t, .95):.2f} "
        f"= its branches at lim 100: text p50 {pct(t100, .5):.2f} ms + vector p50 {pct(v100, .5):.2f} ms")

    write_cost(conn, "(HNSW index in place: what store_memory pays)", 20_000_000)
    conn.close()
    devdb.dropdb("animus_bench_bm25")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="25000,50000,100000")
    ap.add_argument("--queries", type=int, default=40)
    args = ap.parse_args()
    speed([int(s) for s in args.sizes.split(",")], args.queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
