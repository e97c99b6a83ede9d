#!/usr/bin/env python3
"""Retrieval quality of animus semantic memory on NFCorpus (`make bench-quality`).

    python tools/bench_quality.py [FOLDER]      (default ../shared/data/nfcorpus, from the repo root)

FOLDER is the BEIR NFCorpus collection with precomputed all-MiniLM-L6-v2 embeddings, laid out as
its README describes (corpus.jsonl, queries.jsonl, qrels/{dev,test}.tsv, corpus_ids.txt,
query_ids_{dev,test}.txt, emb_*.npy). Its license allows evaluation only: animus does not ship or
copy it; this script reads it where it lies and writes nothing of it into the repository.

On a FRESH database (embedding_dim=384) it loads the 3,633 documents through the batch form
animus.store_memories, then prints nDCG@10 and Recall@100 on the dev and test queries for:
  text    animus.search_memory_text
  vector  animus.search_memory_vector (HNSW)
  hybrid  animus.hybrid_search (RRF), defaults and the dev-tuned setting; fusion => 'convex' with
          alpha tuned on dev, beside RRF (dev and test nDCG@10 at k = 10)
  exact   exact cosine search (numpy, float32): the ceiling of the vector branch
  ts_rank baselines: PostgreSQL ts_rank over an OR of the query terms, 'english' and 'simple'
  BM25    the Python reference BM25 (tools/bm25_reference.py) over the same PostgreSQL lexemes,
          and search_memory_text at k1=0.9/b=0.4 beside the default (docs/bm25.md)
Metrics follow BEIR / trec_eval: graded gains (1, 2), ideal DCG from the qrels, averaged over
the queries of the split. Tune on dev, report on test.
"""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402
import bm25_reference  # noqa: E402

DB = "animus_bench_quality"
FILES = ["corpus.jsonl", "queries.jsonl", "qrels/dev.tsv", "qrels/test.tsv", "corpus_ids.txt",
         "query_ids_dev.txt", "query_ids_test.txt", "emb_corpus_minilm.npy",
         "emb_queries_dev_minilm.npy", "emb_queries_test_minilm.npy"]
K = 100


def fail_absent(folder: Path, missing: list[str]) -> int:
    print(f"bench-quality: the NFCorpus collection is not at {folder}"
          + (f" (missing: {', '.join(missing)})" if missing and folder.is_dir() else ""), file=sys.stderr)
    print("  Pass its folder: make bench-quality NFCORPUS=/path/to/nfcorpus "
          "(or python tools/bench_quality.py /path/to/nfcorpus).", file=sys.stderr)
    print("  It is not part of animus (evaluation-only license); nothing was measured.", file=sys.stderr)
    return 2


def load_qrels(folder: Path, split: str) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        for row in list(csv.reader(f, delimiter="\t"))[1:]:
            qid, did, grade = row
            qrels.setdefault(qid, {})[did] = int(grade)
    return qrels


def ndcg10(ranked: list[str], rel: dict[str, int]) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall100(ranked: list[str], rel: dict[str, int]) -> float:
    relevant = {d for d, g in rel.items() if g > 0}
    return len(relevant & set(ranked[:100])) / len(relevant) if relevant else 0.0


