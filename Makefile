# animus — developer commands. `make up` starts everything and runs the demo; `make test` runs every test.
SHELL := /bin/bash
PY    := .venv/bin/python
DEVDB := $(PY) tools/devdb.py

.PHONY: setup db deploy up demo test test-sql test-py docs faults down psql clean bench bench-queue bench-memory bench-million bench-memory-lifecycle bench-reembed bench-quality bench-vector-index bench-python bench-bm25 bench-security bench-worker bench-wait bench-steps bench-retention bench-batch-path bench-dashboard snapshot install-sql

setup:            ## install Debian packages and the project virtualenv (.venv)
	@bash tools/bootstrap.sh

db: setup         ## start the embedded PostgreSQL (idempotent)
	@$(DEVDB) start

deploy: db        ## deploy animus to the dev database `animus`
	@bash tools/deploy.sh animus

up: deploy        ## everything, then the end-to-end demo
	@bash tools/demo.sh

test: db          ## every test: pgTAP via pg_prove, then pytest, on fresh test databases
	@bash tools/test.sh

test-sql: db
	@bash tools/test.sh sql

test-py: db
	@bash tools/test.sh py

docs: db          ## run every example of README.md and docs/*.md, rewrite the outputs that changed (FILES=docs/x.md: only those; ALL=1: every output)
	@ANIMUS_DOCS_UPDATE=$(if $(ALL),all,changed) bash tools/docs.sh $(FILES)

bench-security: db ## what tenant scoping costs the memory searches: owner+filter vs scoped reader (fresh database)
	@$(PY) tools/bench_security.py

faults: db        ## the full fault suite (crashes under load, kills, hangs, connection loss, properties, injection); minutes
	@bash tools/faults.sh

down:             ## stop the embedded server (data kept)
	@$(DEVDB) stop

psql: db          ## psql on the dev database
	@$$($(DEVDB) bin psql) "$$($(DEVDB) url animus)"

bench-queue: db    ## work-queue benchmark (pgbench, fresh database animus_bench), ratios against raw pgmq
	@bash tools/bench_queue.sh

snapshot: db      ## regenerate sql/schema.sql and sql/animus.sql after a schema change (and the async client's stub)
	@bash tools/snapshot.sh write
	@$(PY) tools/gen_async_stub.py write

bench-memory-lifecycle: db  ## memory lifecycle: search with expiry/supersession/sharing state vs plain, memory_neighbors depth 2, link and review write rates (fresh DB)
	@$(PY) -u tools/bench_memory_lifecycle.py $(BENCH_ARGS)

bench-reembed: db ## re-embedding throughput: queue-driven (set_namespace_model + Worker) vs a direct bulk UPDATE (fresh DB)
	@$(PY) -u tools/bench_reembed.py $(BENCH_ARGS)

bench-memory: db  ## memory performance: 100k synthetic 384-d memories, load rate, search latency, recall (fresh DB)
	@$(PY) -u tools/bench_memory.py $(BENCH_ARGS)

bench-million: db ## a million 384-d memories through the bulk path: growth curve at 100k/250k/500k/1M (load, latency, recall, sizes); ~25 min; BENCH_ARGS="--resume" continues a stopped run
	@$(PY) -u tools/bench_million.py $(BENCH_ARGS)

bench-vector-index: db ## HNSW vs IVFFlat (lists x probes) recall@10 and p50 on the NFCorpus MiniLM vectors (make bench-vector-index NFCORPUS=/path)
	@$(PY) -u tools/bench_vector_index.py $(NFCORPUS) $(BENCH_ARGS)

bench-quality: db ## memory quality on nfcorpus: nDCG@10 / Recall@100 (make bench-quality NFCORPUS=/path)
	@$(PY) -u tools/bench_quality.py $(or $(NFCORPUS),../shared/data/nfcorpus)

bench-bm25: db    ## BM25 speed at 25k/50k/100k synthetic memories beside ts_rank + exhaustive BM25, write cost (fresh DB)
	@$(PY) tools/bench_bm25.py $(BENCH_ARGS)

clean: down       ## remove the server data and the virtualenv
	rm -rf .pgdata .venv

bench-python: db   ## the Python client's per-call overhead vs bare psycopg (fresh database)
	@bash tools/bench_python.sh

bench-worker: db   ## the animus worker CLI vs Graphile Worker (npm, installed on first use), no-op items/s at concurrency 8 and 32, ratio (fresh DB)
	@$(PY) -u tools/bench_worker.py $(BENCH_ARGS)
bench-steps: db    ## durable steps recorded per second: SQL loop, the client's ctx.step, replay; read_work + complete_work for scale (fresh DB)
	@$(PY) -u tools/bench_steps.py $(BENCH_ARGS)

bench-retention: db ## queues that stay small: bytes and tuples written per item vs v0.6.0 and raw pgmq, a 5-minute soak with paced retention, submit/claim rates with and without `animus retention` on 10M ended items + archived messages (fresh DBs; ~20 min)
	@$(PY) -u tools/bench_retention.py $(BENCH_ARGS)
bench-batch-path: db ## server CPU per item of read_work (qty 500) + complete_work(array): a @v0.7.0 database vs head, alternating rounds (fresh DBs; BENCH_ARGS="--rounds 8")
	@$(PY) -u tools/bench_batch_path.py $(BENCH_ARGS)

bench-wait: db      ## waiter wake-up latency after complete_work: LISTEN/NOTIFY vs the polling fallback vs SQL wait_work (fresh DB)
	@$(PY) -u tools/bench_wait.py $(BENCH_ARGS)

bench-dashboard: db ## what the dashboard costs the database: calls per page view and p50 at 100 queues, vs the bare SQL (fresh DB)
	@$(PY) -u tools/bench_dashboard.py $(BENCH_ARGS)
