#!/usr/bin/env node
// The Graphile Worker side of `make bench-worker` (tools/bench_worker.py): in its own schema of the
// benchmark database, adds ITEMS no-op jobs in bulk (WorkerUtils.addJobs) while no worker runs, then
// runs a worker with the library's defaults except `concurrency` until every job has completed, and
// prints one JSON line with its timing and the CPU the worker process used per job.
//
// The time measured runs from the first job handed to a task ("job:start", after get_job) to the
// last "job:complete" (the result written back to the database): processing only, not node's
// start-up, the migration or the adding of the jobs. The animus side is measured the same way
// (first claim to last resolution).
//
//   node run_graphile.js --items 20000 --concurrency 8 [--schema graphile_worker]   (DATABASE_URL)
"use strict";
const { run, makeWorkerUtils, Logger } = require("graphile-worker");
const { version } = require("graphile-worker/package.json");

function args(argv) {
  const out = { items: 20000, concurrency: 8, schema: "graphile_worker", chunk: 5000 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in out)) throw new Error(`unknown option ${argv[i]}`);
    out[key] = key === "schema" ? argv[i + 1] : Number(argv[i + 1]);
  }
  return out;
}

// Warnings and errors only (e.g. "maxPoolSize smaller than concurrency"), on stderr: stdout is
// the JSON result.
const logger = new Logger(() => (level, message) => {
  if (level === "warning" || level === "error") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

const now = () => performance.timeOrigin + performance.now(); // epoch milliseconds, sub-ms

async function main() {
  const opt = args(process.argv.slice(2));
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error("DATABASE_URL is not set");

  const utils = await makeWorkerUtils({ connectionString, schema: opt.schema, logger });
  try {
    await utils.migrate();
    for (let done = 0; done < opt.items; done += opt.chunk) {
      const n = Math.min(opt.chunk, opt.items - done);
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: "noop", payload: {} })));
    }
  } finally {
    await utils.release();
  }

  let firstStart = null;
  let cpuFrom = null;
  let cpuTo = null;
  let lastComplete = null;
  let completed = 0;
  let errors = 0;
  let finish;
  const drained = new Promise((resolve) => (finish = resolve));
  const runner = await run({
    connectionString,
    schema: opt.schema,
    concurrency: opt.concurrency,
    noHandleSignals: true,
    logger,
    taskList: { noop: async () => {} },
  });
  runner.events.on("job:start", () => {
    if (firstStart === null) {
      firstStart = now();
      cpuFrom = process.cpuUsage();
    }
  });
  runner.events.on("job:error", () => (errors += 1));
  runner.events.on("job:complete", () => {
    completed += 1;
    if (completed === opt.items) {
      lastComplete = now();
      cpuTo = process.cpuUsage(cpuFrom);
      finish();
    }
  });
  await drained;
  await runner.stop();

  const check = await makeWorkerUtils({ connectionString, schema: opt.schema, logger });
  let left;
  try {
    // job:complete can fire before the job's row is deleted (the library settles completions after the
    // event), so the count is read again for up to 10 s before a leftover counts as a job not done
    const deadline = Date.now() + 10000;
    for (;;) {
      left = await check.withPgClient(async (c) =>
        Number((await c.query(`SELECT count(*) AS n FROM ${opt.schema}._private_jobs`)).rows[0].n));
      if (left === 0 || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await check.release();
  }
  const seconds = (lastComplete - firstStart) / 1000;
  process.stdout.write(JSON.stringify({
    system: "graphile-worker", version, items: opt.items, concurrency: opt.concurrency,
    completed, errors, left, first_start: firstStart / 1000, last_complete: lastComplete / 1000,
    seconds, items_per_s: opt.items / seconds,
    cpu_us_per_item: (cpuTo.user + cpuTo.system) / opt.items, // this process: user + system
  }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`run_graphile.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
