#!/usr/bin/env python3
"""Re-embedding throughput: the queue-driven path against a direct bulk update (`make bench-reembed`).

On a FRESH database (embedding_dim=384) with N memories: the direct path computes every vector
and writes them in one UPDATE ... FROM unnest (what an operator script would do); the queue path
is set_namespace_model (one work item per memory) and animus.Worker running
animus.reembedding_handlers (get_memory, embed, memory_set_embedding per item) until
memory_reembedding_progress reports none pending. The embedder is the same cheap deterministic
function in both (a hash of the text into a unit vector), so the figures compare the pipelines,
not a model; with a real model the embedding time dominates both.

    python tools/bench_reembed.py [--rows 2000] [--concurrency 4]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "python"))
import bench_memory as bm  # noqa: E402
import devdb  # noqa: E402

import animus  # noqa: E402

bm.DB = "animus_bench_reembed"


def embed(texts):
    out = []
    for t in texts:
        rng = np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little"))
        v = rng.standard_normal(bm.DIM)
        out.append((v / np.linalg.norm(v)).tolist())
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    url = bm.deploy()
    data = bm.Data(args.rows, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb, 'kb')", (data.batch(0, args.rows),))
        conn.execute("UPDATE animus.memories SET namespace = 'kb'")
        ids, texts = map(list, zip(*conn.execute("SELECT id, content FROM animus.memories ORDER BY id").fetchall()))
        t = time.perf_counter()
        vecs = [bm.vec_literal(np.array(v)) for v in embed(texts)]
        conn.execute("UPDATE animus.memories AS m SET embedding = u.e::vector, embedding_model = 'direct' "
                     "FROM unnest(%s::bigint[], %s::text[]) AS u(id, e) WHERE m.id = u.id", (ids, vecs))
        direct = args.rows / (time.perf_counter() - t)
    emb = animus.FunctionEmbedder(embed, model="hash-384", provider="local")
    with animus.connect(url) as c:
        c.create_queue("reembed")
        c.register_model("hash-384", bm.DIM)
        t = time.perf_counter()
        c.set_namespace_model("kb", "hash-384", queue="reembed")
        worker = animus.Worker(c, animus.reembedding_handlers(c, emb), queue="reembed",
                               concurrency=args.concurrency, poll_interval=0.1)
        import threading
        th = threading.Thread(target=worker.run, kwargs={"install_signal_handlers": False}, daemon=True)
        th.start()
        while c.memory_reembedding_progress("kb")[0].pending > 0:
            time.sleep(0.2)
        queued = args.rows / (time.perf_counter() - t)
        worker.stop()
        th.join(30)
    print(f"re-embedding {args.rows:,} memories (384-d, same cheap embedder): direct bulk UPDATE {direct:,.0f}/s; "
          f"queue-driven (set_namespace_model + Worker, concurrency {args.concurrency}) {queued:,.0f}/s = "
          f"{queued / direct:.3f}x the direct path")
    devdb.dropdb(bm.DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
