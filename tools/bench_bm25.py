#!/usr/bin/env python3
"""BM25 benchmark (`make bench-bm25`): quality on nfcorpus, speed and write cost on synthetic data.

Every figure is printed beside a baseline measured in the same run, on FRESH databases (dropped
and deployed with embedding_dim=384 each run; never the dev database `animus`).

quality  nfcorpus (tune on dev, report test; evaluation-only licence: read from its folder, never
         copied): nDCG@10 and Recall@100 of
           * the Python reference BM25 (tools/bm25_reference.py, same PostgreSQL English lexemes),
           * search_memory_text (now BM25), at the default and at the other usual k1/b,
           * the memory_search ts_rank keyword branch (its body verbatim, as a temporary function),
           * search_memory_vector and hybrid_search, with a small grid of fusion settings on dev.
speed    synthetic memories (Zipf-distributed pseudo-words, 15-85 words each, random 384-d
         vectors) at growing sizes (default 25k, 50k, 100k): p50/p95 of the BM25 top-10 for
         10-word queries beside the ts_rank branch and exhaustive BM25, how often the top-10 is
         proven exact and its overlap with exhaustive BM25; hybrid_search at the largest size.
write    per-memory cost of an insert with the BM25 triggers over the same insert with them
         disabled (same table, same run, interleaved), one row per statement and in batches.

    python tools/bench_bm25.py [--nfcorpus DIR] [--sizes 25000,50000,100000] [--queries 40]
                               [--only quality|speed]
"""
from __future__ import annotations

