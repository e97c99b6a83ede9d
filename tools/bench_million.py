#!/usr/bin/env python3
"""A million memories (`make bench-million`; not part of `make test`).

Loads 1,000,000 synthetic memories of 384 dimensions through the public bulk path
(animus.memory_begin_bulk_load -> animus.store_memories in batches -> animus.memory_finish_bulk_load)
and measures at each checkpoint (default 100k, 250k, 500k, 1M), so the output is a growth curve:

  * load rate of the stage (store_memories) and the index builds (memory_finish_bulk_load), and the
    cumulative figures; the "one-shot" figure = every load part + the final build only (what a single
    bulk load of N rows costs: the intermediate builds exist only to measure the curve);
  * exact sequential cosine search (index scans off) on a sample of queries: the baseline of the
    latency ratios and the ground truth of recall@10;
  * p50 / p95 at k = 10 of search_memory_vector, search_memory_text and hybrid_search, unfiltered and
    with a selective filter (one namespace of 200 = 0.5 % of the rows), with the floors of issue 16
    (vector p50 <= 8 ms with recall@10 >= 0.95, text p50 <= 30 ms, hybrid p50 <= 40 ms);
  * the size of the table and of every index of animus.memories and of the BM25 tables, and how
    each grew from the first checkpoint.

The data come from tools/bench_memory.py (clustered unit vectors, Zipf text; imported, not copied);
each batch is seeded by its first row number, so a run that stopped can resume (--resume) in the
same database and reproduces the same rows. Every checkpoint's results are printed when measured and
appended as one JSON line to the results file (default .bench/million.jsonl), which --resume reads
back to print the whole curve.

    python tools/bench_million.py [--rows 1000000] [--checkpoints 100000,250000,500000,1000000]
        [--queries 100] [--exact-queries 50] [--batch 5000] [--workers 2] [--mwm 4GB] [--resume] [--drop]
        [--index hnsw|ivfflat] [--lists N] [--probes N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bench_memory  # noqa: E402  (the data generator and helpers of make bench-memory)
import devdb  # noqa: E402
from bench_memory import DIM, NAMESPACES, Data, pct, timed, vacuum_after_bulk_load, vec_literal  # noqa: E402

DB = "animus_bench_million"
SEED = 7
FLOORS = {"vector": 8.0, "text": 30.0, "hybrid": 40.0}


def log(msg: str = "") -> None:
    print(msg, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def seeded_batch(data: Data, start: int, n: int) -> str:
    """The batch of rows start .. start+n-1, independent of the batches before it (resumable)."""
    data.rng = np.random.default_rng([SEED, start])
    return data.batch(start, n)


def vector_index_absent(conn: psycopg.Connection) -> bool:
    """True during a bulk load: neither kind of vector index exists."""
    return conn.execute("SELECT to_regclass('animus.memories_embedding_hnsw') IS NULL "
                        "AND to_regclass('animus.memories_embedding_ivfflat') IS NULL").fetchone()[0]


def vector_index_bytes(sizes_: dict[str, int]) -> int:
    return sizes_.get("  idx memories_embedding_hnsw", 0) + sizes_.get("  idx memories_embedding_ivfflat", 0)


def db_exists() -> bool:
    return bool(devdb.admin_sql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"))


def sizes(conn: psycopg.Connection) -> dict[str, int]:
    """Bytes of animus.memories (heap + TOAST), of each of its indexes, and of the BM25 tables and
    their indexes: every relation of schema animus whose name starts with memor."""
    rows = conn.execute(
        "SELECT c.relname, c.relkind, CASE WHEN c.relkind = 'r' THEN pg_table_size(c.oid) "
        "ELSE pg_relation_size(c.oid) END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'animus' AND c.relkind IN ('r', 'i') AND c.relname LIKE 'memor%' "
        "ORDER BY c.relkind DESC, c.relname").fetchall()
    return {(name if kind == "r" else f"  idx {name}"): int(size) for name, kind, size in rows}


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def measure(conn: psycopg.Connection, data: Data, n_rows: int, exact_queries: int) -> dict:
    qv = [vec_literal(v) for v in data.queries]
    filt = [json.dumps({"namespace": ns}) for ns in data.query_ns]
    out: dict = {}

    # Baseline and ground truth: exact sequential search (parallel seq scan allowed) on a sample.
    conn.execute("SET enable_indexscan = off")
    conn.execute("SET enable_bitmapscan = off")
    exact_sql = "SELECT id FROM animus.memories ORDER BY embedding <=> %s::vector, id LIMIT 10"
    exact_f_sql = ("SELECT id FROM animus.memories WHERE namespace = %s "
                   "ORDER BY embedding <=> %s::vector, id LIMIT 10")
    ex_t, ex_r = timed(conn, exact_sql, [(v,) for v in qv[:exact_queries]])
    conn.execute("RESET enable_bitmapscan")
    # The filtered ground truth may use the namespace index through a bitmap scan (exact either
    # way); plain index scans stay off, or the planner may order by the vector index (an IVFFlat
    # scan at the session's ivfflat.probes 1 is not exact).
    _, exf_r = timed(conn, exact_f_sql, list(zip(data.query_ns, qv)))
    conn.execute("RESET enable_indexscan")
    truth = [{r[0] for r in rows} for rows in ex_r]
    truth_f = [{r[0] for r in rows} for rows in exf_r]
    out["exact_p50"] = statistics.median(ex_t)
    out["exact_p95"] = pct(ex_t, 0.95)

    for sql, p in [("SELECT count(*) FROM animus.search_memory_vector(%s::vector, 10)", (qv[0],)),
                   ("SELECT count(*) FROM animus.search_memory_text(%s, 10)", (data.query_text[0],)),
                   ("SELECT count(*) FROM animus.hybrid_search(%s, %s::vector, 10)", (data.query_text[0], qv[0]))]:
        for _ in range(3):
            conn.execute(sql, p)

    sv = "SELECT id FROM animus.search_memory_vector(%s::vector, 10, %s::jsonb)"
    st = "SELECT id FROM animus.search_memory_text(%s, 10, %s::jsonb)"
    sh = "SELECT id FROM animus.hybrid_search(%s, %s::vector, 10, %s::jsonb)"
    runs = {
        "vector": timed(conn, sv, [(v, "{}") for v in qv]),
        "vector, filtered": timed(conn, sv, list(zip(qv, filt))),
        "text": timed(conn, st, [(q, "{}") for q in data.query_text]),
        "text, filtered": timed(conn, st, list(zip(data.query_text, filt))),
        "hybrid": timed(conn, sh, [(q, v, "{}") for q, v in zip(data.query_text, qv)]),
        "hybrid, filtered": timed(conn, sh, list(zip(data.query_text, qv, filt))),
    }

    def recall(results: list[list], truths: list[set]) -> float:
        return float(np.mean([len({r[0] for r in rows} & t) / max(1, min(10, len(t)))
                              for rows, t in zip(results, truths)]))

    out["search"] = {name: {"p50": statistics.median(t), "p95": pct(t, 0.95)} for name, (t, _) in runs.items()}
    out["recall"] = recall(runs["vector"][1][:exact_queries], truth)
    out["recall_filtered"] = recall(runs["vector, filtered"][1], truth_f)
    out["sizes"] = sizes(conn)
    out["vector_index"] = list(conn.execute("SELECT kind, lists, probes, trained_rows, ef_search FROM animus.memory_vector_index_status()").fetchone())
    out["shared_buffers"] = conn.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))").fetchone()[0]
    out["rows"] = n_rows
    return out


def report(r: dict, first: dict | None) -> None:
    st = r["stage"]
    log(f"--- {r['rows']:,} memories  (loadavg {r['loadavg']}) ---")
    log(f"stage load: {st['rows']:,} rows in {st['load_s']:.1f} s = {st['rows'] / st['load_s']:,.0f} rows/s; "
        f"index builds {st['build_s']:.1f} s; BM25 refresh + VACUUM ANALYZE {st['vacuum_s']:.1f} s")
    c = r["cumulative"]
    log(f"cumulative: load parts {c['load_s']:.0f} s, all builds {c['build_s']:.0f} s, wall {c['wall_s']:.0f} s; "
        f"one-shot bulk load of {r['rows']:,} (load parts + this build) = {c['load_s'] + st['build_s']:.0f} s = "
        f"{r['rows'] / (c['load_s'] + st['build_s']):,.0f} rows/s")
    m = r["measure"]
    log(f"baseline: exact sequential cosine search, k=10, {r['exact_queries']} queries: "
        f"p50 {m['exact_p50']:.1f} ms, p95 {m['exact_p95']:.1f} ms")
    log(f"{'search (k=10)':<20}{'p50 ms':>9}{'p95 ms':>9}{'p50/exact':>11}{'floor p50':>11}{'x first':>11}")
    for name, s in m["search"].items():
        floor = FLOORS.get(name)
        mark = "" if floor is None else (f"{floor:>7.0f} {'ok' if s['p50'] <= floor else 'MISS'}")
        grow = f"{s['p50'] / first['measure']['search'][name]['p50']:>10.2f}x" if first else f"{'':>11}"
        log(f"{name:<20}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p50'] / m['exact_p50']:>10.4f}x{grow}{mark:>11}")
    if m.get("vector_index"):
        kind, lists, probes, trained, ef = (m["vector_index"] + [None])[:5]   # older results lack ef_search
        log(f"vector index: {kind}" + (f", lists {lists}, probes {probes}, trained on {trained:,} rows" if kind == "ivfflat"
                                       else f", ef_search {ef or 100}"))
    if m.get("shared_buffers"):
        # a vector index larger than the buffers is read through the OS cache: 1.5-2x the p50 at 1M
        index = vector_index_bytes(m["sizes"])
        fits = index <= m["shared_buffers"]
        log(f"shared_buffers {mb(m['shared_buffers'])}: the vector index ({mb(index)}) "
            + ("fits" if fits else "does NOT fit (its pages come through the OS cache; docs/scaling.md, run F)"))
    log(f"recall@10 vs exact: unfiltered {m['recall']:.3f} (floor 0.95: {'ok' if m['recall'] >= 0.95 else 'MISS'}); "
        f"0.5 % filter {m['recall_filtered']:.3f}")
    total = sum(m["sizes"].values())
    log(f"{'relation':<44}{'size':>12}{'x first':>10}{'bytes/row':>11}")
    for name, size in m["sizes"].items():
        base = first["measure"]["sizes"].get(name) if first else None
        g = f"{size / base:>9.2f}x" if base else f"{'':>10}"
        log(f"{name:<44}{mb(size):>12}{g}{size / r['rows']:>11,.0f}")
    log(f"{'total':<44}{mb(total):>12}")


def curve(results: list[dict]) -> None:
    """The growth curve: one line per checkpoint, ratios to the first."""
    if not results:
        return
    f = results[0]
    log("")
    log("growth curve (ratio to the first checkpoint in brackets)")
    names = ["vector", "vector, filtered", "text", "text, filtered", "hybrid", "hybrid, filtered"]
    log(f"{'rows':>10}{'load r/s':>10}{'build s':>9}{'exact':>9}" + "".join(f"{n.replace(', filtered', ' f'):>16}" for n in names)
        + f"{'recall':>8}{'heap MB':>14}{'vec idx MB':>14}{'total MB':>15}{'loadavg':>8}")
    for r in results:
        m, st = r["measure"], r["stage"]
        cells = "".join(f"{m['search'][n]['p50']:>8.2f} ({m['search'][n]['p50'] / f['measure']['search'][n]['p50']:.1f})"
                        .rjust(16) for n in names)
        heap = m["sizes"].get("memories", 0)
        hnsw = vector_index_bytes(m["sizes"])
        tot = sum(m["sizes"].values())
        ftot = sum(f["measure"]["sizes"].values())
        log(f"{r['rows']:>10,}{st['rows'] / st['load_s']:>10,.0f}{st['build_s']:>9.1f}{m['exact_p50']:>9.1f}{cells}"
            f"{m['recall']:>8.3f}{heap / 2**20:>8,.0f} ({heap / f['measure']['sizes']['memories']:.1f})"
            f"{hnsw / 2**20:>8,.0f} ({hnsw / max(1, vector_index_bytes(f['measure']['sizes'])):.1f})"
            f"{tot / 2**20:>9,.0f} ({tot / ftot:.1f}){r['loadavg'].split()[0]:>8}")


def set_ef_search(conn: psycopg.Connection, ef: int | None) -> None:
    """The HNSW ef_search of the searches (None: the default, 100), the index kept as it is."""
    conn.execute("SELECT animus.memory_configure_vector_index('hnsw', ef_search => %s, halfvec => s.halfvec, m => s.m, "
                 "ef_construction => s.ef_construction, rebuild => false) FROM animus.memory_vector_index_settings AS s", (ef,))


def sweep(conn: psycopg.Connection, data: Data, args) -> None:
    """search_memory_vector at several ef_search values (memory_configure_vector_index), against
    the exact top 10, with the index of the run (float32 or halfvec); the 0.5 % filter beside."""
    qv = [vec_literal(v) for v in data.queries[:args.exact_queries]]
    conn.execute("SET enable_indexscan = off")
    conn.execute("SET enable_bitmapscan = off")
    _, ex = timed(conn, "SELECT id FROM animus.memories ORDER BY embedding <=> %s::vector, id LIMIT 10",
                  [(v,) for v in qv])
    conn.execute("RESET enable_indexscan")
    conn.execute("RESET enable_bitmapscan")
    truth = [{r[0] for r in rows} for rows in ex]
    # The filtered alternative: exact search over one namespace's rows (0.5 %), through the
    # namespace index, beside search_memory_vector with the same filter.
    nq = list(zip(data.query_ns, [vec_literal(v) for v in data.queries]))
    # plain index scans off: the planner could otherwise order by the vector index and filter
    # after it (not exact); the namespace index serves through a bitmap scan
    conn.execute("SET enable_indexscan = off")
    tf, exf = timed(conn, "SELECT id FROM animus.memories WHERE namespace = %s "
                          "ORDER BY embedding <=> %s::vector, id LIMIT 10", nq)
    conn.execute("RESET enable_indexscan")
    ts, sf = timed(conn, "SELECT id FROM animus.search_memory_vector(%s::vector, 10, %s::jsonb)",
                   [(v, json.dumps({"namespace": ns})) for ns, v in nq])
    rec_f = float(np.mean([len({r[0] for r in a} & {r[0] for r in b}) / 10 for a, b in zip(sf, exf)]))
    log(f"0.5 % filter: exact search over the namespace p50 {statistics.median(tf):.2f} ms "
        f"(p95 {pct(tf, 0.95):.2f}); search_memory_vector p50 {statistics.median(ts):.2f} ms, recall@10 {rec_f:.3f}")
    efs = [40, 100, 200, 300, 400, 600, 800]
    forms = []
    if args.sweep:
        forms.append(("search_memory_vector", "SELECT id FROM animus.search_memory_vector(%s::vector, 10)"))
    log(f"{'index':<24}{'ef_search':>10}{'p50 ms':>9}{'p95 ms':>9}{'recall@10':>11}")
    for name, sql in forms:
        for ef in efs:
            set_ef_search(conn, ef)
            for v in qv[:3]:
                conn.execute(sql, (v,))
            t, res = timed(conn, sql, [(v,) for v in qv])
            rec = float(np.mean([len({r[0] for r in rows} & tr) / 10 for rows, tr in zip(res, truth)]))
            log(f"{name:<24}{ef:>10}{statistics.median(t):>9.2f}{pct(t, 0.95):>9.2f}{rec:>11.3f}")
    set_ef_search(conn, args.ef_search)


def main() -> int:
    global DB
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--checkpoints", default="100000,250000,500000,1000000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--exact-queries", type=int, default=50, help="sample of queries searched exactly (ground truth)")
    ap.add_argument("--batch", type=int, default=5000, help="rows per store_memories call (at most 10,000)")
    ap.add_argument("--workers", type=int, default=2, help="parallel workers of the index builds")
    ap.add_argument("--mwm", default="4GB", help="maintenance_work_mem of the index builds (the HNSW graph of 1M "
                                                  "384-d rows needs ~2 GB to build in memory)")
    ap.add_argument("--db", default=DB, help="the benchmark database (dropped and deployed unless --resume)")
    ap.add_argument("--resume", action="store_true", help="continue in the existing database and results file")
    ap.add_argument("--drop", action="store_true", help="drop the benchmark database at the end")
    ap.add_argument("--results", default=str(ROOT / ".bench" / "million.jsonl"))
    ap.add_argument("--sweep", action="store_true",
                    help="afterwards: recall@10, p50 and p95 of search_memory_vector at ef_search 40 ... 800 (memory_configure_vector_index)")
    ap.add_argument("--index", choices=["hnsw", "ivfflat"], default="hnsw",
                    help="the vector index kind (memory_configure_vector_index on the fresh database; each checkpoint's "
                         "memory_finish_bulk_load builds it, an IVFFlat index trained on every row loaded so far)")
    ap.add_argument("--lists", type=int, default=None, help="IVFFlat lists (default: rows / 1000, sqrt(rows) beyond 1M)")
    ap.add_argument("--halfvec", action="store_true",
                    help="index the embeddings as halfvec (memory_configure_vector_index(halfvec => true) on the fresh database)")
    ap.add_argument("--latent-dim", type=int, default=None,
                    help="vectors clustered in this many dimensions, projected into 384 (80: the neighbour structure "
                         "of real text embeddings; default: clustered in all 384, the harder case)")
    ap.add_argument("--m", type=int, default=None, help="HNSW m of the builds (default: pgvector's 16)")
    ap.add_argument("--ef-construction", type=int, default=None, help="HNSW ef_construction of the builds (default: 64)")
    ap.add_argument("--ef-search", type=int, default=None,
                    help="HNSW ef_search of the searches (memory_configure_vector_index; default: the installation's, 100)")
    ap.add_argument("--remeasure", action="store_true",
                    help="with --resume: measure the loaded database again (e.g. at another --ef-search) without loading")
    ap.add_argument("--probes", type=int, default=None, help="IVFFlat probes (default: sqrt(lists))")
    args = ap.parse_args()
    DB = args.db
    checkpoints = sorted({int(x) for x in args.checkpoints.split(",") if int(x) <= args.rows} | {args.rows})
    results_path = Path(args.results)
    results_path.parent.mkdir(parents=True, exist_ok=True)

    t_start = time.perf_counter()
    results: list[dict] = []
    if args.resume and db_exists():
        url = devdb.url(DB)
        if results_path.exists():
            results = [json.loads(ln) for ln in results_path.read_text().splitlines() if ln.strip()]
    else:
        bench_memory.DB = DB
        url = bench_memory.deploy()
        results_path.write_text("")
        if args.index != "hnsw" or args.lists or args.probes or args.halfvec or args.m or args.ef_construction:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SELECT animus.memory_configure_vector_index(%s, lists => %s, probes => %s, halfvec => %s, "
                             "m => %s, ef_construction => %s)",
                             (args.index, args.lists, args.probes, args.halfvec, args.m, args.ef_construction))
    if args.ef_search is not None:
        with psycopg.connect(url, autocommit=True) as conn:
            set_ef_search(conn, args.ef_search)
    data = Data(args.rows, args.queries, seed=SEED, latent_dim=args.latent_dim)
    log(f"bench-million: up to {args.rows:,} memories, {DIM}-d vectors clustered in {args.latent_dim or DIM} dimensions, Zipf text; database {DB}; "
        f"vector index {args.index}; "
        f"checkpoints {', '.join(f'{c:,}' for c in checkpoints)}; loadavg {loadavg()}")
    for r in results:
        report(r, results[0] if r is not results[0] else None)

    cum = results[-1]["cumulative"] if results else {"load_s": 0.0, "build_s": 0.0, "wall_s": 0.0}
    with psycopg.connect(url, autocommit=True) as conn, ThreadPoolExecutor(1) as gen:
        have = conn.execute("SELECT count(*) FROM animus.memories").fetchone()[0]
        if have % args.batch:
            raise SystemExit(f"{have:,} rows is not a multiple of --batch {args.batch}: resume with the batch size of the first run")
        done = {r["rows"] for r in results}
        for cp in checkpoints:
            if cp in done:
                continue
            t_stage = time.perf_counter()
            bulk = vector_index_absent(conn)
            if have < cp and not bulk:
                conn.execute("SELECT animus.memory_begin_bulk_load()")
            stage_rows = cp - have
            load_s = 0.0
            starts = list(range(have, cp, args.batch))
            pending = gen.submit(seeded_batch, data, starts[0], min(args.batch, cp - starts[0])) if starts else None
            for i, start in enumerate(starts):
                payload = pending.result()
                if i + 1 < len(starts):   # the next batch is generated while the server stores this one
                    nxt = starts[i + 1]
                    pending = gen.submit(seeded_batch, data, nxt, min(args.batch, cp - nxt))
                t = time.perf_counter()
                conn.execute("SELECT count(*) FROM animus.store_memories(%s::jsonb)", (payload,))
                load_s += time.perf_counter() - t
                have = start + min(args.batch, cp - start)
                if have % 50_000 == 0:
                    log(f"  loaded {have:,} ({stage_rows and (have - (cp - stage_rows)) / load_s:,.0f} rows/s this stage; "
                        f"loadavg {loadavg()})")
            t = time.perf_counter()
            if vector_index_absent(conn):
                conn.execute("SELECT animus.memory_finish_bulk_load(maintenance_work_mem => %s, parallel_workers => %s)",
                             (args.mwm, args.workers))
            build_s = time.perf_counter() - t
            t = time.perf_counter()
            conn.execute("SELECT animus.memory_bm25_refresh()")
            vacuum_after_bulk_load(conn)
            vacuum_s = time.perf_counter() - t
            cum = {"load_s": cum["load_s"] + load_s, "build_s": cum["build_s"] + build_s,
                   "wall_s": cum["wall_s"] + (time.perf_counter() - t_stage)}
            t = time.perf_counter()
            m = measure(conn, data, cp, args.exact_queries)
            r = {"rows": cp, "loadavg": loadavg(), "exact_queries": args.exact_queries, "batch": args.batch,
                 "stage": {"rows": max(1, stage_rows), "load_s": max(load_s, 1e-9), "build_s": build_s, "vacuum_s": vacuum_s},
                 "cumulative": cum, "measure": m, "measure_s": time.perf_counter() - t,
                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            results.append(r)
            with results_path.open("a") as fh:
                fh.write(json.dumps(r) + "\n")
            report(r, results[0] if len(results) > 1 else None)

    if args.remeasure and results:
        with psycopg.connect(url, autocommit=True) as conn:
            t = time.perf_counter()
            m = measure(conn, data, results[-1]["rows"], args.exact_queries)
            r = {**results[-1], "loadavg": loadavg(), "measure": m, "measure_s": time.perf_counter() - t, "remeasure": True,
                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with results_path.open("a") as fh:
            fh.write(json.dumps(r) + "\n")
        log("remeasured (no load, no build):")
        report(r, results[0])
    curve([x for x in results if not x.get("remeasure")])
    if args.sweep and args.index == "hnsw":
        with psycopg.connect(url, autocommit=True) as conn:
            sweep(conn, data, args)
    last = results[-1]
    log("")
    log(f"{last['rows']:,} memories loaded: load parts {last['cumulative']['load_s']:.0f} s + final build "
        f"{last['stage']['build_s']:.0f} s = {(last['cumulative']['load_s'] + last['stage']['build_s']) / 60:.1f} min one-shot "
        f"(floor 30 min); with the intermediate checkpoints' builds {last['cumulative']['wall_s'] / 60:.1f} min; "
        f"this run's wall time {(time.perf_counter() - t_start) / 60:.1f} min; loadavg {loadavg()}")
    if args.drop:
        devdb.dropdb(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
