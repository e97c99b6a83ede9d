#!/usr/bin/env python3
"""BM25 benchmark (`make bench-bm25`): speed and write cost on synthetic data. (Quality on
nfcorpus is `make bench-quality`, whose text row is BM25 and which prints the Python reference.)

Every figure is printed beside a baseline measured in the same run, on a FRESH database (dropped
and deployed with embedding_dim=384 each run; never the dev database `animus`).

speed    synthetic memories (Zipf-distributed pseudo-words, 15-85 words each, random 384-d
         vectors) at growing sizes (default 25k, 50k, 100k): p50/p95 of the BM25 top-10 for
         10-word queries beside the ts_rank branch and exhaustive BM25, how often the top-10 is
         proven exact and its overlap with exhaustive BM25. At the largest size: hybrid_search at
         its default candidates beside the old default (100), interleaved; each branch at lim
         10/30/50/100; the plan of hybrid's statement; A/B of its last step and of the BM25
         rescoring depth.
write    per-memory cost of an insert with the BM25 triggers over the same insert with them
         disabled (same table, same run, interleaved), one row per statement and in batches.

    python tools/bench_bm25.py [--sizes 25000,50000,100000] [--queries 40] [--no-write] [--reuse]
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
import psycopg.sql
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


def speed(sizes: list[int], n_queries: int, write: bool = True, reuse: bool = False) -> None:
    log(f"== speed: synthetic memories at {', '.join(f'{s:,}' for s in sizes)} rows; {n_queries} ten-word queries, k = 10")
    if reuse:  # re-measure the hybrid part on the database a previous run left at its largest size
        conn = psycopg.connect(devdb.url("animus_bench_bm25"), autocommit=True)
        loaded = conn.execute("SELECT count(*) FROM animus.memories").fetchone()[0]
        conn.execute("SELECT setseed(0.5)")
        queries = [r[0] for r in conn.execute(
            "SELECT (SELECT string_agg(w, ' ') FROM (SELECT w FROM unnest(string_to_array(m.content, ' ')) AS w"
            "        ORDER BY random() LIMIT 10) AS y)"
            "  FROM generate_series(1, %s) AS g JOIN animus.memories AS m"
            "    ON m.id = (SELECT min(id) FROM animus.memories) + (g * 7919) %% %s", (n_queries, loaded - 1)).fetchall()]
        log(f"(reusing animus_bench_bm25: {loaded:,} rows, HNSW index in place)")
        hybrid_part(conn, queries, loaded)
        conn.close()
        devdb.dropdb("animus_bench_bm25")
        return
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

    if write:
        write_cost(conn, "(no HNSW index: the worst case for the ratio)", 10_000_000)
    # hybrid at the largest size, with the HNSW index back in place
    t = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute(hnsw)
    log(f"HNSW index rebuilt in {time.perf_counter() - t:.0f} s (not part of any figure below)")
    hybrid_part(conn, queries, loaded)
    if write:
        write_cost(conn, "(HNSW index in place: what store_memory pays)", 20_000_000)
    conn.close()
    devdb.dropdb("animus_bench_bm25")


def hybrid_part(conn, queries: list[str], loaded: int) -> None:
    qv = [(q, vec_literal(np.random.default_rng(i).standard_normal(DIM))) for i, q in enumerate(queries)]
    for q, v in qv:  # warm-up of the new HNSW index, untimed
        conn.execute("SELECT count(*) FROM animus.hybrid_search(%s, %s::vector, 10)", (q, v)).fetchone()
    # hybrid at its default candidates beside the old default (100 per branch), interleaved query
    # by query so that load drifts cancel; then its branches at the candidate counts involved
    new_n = conn.execute("SELECT greatest(10 * 3, 30)").fetchone()[0]  # hybrid_search's default at k = 10
    hy_t, hy100_t = [], []
    for q, v in qv:
        for sql, out in (("SELECT id FROM animus.hybrid_search(%s, %s::vector, 10)", hy_t),
                         ("SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, candidates => 100)", hy100_t)):
            t = time.perf_counter()
            conn.execute(sql, (q, v)).fetchall()
            out.append((time.perf_counter() - t) * 1000)
    branch = {}
    for lim in (10, new_n, 50, 100):
        branch["text", lim], _ = timed(conn, "SELECT id FROM animus.memory_text_candidates(%s, '{}', %s)", [(q, lim) for q, _ in qv])
    for lim in (new_n, 100):
        branch["vector", lim], _ = timed(conn, "SELECT id FROM animus.memory_vector_candidates(%s::vector, '{}', %s)",
                                         [(v, lim) for _, v in qv])
    ve_t, _ = timed(conn, "SELECT id FROM animus.search_memory_vector(%s::vector, 10)", [(v,) for _, v in qv])
    tx_t, _ = timed(conn, "SELECT id FROM animus.search_memory_text(%s, 10)", [(q,) for q, _ in qv])
    tf_t, _ = timed(conn, "SELECT id FROM animus.search_memory_text(%s, 10, '{\"memory_type\": \"fact\"}')", [(q,) for q, _ in qv])
    load = os.getloadavg()
    log(f"at {loaded:,} rows (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}): "
        f"search_memory_text p50 {pct(tx_t, .5):.2f} ms p95 {pct(tx_t, .95):.2f} "
        f"(filtered to memory_type 'fact', a third of the rows: p50 {pct(tf_t, .5):.2f} ms p95 {pct(tf_t, .95):.2f}); "
        f"search_memory_vector p50 {pct(ve_t, .5):.2f} ms p95 {pct(ve_t, .95):.2f}")
    log(f"hybrid_search default (candidates {new_n} per branch) p50 {pct(hy_t, .5):.2f} ms p95 {pct(hy_t, .95):.2f} vs "
        f"candidates 100 (the old default) p50 {pct(hy100_t, .5):.2f} ms p95 {pct(hy100_t, .95):.2f} = "
        f"{pct(hy_t, .5) / pct(hy100_t, .5):.2f}x (p95 {pct(hy_t, .95) / pct(hy100_t, .95):.2f}x)")
    log("branches, p50 / p95 ms: " + "; ".join(
        f"{b} lim {lim}: {pct(t, .5):.2f} / {pct(t, .95):.2f}" for (b, lim), t in branch.items()))
    # hybrid_search's statement, as its body runs it (generic plan, parameters for the plpgsql
    # variables): each branch's function must run once (loops=1), not once per row
    conn.execute("""PREPARE hybrid_body(text, vector, integer, jsonb, float8, float8, integer, integer, boolean, boolean) AS
        WITH vec AS (SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
                       FROM animus.memory_vector_candidates($2, $4, $8) AS c WHERE $10),
             txt AS (SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
                       FROM animus.memory_text_candidates($1, $4, $8) AS c WHERE $9),
             fused AS (SELECT coalesce(vec.id, txt.id) AS id,
                              coalesce($6 / ($7 + vec.r), 0) + coalesce($5 / ($7 + txt.r), 0) AS score,
                              vec.r AS vr, txt.r AS tr, least(vec.r, txt.r) AS best, vec.distance, txt.score AS ts
                         FROM vec FULL JOIN txt ON txt.id = vec.id)
        SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
               fu.score, row_number() OVER (ORDER BY fu.score DESC, fu.best, fu.id), fu.vr, fu.tr, fu.distance, fu.ts
          FROM (SELECT * FROM fused ORDER BY fused.score DESC, fused.best, fused.id) AS fu
          JOIN animus.memories AS m ON m.id = fu.id
         ORDER BY fu.score DESC, fu.best, fu.id LIMIT $3""")
    # A/B of the statement's last step: the old body joined every fused candidate to animus.memories
    # and then sorted; the new one sorts the fused rows and joins in that order (LIMIT k stops early)
    conn.execute("""PREPARE hybrid_body_old(text, vector, integer, jsonb, float8, float8, integer, integer, boolean, boolean) AS
        WITH vec AS (SELECT c.id, c.distance, row_number() OVER (ORDER BY c.distance, c.id) AS r
                       FROM animus.memory_vector_candidates($2, $4, $8) AS c WHERE $10),
             txt AS (SELECT c.id, c.score, row_number() OVER (ORDER BY c.score DESC, c.id) AS r
                       FROM animus.memory_text_candidates($1, $4, $8) AS c WHERE $9),
             fused AS (SELECT coalesce(vec.id, txt.id) AS id,
                              coalesce($6 / ($7 + vec.r), 0) + coalesce($5 / ($7 + txt.r), 0) AS score,
                              vec.r AS vr, txt.r AS tr, vec.distance, txt.score AS ts
                         FROM vec FULL JOIN txt ON txt.id = vec.id)
        SELECT m.id, m.namespace, m.content, m.memory_type, m.source, m.metadata, m.created_at, m.updated_at,
               fu.score, row_number() OVER (ORDER BY fu.score DESC, least(fu.vr, fu.tr), fu.id), fu.vr, fu.tr, fu.distance, fu.ts
          FROM fused AS fu JOIN animus.memories AS m ON m.id = fu.id
         ORDER BY fu.score DESC, least(fu.vr, fu.tr), fu.id LIMIT $3""")
    conn.execute("SET plan_cache_mode = force_generic_plan")
    for cand in (new_n, 100):
        ab = {"hybrid_body": [], "hybrid_body_old": []}
        same = 0
        for q, v in qv:
            got = {}
            for name in ab:
                t = time.perf_counter()
                got[name] = conn.execute(psycopg.sql.SQL("EXECUTE {}({}, {}::vector, 10, '{{}}', 1, 1, 60, {}, true, true)").format(
                    psycopg.sql.Identifier(name), psycopg.sql.Literal(q), psycopg.sql.Literal(v), psycopg.sql.Literal(cand))).fetchall()
                ab[name].append((time.perf_counter() - t) * 1000)
            same += [r[0] for r in got["hybrid_body"]] == [r[0] for r in got["hybrid_body_old"]]
        a, o = pct(ab["hybrid_body"], .5), pct(ab["hybrid_body_old"], .5)
        log(f"hybrid statement, candidates {cand}: sort-then-join p50 {a:.2f} ms vs join-then-sort (old) {o:.2f} ms = {a / o:.2f}x; "
            f"same ids in the same order for {same}/{len(qv)} queries")
    conn.execute("SET plan_cache_mode = force_generic_plan")
    plan = [r[0] for r in conn.execute(psycopg.sql.SQL(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) EXECUTE hybrid_body({}, {}::vector, 10, '{{}}', 1, 1, 60, {}, true, true)").format(
        psycopg.sql.Literal(qv[0][0]), psycopg.sql.Literal(qv[0][1]), psycopg.sql.Literal(new_n))).fetchall()]
    conn.execute("RESET plan_cache_mode")
    log("hybrid_search's statement (generic plan), one query:\n  " + "\n  ".join(plan))
    # the text branch's rescoring depth at the default candidates: time and overlap@10 with exhaustive
    base_rx = conn.execute("SELECT rescore_extra FROM animus.memory_bm25_settings").fetchone()[0]
    ex10 = [{r[0] for r in conn.execute("SELECT id FROM animus.memory_bm25_topk(%s, '{}', 10, 100000000)", (q,)).fetchall()}
            for q, _ in qv]
    rx_rows = []
    for rx in (base_rx, 90, 40):
        conn.execute("SELECT animus.memory_bm25_configure(rescore_extra => %s)", (rx,))
        t_rx, rows_rx = timed(conn, "SELECT id FROM animus.memory_bm25_topk(%s, '{}', %s)", [(q, new_n) for q, _ in qv])
        t10, rows10 = timed(conn, "SELECT id FROM animus.memory_bm25_topk(%s, '{}', 10)", [(q,) for q, _ in qv])
        ov = statistics.mean(len({x[0] for x in r} & e) / max(1, len(e)) for r, e in zip(rows10, ex10))
        rx_rows.append((rx, pct(t_rx, .5), pct(t10, .5), ov))
    conn.execute("SELECT animus.memory_bm25_configure(rescore_extra => %s)", (base_rx,))
    for rx, a, b10, ov in rx_rows:
        log(f"rescore_extra {rx:>3}: text lim {new_n} p50 {a:.2f} ms ({a / rx_rows[0][1]:.2f}x), "
            f"lim 10 p50 {b10:.2f} ms ({b10 / rx_rows[0][2]:.2f}x), overlap@10 with exhaustive {ov:.3f}")



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="25000,50000,100000")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--no-write", action="store_true", help="skip the write-cost figures")
    ap.add_argument("--reuse", action="store_true", help="only the hybrid figures, on the database a previous run left")
    args = ap.parse_args()
    speed([int(s) for s in args.sizes.split(",")], args.queries, not args.no_write, args.reuse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