import argparse
import json
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
from bm25_reference import BM25, DEFAULT_NFCORPUS, ndcg_at_10, recall_at, require_collection, tokenise  # noqa: E402

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
        'SELECT m.id, pg_catalog.ts_rank(m.fts, $1)::double precision AS score
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
def quality(folder: str | None) -> None:
    c = require_collection(folder)
    log(f"== quality: nfcorpus at {c.folder} ({len(c.doc_ids):,} documents; tune on dev, report test)")
    url = fresh_db("animus_bench_bm25_quality")
    conn = psycopg.connect(url, autocommit=True)
    emb = c.doc_embeddings()
    t = time.perf_counter()
    mem_of_doc: list[int] = []
    for start in range(0, len(c.doc_ids), 500):
        batch = [{"content": c.texts[i], "embedding": vec_literal(emb[i]), "memory_type": "document",
                  "source": c.doc_ids[i]} for i in range(start, min(start + 500, len(c.doc_ids)))]
        rows = conn.execute("SELECT ordinal, id FROM animus.store_memories(%s)", (Jsonb(batch),)).fetchall()
        mem_of_doc += [i for _, i in sorted(rows)]
    conn.execute("SELECT animus.memory_bm25_refresh()")
    conn.execute("VACUUM ANALYZE animus.memories, animus.memory_terms")
    doc_of_mem: dict[int, str] = {}
    for d, m in zip(c.doc_ids, mem_of_doc):
        doc_of_mem.setdefault(m, d)  # identical documents are one memory: it answers for the first
    log(f"loaded through store_memories in {time.perf_counter() - t:.1f} s: {len(doc_of_mem):,} memories "
        f"({len(c.doc_ids) - len(doc_of_mem)} duplicate documents merged)")
    conn.execute(TS_RANK_BRANCH)

    mem_ids = sorted(doc_of_mem)
    contents = dict(conn.execute("SELECT id, content FROM animus.memories").fetchall())
    toks = tokenise(conn, [contents[i] for i in mem_ids])
    filt = Jsonb({})

    def run_sql(sql: str, args_of, qids) -> dict[str, list[str]]:
        return {q: [doc_of_mem[r[0]] for r in conn.execute(sql, args_of(q)).fetchall()] for q in qids}

    results: dict[tuple[str, str], tuple[float, float]] = {}
    for split in ("dev", "test"):
        qrels = c.qrels(split)
        qids = c.query_ids(split)
        qemb = dict(zip(qids, c.query_embeddings(split)))
        qtoks = dict(zip(qids, tokenise(conn, [c.queries[q] for q in qids])))

        def score(name: str, run: dict[str, list[str]]) -> None:
            results[(name, split)] = (ndcg_at_10(run, qrels), recall_at(run, qrels, 100))

        for k1, b in ((1.2, 0.75), (0.9, 0.4)):
            ref = BM25(toks, k1=k1, b=b)
            score(f"reference BM25 k1={k1} b={b}",
                  {q: [doc_of_mem[mem_ids[i]] for i, _ in ref.top(qtoks[q], 100)] for q in qids})
            conn.execute("SELECT animus.memory_bm25_configure(k1 => %s, b => %s)", (k1, b))
            conn.execute("SELECT animus.memory_bm25_reindex()")
            score(f"search_memory_text (BM25) k1={k1} b={b}",
                  run_sql("SELECT id FROM animus.search_memory_text(%s, 100)", lambda q: (c.queries[q],), qids))
        conn.execute("SELECT animus.memory_bm25_configure(k1 => 1.2, b => 0.75)")
        conn.execute("SELECT animus.memory_bm25_reindex()")
        score("ts_rank OR branch (memory_search)",
              run_sql("SELECT id FROM pg_temp.ts_rank_candidates(%s, %s, 100)", lambda q: (c.queries[q], filt), qids))
        score("search_memory_vector",
              run_sql("SELECT id FROM animus.search_memory_vector(%s::vector, 100)", lambda q: (vec_literal(qemb[q]),), qids))
        grid = [(1, 1, 60, None), (1, 1, 60, 50), (1, 1, 20, None), (0.5, 1, 60, None), (1, 0.5, 60, None)]
        for tw, vw, rrf, cand in grid:
            name = f"hybrid_search text_weight={tw} vector_weight={vw} rrf_k={rrf} candidates={cand or 'default'}"
            if split == "test" and (tw, vw, rrf, cand) != (1, 1, 60, None) and (tw, vw, rrf, cand) != grid_best:
                continue
            run = {}
            for q in qids:
                rows = conn.execute(
                    "SELECT id FROM animus.hybrid_search(%s, %s::vector, 100, text_weight => %s, vector_weight => %s,"
                    " rrf_k => %s, candidates => %s)", (c.queries[q], vec_literal(qemb[q]), tw, vw, rrf, cand)).fetchall()
                run[q] = [doc_of_mem[r[0]] for r in rows]
            score(name, run)
        if split == "dev":
            grid_best = max(grid, key=lambda g: results[(
                f"hybrid_search text_weight={g[0]} vector_weight={g[1]} rrf_k={g[2]} candidates={g[3] or 'default'}", "dev")][0])

    log(f"{'system':<78} {'dev nDCG@10':>11} {'test nDCG@10':>12} {'test R@100':>10}")
    for name in dict.fromkeys(n for n, _ in results):
        dev = results.get((name, "dev"), (float("nan"),) * 2)
        test = results.get((name, "test"))
        log(f"{name:<78} {dev[0]:>11.4f} " + (f"{test[0]:>12.4f} {test[1]:>10.4f}" if test else f"{'':>12} {'':>10}"))
    ref_t = results[("reference BM25 k1=1.2 b=0.75", "test")][0]
    sql_t = results[("search_memory_text (BM25) k1=1.2 b=0.75", "test")][0]
    tsr_t = results[("ts_rank OR branch (memory_search)", "test")][0]
    vec_t = results[("search_memory_vector", "test")][0]
    hyb_t = results[("hybrid_search text_weight=1 vector_weight=1 rrf_k=60 candidates=default", "test")][0]
    log(f"test: SQL BM25 - reference = {sql_t - ref_t:+.4f} (target |diff| <= 0.01); BM25 / ts_rank = {sql_t / tsr_t:.3f}; "
        f"hybrid (defaults) {hyb_t:.4f} vs text {sql_t:.4f} and vector {vec_t:.4f}: "
        f"{'above both' if hyb_t > max(sql_t, vec_t) else 'NOT above both'}")
    log(f"best fusion on dev: text_weight={grid_best[0]} vector_weight={grid_best[1]} rrf_k={grid_best[2]} "
        f"candidates={grid_best[3] or 'default'}")
    conn.close()
    devdb.dropdb("animus_bench_bm25_quality")


