#!/usr/bin/env python3
"""Performance benchmark of animus semantic memory (`make bench-memory`).

On a FRESH database (dropped and deployed with embedding_dim=384 each run) it loads N synthetic
memories through the batch form animus.store_memories and measures, in the same run:

  * bulk load rows/s: the empty-table path (memory_begin_bulk_load drops the HNSW and GIN indexes,
    store_memories loads big batches, memory_finish_bulk_load rebuilds the indexes, HNSW in
    parallel; all timed) and the incremental path (a further batch with every index in place);
  * exact sequential cosine search (the baseline: index scans off) -> latency and ground truth;
  * p50 / p95 latency at k = 10 of search_memory_vector, search_memory_text and hybrid_search,
    without a filter and with a selective filter (one namespace of 200 = 0.5 % of the rows),
    each printed beside the exact search's p50 as a ratio;
  * recall@10 of search_memory_vector against the exact search, unfiltered and filtered;
  * row counts at k above hnsw.ef_search (k = 100) and for the selective filter at k = 50.

Data: clustered unit vectors (200 Gaussian clusters, so neighbours are meaningful and ANN search
is not trivially easy like on uniform noise) and text drawn from a Zipf distribution over a
20,000-word synthetic vocabulary (common words match most rows, rare words few: real work for
the keyword branch).

With --index hnsw,ivfflat the whole run is made once per vector index kind (fresh database, the
same data: memory_configure_vector_index before the load), then the figures side by side.

    python tools/bench_memory.py [--rows 100000] [--queries 100] [--batch 2000] [--workers 2] [--keep]
                                 [--index hnsw|ivfflat|hnsw,ivfflat] [--lists N] [--probes N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402

sys.path.insert(0, str(ROOT / "python"))
import animus  # noqa: E402

DIM = 384
DB = "animus_bench_memory"
NAMESPACES = 200          # one namespace = 0.5 % of the rows: the selective filter
TYPES = ["fact", "episode", "preference", "note"]


def log(msg: str) -> None:
    print(msg, flush=True)


def deploy() -> str:
    env = {**os.environ}
    devdb.createdb(DB, drop=True)
    url = devdb.url(DB)
    target = "db:pg://" + url.split("://", 1)[1]
    subprocess.run(["sqitch", "deploy", "--db-client", devdb.pgbin("psql"), "--set", f"embedding_dim={DIM}",
                    "--set", "embedding_model=synthetic-clustered-384", target],
                   cwd=ROOT, check=True, capture_output=True, env={**env, "SQITCH_FULLNAME": "bench",
                                                                   "SQITCH_EMAIL": "bench@animus.invalid"})
    return url


def make_vocabulary(n: int, rng: np.random.Generator) -> list[str]:
    syll = ["ka", "to", "mi", "ra", "ne", "lo", "su", "vi", "de", "po", "ga", "ri", "ben", "tor", "mal", "sen",
            "dor", "lin", "quar", "zel"]
    words: set[str] = set()
    while len(words) < n:
        k = rng.integers(2, 5)
        words.add("".join(syll[i] for i in rng.integers(0, len(syll), k)))
    return sorted(words)


class Data:
    """Clustered unit vectors: 200 Gaussian centres, each row its centre plus Gaussian noise. By
    default in all 384 dimensions, where within a cluster the noise makes the neighbours near-ties
    (local intrinsic dimensionality ~88 at 100k rows by the MLE estimate on the 20 nearest: far
    harder for an ANN index than real text embeddings). latent_dim L: the same clusters in L
    dimensions, mapped into 384 by a random orthonormal projection, plus a little noise in all 384
    (L = 80 matches the NFCorpus MiniLM embeddings' ~35; docs/scaling.md)."""

    def __init__(self, rows: int, queries: int, seed: int = 7, latent_dim: int | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.centers = rng.standard_normal((200, DIM)).astype(np.float32)
        self.latent_dim = latent_dim
        if latent_dim:
            aux = np.random.default_rng([seed, latent_dim])
            self.centers = aux.standard_normal((200, latent_dim)).astype(np.float32)
            self.projection = (np.linalg.qr(aux.standard_normal((DIM, latent_dim)))[0].T / np.sqrt(latent_dim)).astype(np.float32)
        self.vocab = make_vocabulary(20000, rng)
        ranks = np.arange(1, len(self.vocab) + 1)
        p = 1.0 / ranks ** 1.07
        self.p = p / p.sum()
        self.rows = rows
        q_cluster = rng.integers(0, len(self.centers), queries)
        self.queries = self.vectors(q_cluster)
        self.query_ns = [f"ns-{i}" for i in rng.integers(0, NAMESPACES, queries)]
        self.query_text = [" ".join(self.words(int(rng.integers(3, 7)))) for _ in range(queries)]

    def vectors(self, clusters: np.ndarray) -> np.ndarray:
        if self.latent_dim:
            z = self.centers[clusters] + 0.9 * self.rng.standard_normal((len(clusters), self.latent_dim)).astype(np.float32)
            v = z @ self.projection + (0.05 / np.sqrt(DIM)) * self.rng.standard_normal((len(clusters), DIM)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)
        v = self.centers[clusters] + 0.9 * self.rng.standard_normal((len(clusters), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def words(self, n: int) -> list[str]:
        return [self.vocab[i] for i in self.rng.choice(len(self.vocab), n, p=self.p)]

    def batch(self, start: int, n: int) -> str:
        return json.dumps(self.items(start, n))

    def items(self, start: int, n: int) -> list[dict]:
        clusters = self.rng.integers(0, len(self.centers), n)
        vecs = np.round(self.vectors(clusters), 5)
        items = []
        for j in range(n):
            i = start + j
            items.append({
                "content": f"memory {i}: " + " ".join(self.words(int(self.rng.integers(12, 40)))),
                "embedding": vec_literal(vecs[j], 5),   # pgvector text: the fast path
                "memory_type": TYPES[i % len(TYPES)],
                "namespace": f"ns-{i % NAMESPACES}",
                "metadata": {"cluster": int(clusters[j]), "i": i},
            })
        return items


def vacuum_after_bulk_load(conn: psycopg.Connection) -> None:
    """What an operator runs after a bulk load (docs/memory.md, "Bulk loads"): the new rows are
    neither all-visible nor analysed (and the fold left the per-namespace deltas dead), and
    autovacuum would otherwise run through the searches measured next."""
    for table in ("memories", "memory_terms", "memory_bm25_deltas", "memory_bm25_term_stats", "memory_bm25_term_totals"):
        conn.execute(f"VACUUM ANALYZE animus.{table}")


def vec_literal(v: np.ndarray, digits: int = 6) -> str:
    return "[" + ",".join(f"{x:.{digits}f}" for x in v) + "]"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def timed(conn: psycopg.Connection, sql: str, params_list: list[tuple]) -> tuple[list[float], list[list]]:
    times, results = [], []
    for params in params_list:
        t = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        times.append((time.perf_counter() - t) * 1000)
        results.append(rows)
    return times, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2, help="parallel workers of the HNSW build (memory_finish_bulk_load)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="connections the bulk load stores batches on at once (Client.bulk_store_memories), "
                         "and the bare INSERT baseline too")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    ap.add_argument("--index", default="hnsw",
                    help="vector index kind(s), comma-separated, each on a fresh database with the same data: "
                         "hnsw (default), ivfflat, or hnsw,ivfflat (then a comparison at the end)")
    ap.add_argument("--lists", type=int, default=None, help="IVFFlat lists (default: rows / 1000)")
    ap.add_argument("--probes", type=int, default=None, help="IVFFlat probes (default: sqrt(lists))")
    ap.add_argument("--halfvec", action="store_true", help="index the embeddings as halfvec (memory_configure_vector_index)")
    ap.add_argument("--ef-construction", type=int, default=None,
                    help="HNSW build list (memory_configure_vector_index; default: pgvector's 64)")
    ap.add_argument("--latent-dim", type=int, default=None,
                    help="clusters in this many dimensions, projected into 384 (80: real-embedding-like; default: all 384)")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.index.split(",") if k.strip()]
    if not kinds or any(k not in ("hnsw", "ivfflat") for k in kinds):
        ap.error("--index takes hnsw, ivfflat or hnsw,ivfflat")
    results = {}
    for kind in kinds:
        results[kind] = run(args, kind, keep=args.keep and kind == kinds[-1])
    if len(kinds) > 1:
        a, b = results[kinds[0]], results[kinds[1]]
        log("")
        log(f"{kinds[1]} vs {kinds[0]} (same data, back to back; load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}):")
        log(f"{'figure':<34}{kinds[0]:>12}{kinds[1]:>12}{'ratio':>9}")
        for key, unit in [("bulk rows/s", "rows/s"), ("bulk / bare INSERT", "x"), ("index build s", "s"),
                          ("incremental rows/s", "rows/s"), ("incremental / bare INSERT", "x"),
                          ("vector p50 ms", "ms"), ("vector p95 ms", "ms"), ("vector, filtered p50 ms", "ms"),
                          ("hybrid p50 ms", "ms"), ("recall@10", ""), ("recall@10 filtered", ""), ("vector index MB", "MB")]:
            log(f"{key:<34}{a[key]:>12,.3f}{b[key]:>12,.3f}{b[key] / a[key] if a[key] else float('nan'):>8.2f}x")
    return 0


def run(args, kind: str, keep: bool) -> dict:
    t0 = time.perf_counter()
    url = deploy()
    data = Data(args.rows, args.queries, latent_dim=args.latent_dim)
    log(f"bench-memory: {args.rows:,} memories, {DIM}-d vectors clustered in {args.latent_dim or DIM} dimensions, Zipf text; database {DB} (fresh); "
        f"vector index {kind}{' on halfvec' if args.halfvec else ''}"
        f"{f', ef_construction {args.ef_construction}' if args.ef_construction and kind == 'hnsw' else ''}")
    index_name = f"memories_embedding_{kind}"

    with psycopg.connect(url, autocommit=True) as conn:
        if kind != "hnsw" or args.lists or args.probes or args.halfvec or args.ef_construction:
            # on the empty table: the bulk load's finish builds this kind, trained on the loaded rows
            conn.execute("SELECT animus.memory_configure_vector_index(%s, lists => %s, probes => %s, halfvec => %s, "
                         "ef_construction => %s)",
                         (kind, args.lists, args.probes, args.halfvec, args.ef_construction if kind == "hnsw" else None))
        # --- bulk load, empty-table path, through Client.bulk_store_memories: memory_begin_bulk_load
        # drops the vector, GIN and postings indexes, store_memories loads batches on --jobs
        # connections at once, memory_finish_bulk_load folds the BM25 statistics and rebuilds the
        # indexes (HNSW in parallel), all timed. Baseline, same batches on as many connections: a
        # bare INSERT ... SELECT from the JSON into a table with the same columns and no index, no
        # check, no generated column (what the server costs anyway).
        conn.execute("CREATE TABLE public.plain_load (namespace text, content text, memory_type text, "
                     "metadata jsonb, embedding vector(384))")
        batches = [data.items(start, min(args.batch, args.rows - start)) for start in range(0, args.rows, args.batch)]
        plain = [json.dumps(b) for b in batches[:10]]       # generated outside the timed parts
        plain_rows = sum(len(b) for b in batches[:10])
        with animus.connect(url) as client:
            t = time.perf_counter()
            res = client.bulk_store_memories((m for b in batches for m in b), batch_size=args.batch, jobs=args.jobs,
                                             parallel_workers=args.workers)
            load_s = time.perf_counter() - t - res.finish_seconds      # with the begin
            build_s = res.finish_seconds
        assert res.created == args.rows, res
        del batches

        def bare(payloads: list[str]) -> None:
            with psycopg.connect(url, autocommit=True) as c:
                for p in payloads:
                    c.execute("INSERT INTO public.plain_load SELECT e->>'namespace', e->>'content', e->>'memory_type', "
                              "e->'metadata', (e->>'embedding')::vector FROM jsonb_array_elements(%s::jsonb) e", (p,))

        t = time.perf_counter()
        threads = [threading.Thread(target=bare, args=(plain[j::args.jobs],)) for j in range(args.jobs)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        plain_rate = plain_rows / (time.perf_counter() - t)
        vacuum_after_bulk_load(conn)
        bulk_rate = args.rows / (load_s + build_s)

        # --- incremental load: the same batch form with every index in place (three batches, the
        # median; each beside the same batch as a bare INSERT, the incremental path's own baseline) ---
        inc_rows = max(args.batch, 2000)
        inc_rates, inc_plain_rates = [], []
        for b in range(3):
            payload = data.batch(args.rows + b * inc_rows, inc_rows)
            t = time.perf_counter()
            conn.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)", (payload,))
            inc_rates.append(inc_rows / (time.perf_counter() - t))
            t = time.perf_counter()
            conn.execute("INSERT INTO public.plain_load SELECT e->>'namespace', e->>'content', e->>'memory_type', "
                         "e->'metadata', (e->>'embedding')::vector FROM jsonb_array_elements(%s::jsonb) e", (payload,))
            inc_plain_rates.append(inc_rows / (time.perf_counter() - t))
        inc_rate = statistics.median(inc_rates)
        inc_plain_rate = statistics.median(inc_plain_rates)
        conn.execute("ANALYZE animus.memories")
        total = conn.execute("SELECT count(*) FROM animus.memories").fetchone()[0]

        qv = [vec_literal(v) for v in data.queries]
        filt = [json.dumps({"namespace": ns}) for ns in data.query_ns]

        # --- baseline: exact sequential search ---------------------------------------------------------
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        exact_sql = "SELECT id FROM animus.memories ORDER BY embedding <=> %s::vector, id LIMIT 10"
        exact_f_sql = ("SELECT id FROM animus.memories WHERE namespace = %s "
                       "ORDER BY embedding <=> %s::vector, id LIMIT 10")
        ex_t, ex_r = timed(conn, exact_sql, [(v,) for v in qv])
        _, exf_r = timed(conn, exact_f_sql, list(zip(data.query_ns, qv)))
        conn.execute("RESET enable_indexscan")
        conn.execute("RESET enable_bitmapscan")
        truth = [{r[0] for r in rows} for rows in ex_r]
        truth_f = [{r[0] for r in rows} for rows in exf_r]
        base = statistics.median(ex_t)

        # warm-up (caches, plans)
        for sql, p in [("SELECT count(*) FROM animus.search_memory_vector(%s::vector, 10)", (qv[0],)),
                       ("SELECT count(*) FROM animus.search_memory_text(%s, 10)", (data.query_text[0],)),
                       ("SELECT count(*) FROM animus.hybrid_search(%s, %s::vector, 10)", (data.query_text[0], qv[0]))]:
            for _ in range(3):
                conn.execute(sql, p)

        runs = {}
        sv = "SELECT id FROM animus.search_memory_vector(%s::vector, 10, %s::jsonb)"
        st = "SELECT id FROM animus.search_memory_text(%s, 10, %s::jsonb)"
        sh = "SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, %s::jsonb)"
        runs["vector"] = timed(conn, sv, [(v, "{}") for v in qv])
        runs["vector, filtered"] = timed(conn, sv, list(zip(qv, filt)))
        runs["text"] = timed(conn, st, [(q, "{}") for q in data.query_text])
        runs["text, filtered"] = timed(conn, st, list(zip(data.query_text, filt)))
        runs["hybrid"] = timed(conn, sh, [(q, v, "{}") for q, v in zip(data.query_text, qv)])
        runs["hybrid, filtered"] = timed(conn, sh, list(zip(data.query_text, qv, filt)))

        def recall(results: list[list], truths: list[set]) -> float:
            return float(np.mean([len({r[0] for r in rows} & t) / max(1, min(10, len(t)))
                                  for rows, t in zip(results, truths)]))

        rec = recall(runs["vector"][1], truth)
        rec_f = recall(runs["vector, filtered"][1], truth_f)

        k100 = [len(conn.execute("SELECT id FROM animus.search_memory_vector(%s::vector, 100)", (v,)).fetchall())
                for v in qv[:10]]
        k50f = [len(conn.execute("SELECT id FROM animus.search_memory_vector(%s::vector, 50, %s::jsonb)",
                                 (v, f)).fetchall()) for v, f in zip(qv[:10], filt[:10])]
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_table_size('animus.memories')),"
            " pg_size_pretty(pg_relation_size(%s::regclass)),"
            " pg_size_pretty(pg_relation_size('animus.memories_fts_gin')),"
            " pg_relation_size(%s::regclass)", ("animus." + index_name, "animus." + index_name)).fetchone()
        status = conn.execute("SELECT lists, probes, trained_rows FROM animus.memory_vector_index_status()").fetchone()

    log("")
    log(f"bulk load, empty table (Client.bulk_store_memories: store_memories in batches of {args.batch:,} on "
        f"{args.jobs} connection(s), memory_finish_bulk_load with {args.workers} parallel workers): {bulk_rate:,.0f} rows/s  "
        f"(load {load_s:.1f} s = {args.rows / load_s:,.0f} rows/s + index builds {build_s:.1f} s for {args.rows:,} rows)")
    log(f"baseline: bare INSERT of the same JSON batches on as many connections (no index, no check): {plain_rate:,.0f} rows/s; "
        f"store_memories bulk path = {bulk_rate / plain_rate:.2f} x, its load part alone = "
        f"{args.rows / load_s / plain_rate:.2f} x")
    log(f"incremental load (store_memories with every index in place, median of 3 batches of {inc_rows:,} into "
        f"{args.rows:,} rows): {inc_rate:,.0f} rows/s = {inc_rate / bulk_rate:.2f} x the bulk rate, "
        f"{inc_rate / inc_plain_rate:.3f} x the bare INSERT of the same batch ({inc_plain_rate:,.0f} rows/s)")
    log(f"table {total:,} rows: heap+toast {sizes[0]}, {kind} index {sizes[1]}, fts GIN {sizes[2]}"
        + (f"; ivfflat lists {status[0]}, probes {status[1]}, trained on {status[2]:,} rows" if kind == "ivfflat" else ""))
    log("")
    log(f"baseline: exact sequential cosine search, k=10: p50 {base:.2f} ms, p95 {pct(ex_t, 0.95):.2f} ms")
    log(f"{'search (k=10)':<22}{'p50 ms':>9}{'p95 ms':>9}{'p50 / exact':>13}")
    for name, (times, _) in runs.items():
        p50 = statistics.median(times)
        log(f"{name:<22}{p50:>9.2f}{pct(times, 0.95):>9.2f}{p50 / base:>12.3f}x")
    log("")
    log(f"recall@10 vs exact: unfiltered {rec:.3f}; selective filter (0.5 %) {rec_f:.3f}")
    log(f"rows returned at k=100 (above the search's hnsw.ef_search 100 / the ivfflat probes): min {min(k100)} of 100 over 10 queries")
    log(f"rows returned at k=50 with the 0.5 % filter: min {min(k50f)} of 50 over 10 queries")
    log(f"(selective filter = one namespace of {NAMESPACES}; {args.queries} queries per figure; total {time.perf_counter() - t0:.0f} s)")
    # issue 16's floors at 100,000 memories (p50 / p95 in ms, rows/s), each with its baseline of this run
    log("")
    log(f"floors (load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}):")
    floors = [("vector", 8, 16), ("text", 10, 20), ("text, filtered", 10, 20), ("hybrid", 12, 25), ("hybrid, filtered", 12, 25)]
    for name, f50, f95 in floors:
        times = runs[name][0]
        p50, p95 = statistics.median(times), pct(times, 0.95)
        log(f"  {name:<18} p50 {p50:6.2f} (<= {f50}) p95 {p95:6.2f} (<= {f95}): "
            f"{'met' if p50 <= f50 and p95 <= f95 else 'NOT met'}; p50 = {p50 / base:.3f} x exact search")
    log(f"  bulk load          {bulk_rate:8,.0f} rows/s (>= 5,000): {'met' if bulk_rate >= 5000 else 'NOT met'}; "
        f"{bulk_rate / plain_rate:.3f} x the bare INSERT ({plain_rate:,.0f} rows/s)")
    log(f"  incremental load   {inc_rate:8,.0f} rows/s (>= 1,500): {'met' if inc_rate >= 1500 else 'NOT met'}; "
        f"{inc_rate / inc_plain_rate:.3f} x the bare INSERT of the same batch ({inc_plain_rate:,.0f} rows/s)")
    log(f"  recall@10          {rec:.3f} (>= 0.95): {'met' if rec >= 0.95 else 'NOT met'}; filtered {rec_f:.3f}")

    if not keep:
        devdb.dropdb(DB)
    return {
        "bulk rows/s": bulk_rate, "bulk / bare INSERT": bulk_rate / plain_rate, "index build s": build_s,
        "incremental rows/s": inc_rate, "incremental / bare INSERT": inc_rate / inc_plain_rate,
        "vector p50 ms": statistics.median(runs["vector"][0]), "vector p95 ms": pct(runs["vector"][0], 0.95),
        "vector, filtered p50 ms": statistics.median(runs["vector, filtered"][0]),
        "hybrid p50 ms": statistics.median(runs["hybrid"][0]), "recall@10": rec, "recall@10 filtered": rec_f,
        "vector index MB": sizes[3] / 2**20,
    }


if __name__ == "__main__":
    sys.exit(main())
