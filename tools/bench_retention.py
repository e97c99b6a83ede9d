"""Queues that stay small, retention beside the queue (`make bench-retention`; docs/work-queue.md,
"What an item costs" and "Retention beside the queue").

    .venv/bin/python tools/bench_retention.py [--parts bytes,soak,retention] [--ended N] [--phase S]
        [--rounds R] [--duty SHARE] [--purge-factor F] [--soak S] [--rate R] [--items M]
    # the 10M rows once, kept; then the retention part on them as often as needed:
    .venv/bin/python tools/bench_retention.py --parts load
    .venv/bin/python tools/bench_retention.py --parts retention --reuse

On fresh databases of the embedded server, each part with its baseline from the same run:

  bytes      M items through animus (submit_work_batch, read_work qty 100, complete_work arrays) in
             a queue that deletes settled messages (the default; head and v0.7.0), in one that
             archives them (the v0.6.0 behaviour) and M messages through raw pgmq (send_batch, read
             100, archive): bytes on disk per item (heap + indexes + TOAST of every table involved,
             no VACUUM FULL) and tuples written per item (pg_stat inserts + updates + deletes).
  soak       S seconds at a steady R items/s (submit, claim, complete) in a queue that archives its
             messages, with a retention pass every 10 s (animus.retention.Retention, batches of
             1,000, retention 30 s): every 30 s the sizes of animus.work_items (heap, indexes), the
             pgmq queue and archive tables, their dead tuples and autovacuum counts. Flat = the
             second half grows by no more than noise.
  load       N ended work items and N archived messages (ended 60 to 30 days ago) generated in SQL
             by two sessions, in a queue that archives its messages; kept for --reuse (about 2 min
             for 10M on a quiet machine: fillfactor 100 for the load, the archive's index built
             after it, max_wal_size raised; the 17 min before came mostly from checkpoints).
  retention  with those rows in place: one submitter (submit_work_batch of 100) and one claimer
             (read_work 100 + complete_work) for S seconds without retention and S seconds with
             `animus retention` running in its own process (purge_work batches of --batch-size,
             older than 1 day, paced by --duty and/or a --purge-factor rate cap), R rounds in
             alternating order (without-with, with-without, ...). Prints per phase the rates, the
             purge rate and its ratio to the completion rate, dead tuples (max over 5 s samples),
             sizes, autovacuum time and the server's CPU per item; then the ratios of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devdb  # noqa: E402

import psycopg  # noqa: E402

sys.path.insert(0, str(ROOT / "python"))
import animus  # noqa: E402
from animus.retention import Retention  # noqa: E402

BATCH_SIZE = [1000]     # purge_work's batch_size in the retention part
PAUSE = [0.0]           # seconds between two purge_work calls at least (the rate cap paces them)
PURGE_RATE: list[float | None] = [None]   # rows/s cap of the retention part (None: from the first phase)
DUTY: list[float | None] = [0.2]          # share of the time the retention process spends in purge_work
BATCH = json.dumps([{"work_type": "b", "source": "bench", "params": {"n": i}} for i in range(100)])


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def rel_bytes(c, rels: list[str]) -> int:
    return sum(c.execute("SELECT pg_total_relation_size(%s::regclass)", [r]).fetchone()[0] for r in rels)


def tuples_written(c, rels: list[str]) -> int:
    c.execute("SELECT pg_stat_force_next_flush()")
    n = 0
    for r in rels:
        row = c.execute("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_all_tables WHERE relid = %s::regclass",
                        [r]).fetchone()
        n += row[0] if row else 0
    return n


def animus_cycle(c, queue: str, batches: int) -> None:
    """submit_work_batch of 100, then read_work 100 + complete_work of them, batches times."""
    for _ in range(batches):
        c.execute("SELECT count(*) FROM animus.submit_work_batch(%s::jsonb, queue => %s)", [BATCH, queue])
        ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work(%s, vt => '60 seconds', qty => 100)", [queue])]
        if ids:
            c.execute("SELECT count(*) FROM animus.complete_work(%s::uuid[])", [ids])


def raw_cycle(c, queue: str, batches: int) -> None:
    msgs = [json.dumps({"work_type": "b", "params": {"n": i}}) for i in range(100)]
    for _ in range(batches):
        c.execute("SELECT count(*) FROM pgmq.send_batch(%s, %s::jsonb[])", [queue, msgs])
        ids = [r[0] for r in c.execute("SELECT msg_id FROM pgmq.read(%s, 60, 100)", [queue])]
        if ids:
            c.execute("SELECT count(*) FROM pgmq.archive(%s, %s::bigint[])", [queue, ids])


def fresh_db(name: str, to: str | None = None) -> str:
    subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "createdb", name, "--drop"], check=True,
                   stdout=subprocess.DEVNULL)
    url = devdb.url(name)
    subprocess.run(["bash", "-c", f'source "{ROOT}/tools/lib.sh"; sqitch_run "{url}" deploy' + (f" --to {to}" if to else "")],
                   check=True, stdout=subprocess.DEVNULL)
    return url


def drop_db(name: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "dropdb", name], stdout=subprocess.DEVNULL)


def part_bytes(db: str, items: int) -> None:
    """Each system on its own fresh database (no order effects on shared tables): a warm-up of
    1,000 items, VACUUM, then the measured items."""
    batches = max(1, items // 100)
    n = batches * 100
    res = {}
    for name, to, rels, setup, run in [
        ("animus now (messages deleted)", None, ["animus.work_items", "pgmq.q_b", "pgmq.a_b"],
         "SELECT animus.create_queue('b')", lambda c, k: animus_cycle(c, "b", k)),
        ("animus v0.7.0 (fillfactor 85)", "@v0.7.0", ["animus.work_items", "pgmq.q_b", "pgmq.a_b"],
         "SELECT animus.create_queue('b')", lambda c, k: animus_cycle(c, "b", k)),
        ("animus v0.6.0 (messages archived)", "@v0.6.0", ["animus.work_items", "pgmq.q_b", "pgmq.a_b"],
         "SELECT animus.create_queue('b')", lambda c, k: animus_cycle(c, "b", k)),
        ("raw pgmq (send_batch, read, archive)", "@v0.6.0", ["pgmq.q_b", "pgmq.a_b"],
         "SELECT pgmq.create('b')", lambda c, k: raw_cycle(c, "b", k)),
    ]:
        url = fresh_db(db + "_bytes", to)
        try:
            with connect(url) as c:
                c.execute(setup)
                run(c, 10)
                c.execute("VACUUM " + ", ".join(rels))
                b0, t0 = rel_bytes(c, rels), tuples_written(c, rels)
                s = time.perf_counter()
                run(c, batches)
                secs = time.perf_counter() - s
                b1, t1 = rel_bytes(c, rels), tuples_written(c, rels)
                res[name] = ((b1 - b0) / n, (t1 - t0) / n, n / secs)
        finally:
            drop_db(db + "_bytes")
    raw = res["raw pgmq (send_batch, read, archive)"][0]
    print(f"== bytes: {n:,} items per system, each on a fresh database, batches of 100; every item kept "
          f"(no retention), sizes include dead space not yet vacuumed")
    print(f"   {'':40s} {'bytes/item':>10s} {'x raw':>6s} {'tuples written/item':>20s} {'items/s':>8s}")
    for name, (b, t, r) in res.items():
        print(f"   {name:40s} {b:10.0f} {b / raw:6.2f} {t:20.1f} {r:8.0f}", flush=True)


def sizes(c, queue: str = "soak") -> dict:
    row = c.execute(f"""
        SELECT pg_relation_size('animus.work_items'), pg_indexes_size('animus.work_items'),
               pg_total_relation_size('pgmq.q_{queue}'), pg_total_relation_size('pgmq.a_{queue}'),
               (SELECT n_live_tup FROM pg_stat_all_tables WHERE relid = 'animus.work_items'::regclass),
               (SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = 'animus.work_items'::regclass),
               (SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = 'pgmq.q_{queue}'::regclass),
               (SELECT autovacuum_count FROM pg_stat_all_tables WHERE relid = 'animus.work_items'::regclass),
               (SELECT autovacuum_count FROM pg_stat_all_tables WHERE relid = 'pgmq.q_{queue}'::regclass),
               (SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = 'pgmq.a_{queue}'::regclass),
               (SELECT autovacuum_count FROM pg_stat_all_tables WHERE relid = 'pgmq.a_{queue}'::regclass),
               (SELECT sum(total_autovacuum_time) / 1000 FROM pg_stat_all_tables
                 WHERE relid IN ('animus.work_items'::regclass, 'pgmq.q_{queue}'::regclass, 'pgmq.a_{queue}'::regclass))
          """).fetchone()
    keys = ["items_heap", "items_idx", "q_total", "a_total", "items_live", "items_dead", "q_dead", "items_av", "q_av",
            "a_dead", "a_av", "av_secs"]
    return dict(zip(keys, row))


def part_soak(url: str, secs: float, rate: float) -> None:
    with connect(url) as c:
        c.execute("SELECT animus.create_queue('soak')")
        c.execute("SELECT animus.configure_queue('soak', archive_messages => true)")   # the archive grows too
    stop = threading.Event()
    done = [0, 0, 0, 0]    # submitted, completed, items purged, archived messages purged
    errors: list[BaseException] = []

    def producer():
        try:
            with connect(url) as c:
                t0 = time.monotonic()
                while not stop.is_set():
                    due = t0 + (done[0] + 100) / rate
                    wait = due - time.monotonic()
                    if wait > 0:
                        stop.wait(wait)
                        continue
                    c.execute("SELECT count(*) FROM animus.submit_work_batch(%s::jsonb, queue => 'soak')", [BATCH])
                    done[0] += 100
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def consumer():
        try:
            with connect(url) as c:
                while not stop.is_set():
                    ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work('soak', vt => '60 seconds', qty => 100)")]
                    if ids:
                        c.execute("SELECT count(*) FROM animus.complete_work(%s::uuid[])", [ids])
                        done[1] += len(ids)
                    else:
                        stop.wait(0.02)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def retention():
        try:
            with animus.connect(url) as client:
                r = Retention(client, "30 seconds", queue="soak", batch_size=1000)
                while not stop.wait(10):     # a pass every 10 s (animus retention --every 10)
                    p = r.run_pass()
                    done[2] += p.items_deleted
                    done[3] += p.archived_messages_deleted
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (producer, consumer, retention)]
    for t in threads:
        t.start()
    print(f"== soak: {secs:.0f} s at {rate:.0f} items/s (submit_work_batch 100; read_work 100 + complete_work; "
          f"the queue archives its messages; a retention pass every 10 s: purge_work(batch_size => 1000) until "
          f"caught up, retention 30 s)")
    print(f"   {'t':>5s} {'submitted':>9s} {'completed':>9s} {'purged':>8s} {'arch.purged':>11s} {'items heap':>10s} "
          f"{'items idx':>10s} {'live':>7s} {'dead':>7s} {'q_ total':>9s} {'q dead':>7s} {'a_ total':>9s} {'a dead':>7s} "
          f"{'autovac items/q/a':>17s}")
    samples = []
    t0 = time.monotonic()
    try:
        with connect(url) as c:
            k = 0
            while True:
                s = sizes(c)
                samples.append(s)
                el = time.monotonic() - t0
                print(f"   {el:5.0f} {done[0]:9d} {done[1]:9d} {done[2]:8d} {done[3]:11d} {s['items_heap'] / 1e6:8.1f}MB "
                      f"{s['items_idx'] / 1e6:8.1f}MB {s['items_live']:7d} {s['items_dead']:7d} {s['q_total'] / 1e6:7.2f}MB "
                      f"{s['q_dead']:7d} {s['a_total'] / 1e6:7.2f}MB {s['a_dead']:7d} "
                      f"{s['items_av']:5d}/{s['q_av']}/{s['a_av']}", flush=True)
                if el >= secs or errors:
                    break
                k += 1
                time.sleep(max(0.0, t0 + 30 * k - time.monotonic()))
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    if errors:
        raise errors[0]
    el = time.monotonic() - t0
    # flat: the second half of the run grows by no more than the first half did
    mid = samples[len(samples) // 2]
    first, last = samples[1] if len(samples) > 2 else samples[0], samples[-1]
    tot = lambda s: s["items_heap"] + s["items_idx"] + s["q_total"] + s["a_total"]  # noqa: E731
    print(f"   steady rate {done[1] / el:.0f} items/s completed; {done[0]:,} items over the run")
    print(f"   hot tables in total: {tot(first) / 1e6:.1f} MB at 30 s, {tot(mid) / 1e6:.1f} MB at half time, "
          f"{tot(last) / 1e6:.1f} MB at the end; second half grew {(tot(last) - tot(mid)) / 1e6:+.1f} MB "
          f"({(tot(last) - tot(mid)) / max(1, done[0] / 2):.0f} bytes per item submitted in it)")


def part_load(url: str, n: int) -> None:
    """Rows made in SQL, two sessions at once (work items, archive rows). Loaded at fillfactor 100
    (the table's 50 is room for HOT claims, which ended rows never get; set back after the load)
    and with the archive's archived_at index built after the load; max_wal_size is raised for the
    load so that checkpoints do not rewrite full pages every few seconds."""
    admin = devdb.url("postgres")
    with connect(admin) as a:
        a.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
        a.execute("SELECT pg_reload_conf()")
    try:
        _load(url, n)
    finally:
        with connect(admin) as a:
            a.execute("ALTER SYSTEM RESET max_wal_size")
            a.execute("SELECT pg_reload_conf()")


def _load(url: str, n: int) -> None:
    with connect(url) as c:
        c.execute("SELECT animus.create_queue('bench')")
        c.execute("SELECT animus.configure_queue('bench', archive_messages => true)")
        ff = c.execute("SELECT reloptions FROM pg_class WHERE oid = 'animus.work_items'::regclass").fetchone()[0]
        c.execute("ALTER TABLE animus.work_items SET (fillfactor = 100)")
        idx = c.execute("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
                        " WHERE indrelid = 'pgmq.a_bench'::regclass AND NOT indisprimary").fetchall()
        for name, _ in idx:
            c.execute(f"DROP INDEX {name}")
        t0 = time.perf_counter()
        chunk = 1_000_000
        errors: list[BaseException] = []

        def archive():
            try:
                with connect(url) as c2:
                    for lo in range(0, n, chunk):
                        hi = min(n, lo + chunk)
                        c2.execute("""
                INSERT INTO pgmq.a_bench (msg_id, read_ct, enqueued_at, archived_at, vt, message)
                SELECT g, 1, t, t + interval '1 second', t, jsonb_build_object('work_id', gen_random_uuid(), 'work_type', 'b')
                  FROM generate_series(%(lo)s + 1, %(hi)s) g,
                       LATERAL (SELECT now() - interval '60 days' + g * (interval '30 days' / %(n)s)) AS x(t)""",
                                   {"lo": lo, "hi": hi, "n": n})
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        th = threading.Thread(target=archive)
        th.start()
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            # ended 60..30 days ago, in time order (UUIDv7 ids: as submit_work makes them)
            c.execute("""
                INSERT INTO animus.work_items (id, queue_name, work_type, source, params, state, attempts, max_attempts,
                                               msg_id, run_at, outcome, duration_ms, created_at, updated_at, started_at,
                                               heartbeat_at, resolved_at)
                SELECT uuidv7(x.t - now()), 'bench', 'b', 'bench',
                       jsonb_build_object('n', g), 'completed', 1, 5, g, t, '{"ok": true}', 1.5, t, t, t, t, t + interval '1 second'
                  FROM generate_series(%(lo)s + 1, %(hi)s) g,
                       LATERAL (SELECT now() - interval '60 days' + g * (interval '30 days' / %(n)s)) AS x(t)""",
                      {"lo": lo, "hi": hi, "n": n})
            print(f"   loaded {hi:,} ended items ({time.perf_counter() - t0:.0f} s)", flush=True)
        th.join()
        if errors:
            raise errors[0]
        print(f"   loaded {n:,} archived messages ({time.perf_counter() - t0:.0f} s)", flush=True)
        for _, definition in idx:
            c.execute(definition)
        c.execute("ALTER TABLE animus.work_items RESET (fillfactor)")
        for opt in ff or []:
            if opt.startswith("fillfactor="):
                c.execute(f"ALTER TABLE animus.work_items SET ({opt})")
        c.execute("SELECT setval('pgmq.q_bench_msg_id_seq', %s)", [n + 1])
        c.execute("VACUUM ANALYZE animus.work_items, pgmq.a_bench, pgmq.q_bench")
        print(f"== load: {n:,} ended work items + {n:,} archived messages in {time.perf_counter() - t0:.0f} s; "
              f"work_items {c.execute('SELECT pg_size_pretty(pg_total_relation_size(%s))', ['animus.work_items']).fetchone()[0]}, "
              f"a_bench {c.execute('SELECT pg_size_pretty(pg_total_relation_size(%s))', ['pgmq.a_bench']).fetchone()[0]}")


TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(c) -> float:
    """CPU seconds of the whole server so far: the postmaster's own and those of its children it
    reaped (cutime, cstime: backends and autovacuum workers that exited), plus the live children's."""
    def stat(pid: int) -> list[str]:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    pm = int(c.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'").fetchone()[0])
    pm = int(stat(pm)[1])    # the checkpointer's parent: the postmaster
    f = stat(pm)
    total = sum(int(x) for x in f[11:15])
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                g = stat(int(d))
            except OSError:
                continue
            if int(g[1]) == pm:
                total += int(g[11]) + int(g[12])
    return total / TICK


def rates(url: str, secs: float, purge_rate: float | None) -> dict:
    """One phase: a submitter and a claimer for secs seconds; with purge_rate, a third session runs
    animus.retention.Retention (purge_work batches of BATCH_SIZE, at most purge_rate rows/s, PAUSE
    between calls). Every 5 s: dead tuples and sizes of work_items and the archive."""
    stop = threading.Event()
    count = {"submitted": 0, "completed": 0, "items_purged": 0, "archived_purged": 0, "purge_calls": 0}
    samples: list[dict] = []
    errors: list[BaseException] = []

    def producer():
        try:
            with connect(url) as c:
                while not stop.is_set():
                    c.execute("SELECT count(*) FROM animus.submit_work_batch(%s::jsonb, queue => 'bench')", [BATCH])
                    count["submitted"] += 100
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def consumer():
        try:
            with connect(url) as c:
                while not stop.is_set():
                    ids = [r[0] for r in c.execute("SELECT work_id FROM animus.read_work('bench', vt => '60 seconds', qty => 100)")]
                    if ids:
                        c.execute("SELECT count(*) FROM animus.complete_work(%s::uuid[])", [ids])
                        count["completed"] += len(ids)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def retention():
        # its own process, as an operator runs it (threads of this one share its interpreter lock)
        try:
            cmd = [sys.executable, "-m", "animus.cli", "retention", "--dsn", url, "--older-than", "1 day",
                   "--queue", "bench", "--batch-size", str(BATCH_SIZE[0]), "--pause", str(PAUSE[0]),
                   "--every", "0.5", "--no-telemetry", "--log-level", "warning"] + \
                  (["--rate", f"{purge_rate:.0f}"] if purge_rate != float("inf") else []) + \
                  (["--duty", str(DUTY[0])] if DUTY[0] else [])
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env={**os.environ, "PYTHONPATH": str(ROOT / "python")})
            stop.wait()
            proc.terminate()
            out, err = proc.communicate(timeout=60)
            m = re.search(r"(\d+) items, (\d+) archived messages deleted in (\d+) batches", out)
            if proc.returncode != 0 or not m:
                raise RuntimeError(f"animus retention: exit {proc.returncode}: {out} {err}")
            count["items_purged"], count["archived_purged"], count["purge_calls"] = map(int, m.groups())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def sampler():
        try:
            with connect(url) as c:
                while True:
                    samples.append(sizes(c, "bench"))
                    if stop.wait(5):
                        break
                samples.append(sizes(c, "bench"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    fns = [producer, consumer, sampler] + ([retention] if purge_rate else [])
    threads = [threading.Thread(target=f) for f in fns]
    with connect(url) as c:
        cpu0 = server_cpu(c)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    stop.wait(secs)
    stop.set()
    for t in threads:
        t.join(120)
    el = time.monotonic() - t0
    with connect(url) as c:
        cpu = server_cpu(c) - cpu0
    if errors:
        raise errors[0]
    res = {k: v / el for k, v in count.items()}
    res["cpu_per_s"] = cpu / el
    res["cpu_us_per_item"] = 1e6 * cpu / max(1, count["submitted"] + count["completed"])
    res["items_dead_max"] = max(x["items_dead"] for x in samples)
    res["a_dead_max"] = max(x["a_dead"] for x in samples)
    res["end"] = samples[-1]
    res["av_secs"] = float(samples[-1]["av_secs"] or 0) - float(samples[0]["av_secs"] or 0)
    return res


def part_retention(url: str, secs: float, rounds: int, purge_factor: float) -> None:
    print(f"== retention: submit and claim rates, {secs:.0f} s per phase, {rounds} rounds of (without, with) "
          f"(1 submitter: submit_work_batch of 100; 1 claimer: read_work 100 + complete_work; the queue archives "
          f"its messages; with = +1 session running animus.retention.Retention: purge_work(older_than => '1 day', "
          f"batch_size => {BATCH_SIZE[0]}), paced" + (f": --duty {DUTY[0]}" if DUTY[0] else "")
          + (f", {PAUSE[0]} s between calls" if PAUSE[0] else "") + ")")
    rates(url, min(10.0, secs), None)    # warm-up: plans cached, the queue's first pages in
    print(f"   {'phase':18s} {'submit/s':>9s} {'claim/s':>9s} {'purged items/s':>14s} {'arch./s':>8s} {'purged/completed':>16s} "
          f"{'items dead max':>14s} {'arch dead max':>13s} {'items heap+idx':>14s} {'a_bench':>9s} {'autovac i/a':>11s} "
          f"{'autovac s':>9s} {'server cpu':>10s} {'cpu us/item':>11s}")
    res = []
    purge_rate = PURGE_RATE[0]
    for rnd in range(rounds):
        for with_ret in ((False, True) if rnd % 2 == 0 else (True, False)):
            r = rates(url, secs, purge_rate if with_ret else None)
            if purge_rate is None and not purge_factor:
                purge_rate = float("inf")
            elif purge_rate is None:
                # each completed item leaves 2 rows to purge (the item, its archived message): the
                # cap is purge_factor times what the first phase without retention completed
                purge_rate = purge_factor * 2 * max(r["completed"], 100.0)
                print(f"   (purge rate cap {purge_rate:.0f} rows/s: {purge_factor:g} x 2 rows per item completed "
                      f"in the first phase)")
            r["with"] = with_ret
            res.append(r)
            e = r["end"]
            print(f"   {'with retention' if with_ret else 'without retention':18s} {r['submitted']:9.0f} {r['completed']:9.0f} "
                  + (f"{r['items_purged']:14.0f} {r['archived_purged']:8.0f} {r['items_purged'] / max(r['completed'], 1):16.2f} "
                     if with_ret else f"{'':14s} {'':8s} {'':16s} ")
                  + f"{r['items_dead_max']:14d} {r['a_dead_max']:13d} {(e['items_heap'] + e['items_idx']) / 1e6:12.0f}MB "
                  f"{e['a_total'] / 1e6:7.0f}MB {e['items_av']:5d}/{e['a_av']:<5d} {r['av_secs']:9.1f} {r['cpu_per_s']:8.2f}/s {r['cpu_us_per_item']:11.1f}", flush=True)
    med = statistics.median
    wo = [r for r in res if not r["with"]]
    wi = [r for r in res if r["with"]]
    base_s, base_k = med([r["submitted"] for r in wo]), med([r["completed"] for r in wo])
    with_s, with_k = med([r["submitted"] for r in wi]), med([r["completed"] for r in wi])
    print(f"   median without: submit {base_s:.0f}/s, claim+complete {base_k:.0f}/s; with: submit {with_s:.0f}/s, "
          f"claim+complete {with_k:.0f}/s")
    print(f"   ratio with/without (medians): submit {with_s / base_s:.2f}, claim {with_k / base_k:.2f} (floor 0.8)")
    pi, pa = med([r["items_purged"] for r in wi]), med([r["archived_purged"] for r in wi])
    print(f"   purge rate (median): {pi:.0f} items/s + {pa:.0f} archived messages/s = {pi + pa:.0f} rows/s; "
          f"over the completion rate of the same phases ({with_k:.0f}/s): items {pi / with_k:.2f}, archive "
          f"{pa / with_k:.2f} (must be > 1: retention keeps up)")
    cw, co = med([r["cpu_us_per_item"] for r in wi]), med([r["cpu_us_per_item"] for r in wo])
    print(f"   server CPU per item (submitted + completed, every backend and autovacuum of the server; "
          f"median): without {co:.1f} us, with {cw:.1f} us: ratio {cw / co:.2f} (what retention costs the queue "
          f"whatever the machine's other load: the rates' ratio is ~ 1 / this on a saturated machine)")
    print(f"   dead tuples: work_items at most {max(r['items_dead_max'] for r in res):,}, "
          f"a_bench at most {max(r['a_dead_max'] for r in res):,} (sampled every 5 s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ended", type=int, default=10_000_000, help="ended items (and archived messages) loaded")
    ap.add_argument("--phase", type=float, default=30, help="seconds per retention phase")
    ap.add_argument("--soak", type=float, default=300, help="soak seconds (>= 300 for the issue's figure)")
    ap.add_argument("--rate", type=float, default=500, help="soak items per second")
    ap.add_argument("--items", type=int, default=20_000, help="items per system for bytes per item")
    ap.add_argument("--parts", default="bytes,soak,retention")
    ap.add_argument("--naptime", default="5s",
                    help="autovacuum_naptime for the run (server-wide, reset at the end; '' keeps the server's): "
                         "per-table settings cannot make autovacuum look more often than once a naptime (default 1 min)")
    ap.add_argument("--batch-size", type=int, default=1000, help="purge_work batch_size in the retention part")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds between purge_work calls in the retention part")
    ap.add_argument("--purge-factor", type=float, default=0,
                    help="retention part: purge at most this many times the first phase's completion rate "
                         "(rows: items + archive; 0: no rate cap, the --duty budget paces)")
    ap.add_argument("--duty", type=float, default=0.2,
                    help="retention part: animus retention --duty (share of the time spent deleting; 0: none)")
    ap.add_argument("--purge-rate", type=float, default=None,
                    help="retention part: purge at most this many rows/s (default: --purge-factor x the first phase)")
    ap.add_argument("--rounds", type=int, default=3, help="retention part: rounds of (without, with)")
    ap.add_argument("--reuse", action="store_true", help="retention part on the existing --db (loaded by an earlier --keep run)")
    ap.add_argument("--db", default="animus_bench_retention")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    print(f"loadavg at start: {open('/proc/loadavg').read().split()[:3]}")
    admin = devdb.url("postgres")
    if args.naptime:
        with connect(admin) as c:
            c.execute(f"ALTER SYSTEM SET autovacuum_naptime = '{args.naptime}'")
            c.execute("SELECT pg_reload_conf()")
        print(f"autovacuum_naptime = {args.naptime} for this run (ALTER SYSTEM; reset at the end)")
    try:
        if "bytes" in parts:
            part_bytes(args.db, args.items)
        if "soak" in parts:
            try:
                part_soak(fresh_db(args.db + "_soak"), args.soak, args.rate)
            finally:
                drop_db(args.db + "_soak")
        if "load" in parts:      # load only, database kept for --reuse
            part_load(fresh_db(args.db), args.ended)
        if "retention" in parts:
            BATCH_SIZE[0], PAUSE[0], PURGE_RATE[0], DUTY[0] = args.batch_size, args.pause, args.purge_rate, args.duty
            try:
                if args.reuse:
                    url = devdb.url(args.db)
                    with connect(url) as c:
                        left = c.execute("SELECT count(*) FROM animus.work_items WHERE queue_name = 'bench' AND state = 'completed'").fetchone()[0]
                    print(f"== reusing {args.db}: {left:,} ended items in queue bench")
                else:
                    url = fresh_db(args.db)
                    part_load(url, args.ended)
                part_retention(url, args.phase, args.rounds, args.purge_factor)
            finally:
                if not args.keep and not args.reuse:
                    drop_db(args.db)
    finally:
        if args.naptime:
            with connect(admin) as c:
                c.execute("ALTER SYSTEM RESET autovacuum_naptime")
                c.execute("SELECT pg_reload_conf()")
        print(f"loadavg at end: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
