#!/usr/bin/env python3
"""IVFFlat and HNSW recall on real embeddings (`make bench-vector-index`; NFCorpus MiniLM vectors).

The synthetic vectors of bench-memory (200 Gaussian clusters) flatter IVFFlat: its lists follow
the clusters. Real sentence embeddings are less clustered. This loads the 3,633 NFCorpus document
vectors (all-MiniLM-L6-v2, 384-d; read from the data folder, never copied) and searches them with
the 647 dev + test query vectors, through the bare index scan (animus's vector branch searches a
table this small exactly, so the index is scanned directly, with the settings the branch would
use), against the exact top 10:

  * HNSW (m 16, ef_construction 64) at hnsw.ef_search 100 (the vector branch's setting);
  * IVFFlat at several lists and probes. What matters for recall is the share of the table the
    probes scan (probes / lists) and how well the lists fit the data: at 1M rows, animus's default
    (lists = rows / 1000 = 1000, probes = sqrt(lists) = 32) scans 3.2 % of the table; here lists 36
    (100 rows a list) with probes 1-4 scans 3-11 %.

Each figure beside the exact scan's p50 (the baseline of the same run).

    python tools/bench_vector_index.py [FOLDER] [--doc-queries]     (default ../shared/data/nfcorpus)

--doc-queries searches with 400 of the document vectors instead (queries like the stored texts).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402

DB = "animus_bench_vector_index"


def lit(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in v) + "]"


def main(argv: list[str]) -> int:
    argv = [a for a in argv if not a.startswith("--")]
    folder = (Path(argv[0]) if argv else ROOT / ".." / "shared" / "data" / "nfcorpus").resolve()
    if not (folder / "emb_corpus_minilm.npy").exists():
        print(f"bench-vector-index: no NFCorpus embeddings in {folder} (pass the folder)", file=sys.stderr)
        return 2
    D = np.load(folder / "emb_corpus_minilm.npy").astype(np.float32)
    Q = np.concatenate([np.load(folder / f"emb_queries_{s}_minilm.npy").astype(np.float32) for s in ("dev", "test")])
    devdb.createdb(DB, drop=True)
    url = devdb.url(DB)
    print(f"bench-vector-index: NFCorpus MiniLM vectors, {len(D):,} documents, {len(Q)} queries; database {DB} (fresh)",
          flush=True)
    qs = [lit(q) for q in Q]
    if "--doc-queries" in sys.argv:
        # documents as queries (what "memories like this one" asks): 400 documents, their own row included
        qs = [lit(v) for v in D[np.random.default_rng(3).choice(len(D), 400, replace=False)]]
        print("queries: 400 of the documents' own vectors", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute("CREATE TABLE docs (id integer PRIMARY KEY, embedding vector(384) NOT NULL)")
        with conn.cursor() as cur, cur.copy("COPY docs (id, embedding) FROM STDIN") as cp:
            for i, v in enumerate(D):
                cp.write_row((i, lit(v)))
        conn.execute("VACUUM ANALYZE docs")
        knn = "SELECT id FROM docs ORDER BY embedding <=> %s::vector LIMIT 10"

        def run() -> tuple[list[float], list[set]]:
            times, out = [], []
            for q in qs:
                t = time.perf_counter()
                out.append({r[0] for r in conn.execute(knn, (q,))})
                times.append((time.perf_counter() - t) * 1000)
            return times, out

        conn.execute("SET enable_indexscan = off")
        ex_t, truth = run()
        conn.execute("RESET enable_indexscan")
        base = statistics.median(ex_t)
        print(f"baseline: exact scan p50 {base:.2f} ms", flush=True)
        print(f"{'index':<34}{'scanned':>9}{'recall@10':>11}{'p50 ms':>9}{'p50/exact':>11}", flush=True)
        conn.execute("SET enable_seqscan = off")

        def line(name: str, share: str) -> None:
            times, got = run()
            rec = statistics.mean(len(g & t) / 10 for g, t in zip(got, truth))
            p50 = statistics.median(times)
            print(f"{name:<34}{share:>9}{rec:>11.3f}{p50:>9.2f}{p50 / base:>10.2f}x", flush=True)

        conn.execute("CREATE INDEX docs_hnsw ON docs USING hnsw (embedding vector_cosine_ops)")
        conn.execute("SET hnsw.ef_search = 100")
        line("hnsw, ef_search 100", "")
        conn.execute("DROP INDEX docs_hnsw")
        for lists, probes_list in [(4, [1, 2, 3]), (36, [1, 2, 4, 8, 12, 18]), (60, [2, 4, 8, 16, 30])]:
            conn.execute(f"CREATE INDEX docs_ivf ON docs USING ivfflat (embedding vector_cosine_ops) WITH (lists = {lists})")
            for probes in probes_list:
                conn.execute(f"SET ivfflat.probes = {probes}")
                line(f"ivfflat lists {lists}, probes {probes}", f"{100 * probes / lists:.1f} %")
            conn.execute("DROP INDEX docs_ivf")
    devdb.dropdb(DB)
    print(f"(load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