def evaluate(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> tuple[float, float]:
    qids = [q for q in qrels if q in runs]
    return (float(np.mean([ndcg10(runs[q], qrels[q]) for q in qids])),
            float(np.mean([recall100(runs[q], qrels[q]) for q in qids])))


def vec_literal(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def main(argv: list[str]) -> int:
    keep = "--keep" in argv
    argv = [a for a in argv if a != "--keep"]
    folder = Path(argv[0]) if argv else (ROOT / ".." / "shared" / "data" / "nfcorpus")
    folder = folder.resolve()
    missing = [f for f in FILES if not (folder / f).exists()]
    if not folder.is_dir() or missing:
        return fail_absent(folder, missing)
    t0 = time.perf_counter()
    meta = json.loads((folder / "embeddings.json").read_text()) if (folder / "embeddings.json").exists() else {}
    model = str(meta.get("model", "all-MiniLM-L6-v2"))

    corpus = {}
    for line in open(folder / "corpus.jsonl", encoding="utf-8"):
        doc = json.loads(line)
        corpus[doc["_id"]] = (doc.get("title", "") + " " + doc.get("text", "")).strip()
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}
    doc_ids = (folder / "corpus_ids.txt").read_text(encoding="utf-8").split()
    D = np.load(folder / "emb_corpus_minilm.npy").astype(np.float32)
    splits = {}
    for split in ("dev", "test"):
        qids = (folder / f"query_ids_{split}.txt").read_text(encoding="utf-8").split()
        Q = np.load(folder / f"emb_queries_{split}_minilm.npy").astype(np.float32)
        splits[split] = (qids, Q, load_qrels(folder, split))

    devdb.createdb(DB, drop=True)
    url = devdb.url(DB)
    target = "db:pg://" + url.split("://", 1)[1]
    subprocess.run(["sqitch", "deploy", "--db-client", devdb.pgbin("psql"), "--set", "embedding_dim=384",
                    "--set", f"embedding_model={model}", target], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "SQITCH_FULLNAME": "bench", "SQITCH_EMAIL": "bench@animus.invalid"})

    print(f"bench-quality: NFCorpus from {folder}: {len(doc_ids):,} documents, "
          f"{len(splits['dev'][0])} dev / {len(splits['test'][0])} test queries; database {DB} (fresh)", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        # NFCorpus has documents with identical text; animus stores one memory per (namespace,
        # content), so a memory stands for all of its documents (listed together, in corpus order).
        id_to_doc: dict[int, list[str]] = {}
        t = time.perf_counter()
        for start in range(0, len(doc_ids), 1000):
            chunk = doc_ids[start:start + 1000]
            items = [{"content": corpus[d], "embedding": vec_literal(D[start + i]), "memory_type": "document",
                      "metadata": {"doc_id": d}} for i, d in enumerate(chunk)]
            for ordinal, mid, _ in conn.execute("SELECT * FROM animus.store_memories(%s::jsonb, 'nfcorpus')",
                                                (json.dumps(items),)):
                id_to_doc.setdefault(mid, []).append(chunk[ordinal - 1])
        load_s = time.perf_counter() - t
        # the 'simple' baseline's own tsvectors (a plain table of this throw-away database)
        conn.execute("CREATE TABLE public.simple_fts AS SELECT id, to_tsvector('simple', content) AS tsv FROM animus.memories")
        conn.execute("CREATE INDEX ON public.simple_fts USING gin (tsv)")
        conn.execute("VACUUM ANALYZE animus.memories")
        conn.execute("VACUUM ANALYZE public.simple_fts")
        print(f"loaded {len(doc_ids):,} documents through store_memories in {load_s:.1f} s "
              f"({len(id_to_doc):,} memories: documents with identical text are one memory)", flush=True)

        def run(sql: str, params_of) -> tuple[dict[str, dict[str, list[str]]], float]:
            out, n, t = {}, 0, time.perf_counter()
            for split, (qids, Q, _) in splits.items():
                out[split] = {}
                for i, qid in enumerate(qids):
                    rows = conn.execute(sql, params_of(queries[qid], vec_literal(Q[i]))).fetchall()
                    out[split][qid] = [d for r in rows for d in id_to_doc[r[0]]]
                    n += 1
            return out, (time.perf_counter() - t) * 1000 / n

        def run_split(split: str, sql: str, params_of) -> dict[str, list[str]]:
            qids, Q, _ = splits[split]
            return {qid: [d for r in conn.execute(sql, params_of(queries[qid], vec_literal(Q[i]))).fetchall()
                          for d in id_to_doc[r[0]]]
                    for i, qid in enumerate(qids)}

        systems: dict[str, tuple[dict, float]] = {}
        systems["text (search_memory_text)"] = run(
            f"SELECT id FROM animus.search_memory_text(%s, {K})", lambda q, v: (q,))
        # BM25 (change memory_bm25): the Python reference over the very same lexemes
        # (tools/bm25_reference.py) and search_memory_text at the other usual k1/b; the text row
        # above uses the defaults (memory_bm25_settings).
        k1, b = conn.execute("SELECT k1, b FROM animus.memory_bm25_settings").fetchone()
        mem_ids = sorted(id_to_doc)
        contents = dict(conn.execute("SELECT id, content FROM animus.memories").fetchall())
        toks = bm25_reference.tokenise(conn, [contents[i] for i in mem_ids])
        for rk1, rb in ((k1, b), (0.9, 0.4)):
            ref = bm25_reference.BM25(toks, k1=rk1, b=rb)
            runs_ref, t = {}, time.perf_counter()
            for split, (qids, _, _) in splits.items():
                q_toks = bm25_reference.tokenise(conn, [queries[q] for q in qids])
                runs_ref[split] = {qid: [d for i, _ in ref.top(qt, K) for d in id_to_doc[mem_ids[i]]]
                                   for qid, qt in zip(qids, q_toks)}
            systems[f"reference BM25 (Python, same lexemes) k1={rk1} b={rb}"] = (runs_ref, float("nan"))
        conn.execute("SELECT animus.memory_bm25_configure(k1 => 0.9, b => 0.4)")
        conn.execute("SELECT animus.memory_bm25_reindex()")
        systems["text (search_memory_text) BM25 k1=0.9 b=0.4"] = run(
            f"SELECT id FROM animus.search_memory_text(%s, {K})", lambda q, v: (q,))
        conn.execute("SELECT animus.memory_bm25_configure(k1 => %s, b => %s)", (k1, b))
        conn.execute("SELECT animus.memory_bm25_reindex()")
        systems["vector (search_memory_vector)"] = run(
            f"SELECT id FROM animus.search_memory_vector(%s::vector, {K})", lambda q, v: (v,))
        systems["hybrid (defaults)"] = run(
            f"SELECT id FROM animus.hybrid_search(%s, %s::vector, {K})", lambda q, v: (q, v))
        systems["baseline ts_rank OR, english"] = run(
            f"""SELECT m.id FROM animus.memories m, animus.memory_or_tsquery(%s) q
                 WHERE m.fts @@ q ORDER BY ts_rank(m.fts, q) DESC, m.id LIMIT {K}""", lambda q, v: (q,))
        systems["baseline ts_rank OR, simple"] = run(
            f"""SELECT m.id FROM public.simple_fts m,
                       (SELECT string_agg(quote_literal(l), ' | ')::tsquery AS q
                          FROM unnest(tsvector_to_array(to_tsvector('simple', %s))) l) s
                 WHERE m.tsv @@ s.q
                 ORDER BY ts_rank(m.tsv, s.q) DESC, m.id LIMIT {K}""", lambda q, v: (q,))

        # the candidates default (rows per branch) for a top-10 (k = 10, as agents call it; the rows
        # above ask for K = 100 rows for Recall@100): choose on dev, report test. Fewer candidates is
        # less work for both branches (docs/bm25.md, hybrid latency).
        for cand in ("default", 20, 30, 50, 100):
            arg = "" if cand == "default" else f", candidates => {cand}"
            r, ms = run(f"SELECT id FROM animus.hybrid_search(%s, %s::vector, 10{arg})", lambda q, v: (q, v))
            print(f"  candidates sweep, k = 10: hybrid rrf_k=60 candidates={cand}: nDCG@10 dev "
                  f"{evaluate(r['dev'], splits['dev'][2])[0]:.4f} test {evaluate(r['test'], splits['test'][2])[0]:.4f} "
                  f"({ms:.1f} ms/query)", flush=True)
        # Fusion (issue 16, part 7): RRF against a convex combination of theoretical-min-max
        # normalised scores (fusion => 'convex', alpha = weight of the vector branch). alpha is
        # tuned on dev only; both are reported on dev and test at k = 10, and the default of
        # hybrid_search is whichever wins on dev.
        fusion_rows = []
        r, ms = run("SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, fusion => 'rrf')", lambda q, v: (q, v))
        fusion_rows.append(("rrf (rrf_k 60)", evaluate(r["dev"], splits["dev"][2])[0],
                            evaluate(r["test"], splits["test"][2])[0], ms))
        best_alpha = None
        for alpha in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            r = run_split("dev", f"SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, fusion => 'convex', "
                                 f"alpha => {alpha})", lambda q, v: (q, v))
            nd = evaluate(r, splits["dev"][2])[0]
            print(f"  dev tuning: hybrid convex alpha={alpha}: nDCG@10 {nd:.4f}", flush=True)
            if best_alpha is None or nd > best_alpha[0]:
                best_alpha = (nd, alpha)
        r, ms = run(f"SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, fusion => 'convex', "
                    f"alpha => {best_alpha[1]})", lambda q, v: (q, v))
        fusion_rows.append((f"convex (dev-tuned alpha {best_alpha[1]})", evaluate(r["dev"], splits["dev"][2])[0],
                            evaluate(r["test"], splits["test"][2])[0], ms))
        r, ms = run("SELECT id FROM animus.hybrid_search(%s, %s::vector, 10)", lambda q, v: (q, v))
        fusion_rows.append(("hybrid_search defaults", evaluate(r["dev"], splits["dev"][2])[0],
                            evaluate(r["test"], splits["test"][2])[0], ms))
        # dev tuning of the hybrid knobs (report the best on test)
        grid = [(rrf_k, tw, cand) for rrf_k in (10, 60) for tw in (1.0,) for cand in (100, 200)]
        best = None
        dev_qrels = splits["dev"][2]
        for rrf_k, tw, cand in grid:
            r = run_split("dev", f"SELECT id FROM animus.hybrid_search(%s, %s::vector, {K}, text_weight => {tw}, "
                                 f"rrf_k => {rrf_k}, candidates => {cand})", lambda q, v: (q, v))
            nd = evaluate(r, dev_qrels)[0]
            print(f"  dev tuning: hybrid rrf_k={rrf_k} text_weight={tw} candidates={cand}: nDCG@10 {nd:.4f}", flush=True)
            if best is None or nd > best[0]:
                best = (nd, rrf_k, tw, cand)
        _, rrf_k, tw, cand = best
        systems[f"hybrid (dev-tuned: rrf_k={rrf_k}, text_weight={tw}, candidates={cand})"] = run(
            f"SELECT id FROM animus.hybrid_search(%s, %s::vector, {K}, text_weight => {tw}, rrf_k => {rrf_k}, "
            f"candidates => {cand})", lambda q, v: (q, v))

    exact: dict[str, dict[str, list[str]]] = {}
    for split, (qids, Q, _) in splits.items():
        scores = Q @ D.T
        top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        exact[split] = {qid: [doc_ids[j] for j in top[i]] for i, qid in enumerate(qids)}
    systems["exact cosine (numpy, ceiling of vector)"] = (exact, float("nan"))
    # The same exact search with trec_eval's tie rule (equal scores: doc id descending), which is
    # how the published MiniLM number (test nDCG@10 0.31594) was computed: a check of this script.
    desc = np.argsort(np.argsort(np.array(doc_ids), kind="stable"))  # rank of each id in ascending order
    qids_t, Q_t, qrels_t = splits["test"]
    S = Q_t @ D.T
    trec_runs = {qid: [doc_ids[j] for j in np.lexsort((-desc, -S[i]))[:K]] for i, qid in enumerate(qids_t)}
    trec_check = evaluate(trec_runs, qrels_t)

    print("", flush=True)
    print(f"{'system':<62}{'dev nDCG@10':>12}{'test nDCG@10':>13}{'test R@100':>11}{'ms/query':>10}")
    results = {}
    for name, (runs, ms) in systems.items():
        dev = evaluate(runs["dev"], splits["dev"][2])
        test = evaluate(runs["test"], splits["test"][2])
        results[name] = test
        print(f"{name:<62}{dev[0]:>12.4f}{test[0]:>13.4f}{test[1]:>11.4f}{ms:>10.1f}")

    def get(prefix: str) -> tuple[float, float]:
        return next(v for k, v in results.items() if k.startswith(prefix))

    text, vec, hyb, ex = get("text"), get("vector"), get("hybrid (defaults)"), get("exact")
    tuned = get("hybrid (dev-tuned")
    base = get("baseline ts_rank OR, english")
    overlap = float(np.mean([len(set(systems["vector (search_memory_vector)"][0]["test"][q][:10])
                                 & set(exact["test"][q][:10])) / 10 for q in exact["test"]]))
    print("")
    print("fusion, k = 10 (alpha tuned on dev only):")
    print(f"  {'fusion':<40}{'dev nDCG@10':>12}{'test nDCG@10':>13}{'ms/query':>10}")
    for name, dev_nd, test_nd, ms in fusion_rows:
        print(f"  {name:<40}{dev_nd:>12.4f}{test_nd:>13.4f}{ms:>10.1f}")
    winner = max(fusion_rows[:2], key=lambda row: row[1])
    print(f"  wins on dev: {winner[0]} (test {winner[2]:.4f}); the defaults give dev {fusion_rows[2][1]:.4f}")
    print("")
    print("test split, as ratios:")
    print(f"  hybrid (defaults) / best branch, nDCG@10: {hyb[0] / max(text[0], vec[0]):.3f}   "
          f"R@100: {hyb[1] / max(text[1], vec[1]):.3f}")
    print(f"  hybrid (dev-tuned) / best branch, nDCG@10: {tuned[0] / max(text[0], vec[0]):.3f}")
    print(f"  vector / exact, nDCG@10: {vec[0] / ex[0]:.4f}   (top-10 overlap with exact: {overlap:.4f})")
    print(f"  text / ts_rank-OR baseline (english), nDCG@10: {text[0] / base[0]:.3f}")
    ref = get("reference BM25")
    print(f"  text (BM25, SQL) - reference BM25 (Python), nDCG@10: {text[0] - ref[0]:+.4f} (target: within 0.01)")
    print(f"check: exact cosine with trec_eval tie order gives test nDCG@10 {trec_check[0]:.5f}, R@100 {trec_check[1]:.5f} "
          f"(published MiniLM: 0.31594, 0.31151)")
    print(f"(total {time.perf_counter() - t0:.0f} s)")
    if not keep:
        devdb.dropdb(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
