#!/usr/bin/env python3
"""What lifecycle, sharing, links and reviews cost the memory (`make bench-memory-lifecycle`).

On a FRESH database (embedding_dim=384; the data of tools/bench_memory.py: clustered vectors, Zipf
text, 200 namespaces) it loads N memories and measures, in the same run:

  * p50 / p95 at k = 10 of search_memory_vector, search_memory_text and hybrid_search, unfiltered
    and with one namespace (0.5 %), first on the plain table (no memory has state: today's
    filters and plans), then with state in place -- 10 % of the memories expire in a day, 1 % have
    expired, 5 % are superseded, 5 % are private to a role -- as ratios to the plain figures
    (the issue's ceiling: 1.15x); then the plain figures again after clearing the state (noise);
  * memory_neighbors depth 2 p50 / p95 over a link graph of 3 links per memory;
  * link_memories and review_memory calls per second in one session, beside store_memory's rate
    (the baseline: the cheapest write of the API) measured in the same run;
  * re-embedding throughput (--reembed N, default 2,000, 0 = skip): N more memories in a namespace
    of their own, among the others (every index in place); a direct bulk UPDATE of their vectors
    (computed by the cheap hash embedder of tools/bench_reembed.py), then the queue-driven path
    (set_namespace_model + an animus.Worker running reembedding_handlers until none is pending),
    as a ratio to the direct one.

    python tools/bench_memory_lifecycle.py [--rows 100000] [--queries 100] [--reembed 2000] [--keep]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bench_memory as bm  # noqa: E402
import devdb  # noqa: E402

bm.DB = "animus_bench_lifecycle"


def log(msg: str) -> None:
    print(msg, flush=True)


def searches(conn, data, qv, filt) -> dict[str, list[float]]:
    """p50/p95 samples of the six searches: one untimed pass over every query first (each phase
    starts right after a bulk UPDATE and VACUUM of a fifth of the table: its first pass reads
    pages the previous phase did not), then two timed passes."""
    sv = "SELECT id FROM animus.search_memory_vector(%s::vector, 10, %s::jsonb)"
    st = "SELECT id FROM animus.search_memory_text(%s, 10, %s::jsonb)"
    sh = "SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, %s::jsonb)"
    runs = {
        "vector": (sv, [(v, "{}") for v in qv]),
        "vector, filtered": (sv, list(zip(qv, filt))),
        "text": (st, [(q, "{}") for q in data.query_text]),
        "text, filtered": (st, list(zip(data.query_text, filt))),
        "hybrid": (sh, [(q, v, "{}") for q, v in zip(data.query_text, qv)]),
        "hybrid, filtered": (sh, list(zip(data.query_text, qv, filt))),
    }
    for sql, params in runs.values():   # warm-up
        bm.timed(conn, sql, params)
    return {name: bm.timed(conn, sql, params)[0] + bm.timed(conn, sql, params)[0] for name, (sql, params) in runs.items()}


def rate(conn, sql: str, params: list[tuple]) -> float:
    t = time.perf_counter()
    for p in params:
        conn.execute(sql, p).fetchall()
    return len(params) / (time.perf_counter() - t)


def reembedding(url: str, data, n: int, concurrency: int) -> tuple[float, float]:
    """(direct rows/s, queue-driven rows/s) for n memories of namespace bench-reembed."""
    import threading

    import numpy as np
    db = bm.DB
    from bench_reembed import embed   # (its import names its own database: keep ours)
    bm.DB = db
    import animus
    ns = "bench-reembed"
    with psycopg.connect(url, autocommit=True) as conn:
        items = json.loads(data.batch(0, n))
        for i, it in enumerate(items):
            it["content"] = f"re-embedding probe {i}: " + it["content"]
            it["namespace"] = ns
        conn.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb, %s)", (json.dumps(items), ns))
        ids, texts = map(list, zip(*conn.execute("SELECT id, content FROM animus.memories WHERE namespace = %s ORDER BY id",
                                                 (ns,)).fetchall()))
        t = time.perf_counter()
        vecs = [bm.vec_literal(np.array(v)) for v in embed(texts)]
        conn.execute("UPDATE animus.memories AS m SET embedding = u.e::vector, embedding_model = 'direct' "
                     "FROM unnest(%s::bigint[], %s::text[]) AS u(id, e) WHERE m.id = u.id", (ids, vecs))
        direct = len(ids) / (time.perf_counter() - t)
    emb = animus.FunctionEmbedder(embed, model="hash-384", provider="local")
    with animus.connect(url) as c:
        c.create_queue("reembed", if_not_exists=True)
        c.register_model("hash-384", bm.DIM)
        t = time.perf_counter()
        c.set_namespace_model(ns, "hash-384", queue="reembed")
        worker = animus.Worker(c, animus.reembedding_handlers(c, emb), queue="reembed",
                               concurrency=concurrency, poll_interval=0.1)
        th = threading.Thread(target=worker.run, kwargs={"install_signal_handlers": False}, daemon=True)
        th.start()
        while c.memory_reembedding_progress(ns)[0].pending > 0:
            time.sleep(0.2)
        queued = len(ids) / (time.perf_counter() - t)
        worker.stop()
        th.join(30)
    return direct, queued


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reembed", type=int, default=2000, help="memories re-embedded per path (0: skip)")
    ap.add_argument("--concurrency", type=int, default=4, help="worker slots of the queue-driven re-embedding")
    args = ap.parse_args()
    t0 = time.perf_counter()
    url = bm.deploy()
    data = bm.Data(args.rows, args.queries)
    log(f"bench-memory-lifecycle: {args.rows:,} memories, {bm.DIM}-d, database {bm.DB} (fresh)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT animus.memory_begin_bulk_load()")
        for start in range(0, args.rows, args.batch):
            conn.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)",
                         (data.batch(start, min(args.batch, args.rows - start)),))
        conn.execute("SELECT animus.memory_finish_bulk_load(parallel_workers => 2)")
        conn.execute("VACUUM ANALYZE animus.memories")
        lo, hi = conn.execute("SELECT min(id), max(id) FROM animus.memories").fetchone()
        qv = [bm.vec_literal(v) for v in data.queries]
        filt = [json.dumps({"namespace": ns}) for ns in data.query_ns]

        plain = searches(conn, data, qv, filt)

        conn.execute("DROP ROLE IF EXISTS animus_bench_owner")
        conn.execute("CREATE ROLE animus_bench_owner NOLOGIN")
        t = time.perf_counter()
        # Which memories get state: by a hash of the id, so that every namespace has its share (a
        # modulus of the id would hide whole namespaces: they are assigned by the row's number
        # modulo 200); a superseded memory's successor is the next memory of its namespace
        # (store_memory refuses a supersession across namespaces, ZA217).
        pick = "abs(hashint8(id)::bigint) % 100"
        conn.execute(f"UPDATE animus.memories SET expires_at = now() + interval '1 day' WHERE {pick} < 10")
        conn.execute(f"UPDATE animus.memories SET expires_at = now() - interval '1 hour' WHERE {pick} = 10")
        conn.execute(f"UPDATE animus.memories AS m SET superseded_by = n.id, superseded_at = now() "
                     f"FROM animus.memories AS n WHERE {pick.replace('id', 'm.id')} BETWEEN 11 AND 15 "
                     f"AND n.id = m.id + {bm.NAMESPACES} AND n.namespace = m.namespace")
        conn.execute(f"UPDATE animus.memories SET visibility = 'private', owner_role = 'animus_bench_owner'::regrole "
                     f"WHERE {pick} BETWEEN 16 AND 20")
        conn.execute("VACUUM ANALYZE animus.memories")
        state_s = time.perf_counter() - t
        n_state = conn.execute("SELECT count(*) FROM animus.memories WHERE metadata ? '_animus'").fetchone()[0]
        stateful = searches(conn, data, qv, filt)

        conn.execute("UPDATE animus.memories SET expires_at = NULL, superseded_by = NULL, superseded_at = NULL, "
                     "visibility = 'namespace', owner_role = NULL WHERE metadata ? '_animus'")
        conn.execute("VACUUM ANALYZE animus.memories")
        plain2 = searches(conn, data, qv, filt)

        # links: 3 per memory to memories of the same cluster neighbourhood (random ids)
        rng = data.rng
        ids = list(range(lo, hi + 1))
        t = time.perf_counter()
        conn.execute("""INSERT INTO animus.memory_links (source_id, target_id, relation, weight)
                        SELECT s, t, 'related', 1 FROM (
                          SELECT s, %s + floor(random() * (%s - %s + 1))::bigint AS t
                            FROM generate_series(%s::bigint, %s::bigint) AS s, generate_series(1, 3)) x
                         WHERE s <> t ON CONFLICT DO NOTHING""", (lo, hi, lo, lo, hi))
        links_load_s = time.perf_counter() - t
        n_links = conn.execute("SELECT count(*) FROM animus.memory_links").fetchone()[0]
        conn.execute("ANALYZE animus.memory_links")
        starts = [int(x) for x in rng.choice(ids, args.queries)]
        nb_t, nb_r = bm.timed(conn, "SELECT memory_id FROM animus.memory_neighbors(%s, 2)", [(s,) for s in starts])
        nb_rows = statistics.median(len(r) for r in nb_r)

        n = 2000
        pairs = [(int(a), int(b)) for a, b in zip(rng.choice(ids, n), rng.choice(ids, n)) if a != b]
        v0 = bm.vec_literal(data.queries[0])
        store_rate = rate(conn, "SELECT id FROM animus.store_memory(%s, %s::vector, 'fact', namespace => 'bench-w')",
                          [(f"write rate probe {i}", v0) for i in range(n)])
        link_rate = rate(conn, "SELECT source_id FROM animus.link_memories(%s, %s, 'cites')", pairs)
        rev_ids = [int(x) for x in rng.choice(ids, n)]
        review_rate = rate(conn, "SELECT memory_id FROM animus.review_memory(%s, 3)", [(i,) for i in rev_ids])

    reembed = None
    if args.reembed:
        reembed = reembedding(url, data, args.reembed, args.concurrency)

    log("")
    log(f"state set on {n_state:,} of {args.rows:,} memories in {state_s:.1f} s "
        f"(10 % expiring, 1 % expired, 5 % superseded, 5 % private; by a hash of the id, in every namespace)")
    log(f"{'search (k=10)':<20}{'plain p50':>10}{'p95':>8}{'state p50':>11}{'p95':>8}{'ratio p50':>11}{'p95':>7}"
        f"{'plain again p50':>17}")
    worst = 0.0
    for name in plain:
        a50, a95 = statistics.median(plain[name]), bm.pct(plain[name], 0.95)
        b50, b95 = statistics.median(stateful[name]), bm.pct(stateful[name], 0.95)
        c50 = statistics.median(plain2[name])
        base = (a50 + c50) / 2
        worst = max(worst, b50 / base)
        log(f"{name:<20}{a50:>10.2f}{a95:>8.2f}{b50:>11.2f}{b95:>8.2f}{b50 / base:>10.2f}x{b95 / a95:>6.2f}x{c50:>17.2f}")
    log(f"worst p50 ratio (state / mean of the two plain runs): {worst:.2f}x (ceiling 1.15x)")
    log("")
    log(f"memory_neighbors depth 2 over {n_links:,} links (loaded in {links_load_s:.1f} s): p50 {statistics.median(nb_t):.2f} ms, "
        f"p95 {bm.pct(nb_t, 0.95):.2f} ms, median {nb_rows:.0f} memories returned")
    log(f"write rates, one session, {n} calls each: store_memory {store_rate:,.0f}/s (baseline), "
        f"link_memories {link_rate:,.0f}/s = {link_rate / store_rate:.2f}x, review_memory {review_rate:,.0f}/s = "
        f"{review_rate / store_rate:.2f}x")
    if reembed:
        direct, queued = reembed
        log(f"re-embedding {args.reembed:,} memories among {args.rows:,} (384-d, same cheap embedder): direct bulk UPDATE "
            f"{direct:,.0f}/s (baseline); queue-driven (set_namespace_model + Worker, concurrency {args.concurrency}) "
            f"{queued:,.0f}/s = {queued / direct:.2f}x")
    log(f"({args.queries} queries per figure, two timed passes after an untimed one; total {time.perf_counter() - t0:.0f} s)")
    if not args.keep:
        with psycopg.connect(devdb.url("postgres"), autocommit=True) as c:
            devdb.dropdb(bm.DB)
            c.execute("DROP ROLE IF EXISTS animus_bench_owner")
    return 0


if __name__ == "__main__":
    sys.exit(main())