# ---------------------------------------------------------------------------------------------
GENERATE = """
INSERT INTO animus.memories (namespace, content, memory_type, embedding)
SELECT 'bench',
       (SELECT string_agg(pg_temp.word(floor(exp(random() * ln(100000)))::int), ' ')
          FROM generate_series(1, 15 + (g % 61) + (random() * 10)::int) AS w WHERE g > 0),
       (ARRAY['fact', 'episode', 'preference'])[g % 3 + 1],
       (SELECT array_agg(random() - 0.5) FROM generate_series(1, %(dim)s) AS d WHERE g > 0)::vector
  FROM generate_series(%(start)s, %(stop)s) AS g
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
        bm_t, bm_rows = timed(conn, "SELECT id, score, exact FROM animus.memory_bm25_topk(%s, %s, 10)", [(q, filt) for q in queries])
        ts_t, _ = timed(conn, "SELECT id FROM pg_temp.ts_rank_candidates(%s, %s, 10)", [(q, filt) for q in queries[:n_base]])
        ex_t, ex_rows = timed(conn, "SELECT id FROM animus.memory_bm25_topk(%s, %s, 10, 100000000)", [(q, filt) for q in queries[:n_base]])
        proven = sum(1 for r in bm_rows if r and r[0][2]) / len(bm_rows)
        overlap = statistics.mean(len({x[0] for x in a} & {x[0] for x in e}) / max(1, len(e))
                                  for a, e in zip(bm_rows, ex_rows))
        postings = conn.execute("SELECT count(*) FROM animus.memory_terms").fetchone()[0]
        log(f"{size:>8,} {rate:>7,.0f} | {pct(bm_t, .5):>8.2f} {pct(bm_t, .95):>6.2f} | {pct(ts_t, .5):>11.2f} {pct(ts_t, .95):>6.2f} "
            f"{pct(ts_t, .5) / pct(bm_t, .5):>5.1f}x | {pct(ex_t, .5):>14.2f} | {proven:>12.0%} {overlap:>10.3f} | {postings:>9,}")

    # hybrid at the largest size, with the HNSW index back in place
    t = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute(hnsw)
    log(f"HNSW index rebuilt in {time.perf_counter() - t:.0f} s (not part of any figure below)")
    qv = [(q, vec_literal(np.random.default_rng(i).standard_normal(DIM))) for i, q in enumerate(queries)]
    hy_t, _ = timed(conn, "SELECT id FROM animus.hybrid_search(%s, %s::vector, 10)", qv)
    ve_t, _ = timed(conn, "SELECT id FROM animus.search_memory_vector(%s::vector, 10)", [(v,) for _, v in qv])
    tx_t, _ = timed(conn, "SELECT id FROM animus.search_memory_text(%s, 10)", [(q,) for q, _ in qv])
    log(f"at {loaded:,} rows: search_memory_text p50 {pct(tx_t, .5):.2f} ms p95 {pct(tx_t, .95):.2f}; "
        f"search_memory_vector p50 {pct(ve_t, .5):.2f} ms p95 {pct(ve_t, .95):.2f}; "
        f"hybrid_search (candidates 100 per branch) p50 {pct(hy_t, .5):.2f} ms p95 {pct(hy_t, .95):.2f}")

    # write cost: the same inserts with the BM25 triggers enabled / disabled, interleaved
    def insert_round(tag: str, start: int, n: int, per_statement: int) -> float:
        t = time.perf_counter()
        for s in range(start, start + n, per_statement):
            conn.execute(GENERATE.replace("'bench'", f"'{tag}'"), {"dim": DIM, "start": s, "stop": s + per_statement - 1})
        return (time.perf_counter() - t) / n * 1000

    trig = ["memory_bm25_after_insert", "memory_bm25_after_delete"]
    for per_statement, n, rounds in ((1, 100, 4), (500, 500, 2)):
        with_bm25, plain = [], []
        for r in range(rounds):
            base = 10_000_000 + r * 10_000 + per_statement * 100_000
            with_bm25.append(insert_round("write-bm25", base, n, per_statement))
            for tg in trig:
                conn.execute(f"ALTER TABLE animus.memories DISABLE TRIGGER {tg}")
            plain.append(insert_round("write-plain", base + 5_000, n, per_statement))
            conn.execute("DELETE FROM animus.memories WHERE namespace = 'write-plain'")
            for tg in trig:
                conn.execute(f"ALTER TABLE animus.memories ENABLE TRIGGER {tg}")
        a, p = statistics.median(with_bm25), statistics.median(plain)
        log(f"write cost, {per_statement} row(s) per statement: {a:.2f} ms/memory with BM25 vs {p:.2f} ms plain "
            f"(HNSW, GIN and btree indexes maintained in both) = {a / p:.2f}x")
    conn.close()
    devdb.dropdb("animus_bench_bm25")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nfcorpus", default=str(DEFAULT_NFCORPUS))
    ap.add_argument("--sizes", default="25000,50000,100000")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--only", choices=["quality", "speed"])
    args = ap.parse_args()
    if args.only != "speed":
        quality(args.nfcorpus)
    if args.only != "quality":
        speed([int(s) for s in args.sizes.split(",")], args.queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
