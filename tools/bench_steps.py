"""Durable steps recorded per second (docs/durable.md, "Measured").

    .venv/bin/python tools/bench_steps.py [N]      # on a fresh database of the embedded server

Three figures, each over N steps of one claimed item:
  sql       start_step + finish_step called from one PL/pgSQL loop (the database's own cost)
  client    the Python client's ctx.step (animus.durable.step): two round trips per step
  replay    the same steps replayed on a later attempt (one round trip each, nothing written)
and, for scale, complete_work's cost per item on the same server (read_work + complete_work).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "python"))
import devdb  # noqa: E402

import psycopg  # noqa: E402

import animus  # noqa: E402
from animus import durable  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    db = "animus_bench_steps"
    subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "createdb", db, "--drop"], check=True,
                   stdout=subprocess.DEVNULL)
    url = devdb.url(db)
    subprocess.run(["bash", "-c", f'source "{ROOT}/tools/lib.sh"; sqitch_run "{url}" deploy'], check=True,
                   stdout=subprocess.DEVNULL)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("SELECT animus.create_queue('bench_steps')")
        w = c.execute("SELECT work_id FROM animus.submit_work('b', 's', queue => 'bench_steps')").fetchone()[0]
        c.execute("SELECT animus.read_work('bench_steps', vt => '1 hour')")
        t0 = time.perf_counter()
        c.execute(f"""DO $$ BEGIN FOR i IN 1..{n} LOOP
            PERFORM animus.start_step('{w}', 'sql', 1, occurrence => i);
            PERFORM animus.finish_step('{w}', 'sql', 1, jsonb_build_object('i', i), occurrence => i);
        END LOOP; END $$""")
        sql = n / (time.perf_counter() - t0)
    client = animus.connect(url, pool_min_size=1, pool_max_size=1)
    try:
        client.submit_work("b", "s", queue="bench_steps")
        [item] = client.read_work("bench_steps", vt=3600)
        ctx = durable.Context(item, client=client)
        t0 = time.perf_counter()
        for i in range(n):
            durable.step(ctx, "py", lambda: {"i": i})
        py = n / (time.perf_counter() - t0)
        client.release_work(item.id, attempt=item.attempts)
        [item2] = client.read_work("bench_steps", vt=3600)
        ctx = durable.Context(item2, client=client)
        t0 = time.perf_counter()
        for i in range(n):
            durable.step(ctx, "py", lambda: {"i": i})
        replay = n / (time.perf_counter() - t0)
        for _ in range(n):
            client.submit_work("c", "s", queue="bench_steps")
        t0 = time.perf_counter()
        done = 0
        while done < n:
            for it in client.read_work("bench_steps", vt=60, qty=1, work_types=["c"]):
                client.complete_work(it.id, attempt=it.attempts)
                done += 1
        settle = n / (time.perf_counter() - t0)
    finally:
        client.close()
        subprocess.run([sys.executable, str(ROOT / "tools/devdb.py"), "dropdb", db], stdout=subprocess.DEVNULL)
    print(f"steps recorded per second over {n} steps of one item:")
    print(f"  sql     start_step + finish_step in one PL/pgSQL loop   {sql:8.0f}/s")
    print(f"  client  ctx.step through the sync Python client        {py:8.0f}/s")
    print(f"  replay  ctx.step of completed steps (later attempt)     {replay:8.0f}/s")
    print(f"  (for scale: read_work + complete_work, one item a call  {settle:8.0f}/s)")


if __name__ == "__main__":
    main()
