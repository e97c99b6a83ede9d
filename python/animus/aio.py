"""The asyncio client: the same methods as :class:`animus.Client`, awaitable, on an
:class:`psycopg_pool.AsyncConnectionPool` (for asyncio agent frameworks)."""
from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Iterable, Mapping

import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from animus._bounded import bulk_batches, bulk_outcome
from animus._core import (DEPLOYED_SQL, AsyncPooledConnection, Call, Methods, Telemetry, WaitSpan, _ReplicaFailed,
                          adapt, check_wait_timeout, replica_telemetry, server_attrs, shape_result,
                          undefined_function_error, with_replicas)
from animus.client import _instruments
from animus.config import Config
from animus.embedding import Embedder
from animus.queries import Query
from animus.replicas import AsyncReplicas, replica_unavailable
from animus.results import BulkLoadResult
from animus.errors import ConnectionFailed, InvalidArgument, from_psycopg
from animus.telemetry import genai
from animus.telemetry.deferred import flush as telemetry_flush
from animus.waiting import DEFAULT_POLL_INTERVAL, LISTENER_APPLICATION_NAME, AsyncWaits, outcome_of

__all__ = ["AsyncClient", "connect_async"]


class AsyncClient(Methods):
    """Every method of :class:`animus.Client`, returning an awaitable.

    >>> client = await animus.connect_async()               # doctest: +SKIP
    >>> r = await client.submit_work("engage", "agent")      # doctest: +SKIP
    """

    #: Seconds between the listener's re-checks of every awaited item (see Client.wait_poll_interval).
    wait_poll_interval: float = DEFAULT_POLL_INTERVAL

    def __init__(self, config: Config, *, embedder: Embedder | None = None,
                 tracer_provider: Any = None, meter_provider: Any = None, replicas: Any = None,
                 configure: Any = None) -> None:
        # configure: an async callable run on each new connection of the pool (psycopg_pool's
        # ``configure``), e.g. to register loaders on it (animus.Worker does).
        self._waits: AsyncWaits | None = None
        self._replicas: AsyncReplicas | None = None
        config = with_replicas(config, replicas)
        self.config = config
        self._dsn = config.database_url
        self.embedder = embedder
        inst = _instruments(tracer_provider, meter_provider)
        self._tel = Telemetry(inst, server_attrs(self._dsn), self._dsn.dbname)
        if config.replica_urls:
            self._replicas = AsyncReplicas(config.replica_urls, lambda d: replica_telemetry(inst, d),
                                           max_size=config.pool_max_size, max_lag=config.max_replica_lag,
                                           check_interval=config.replica_check_interval)
        self._pool = AsyncConnectionPool(self._dsn.reveal(), min_size=config.pool_min_size,
                                         max_size=config.pool_max_size, open=False, name="animus-async",
                                         connection_class=AsyncPooledConnection, configure=configure,
                                         kwargs={"autocommit": True, "row_factory": dict_row})

    async def open(self, timeout: float = 10.0) -> "AsyncClient":
        try:
            conn = await psycopg.AsyncConnection.connect(self._dsn.reveal(), connect_timeout=max(1, int(timeout)))
            await conn.close()
        except psycopg.Error as exc:
            err = from_psycopg(exc, scrub=self._dsn.scrub)
            raise ConnectionFailed(f"cannot connect to {self._dsn.redacted}: {err.message}",
                                   sqlstate=err.sqlstate) from None
        try:
            await self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            await self._pool.close(timeout=0)
            raise ConnectionFailed(f"cannot connect to {self._dsn.redacted} within {timeout:g} s") from None
        return self

    async def _embed_into(self, call: Call) -> None:
        param, text = call.embed  # type: ignore[misc]
        emb = self.embedder
        if emb is None:
            if call.query.name == "hybrid_search":
                return
            raise InvalidArgument(f"{call.query.name}: {param} is required (pass it, or give the "
                                  "client an Embedder: animus.connect_async(embedder=...))")
        with genai.embeddings(emb.model, provider=emb.provider, instruments=self._tel.inst) as op:
            vectors = emb.embed([text])
            if inspect.isawaitable(vectors):
                vectors = await vectors
            op.set("gen_ai.embeddings.dimension.count", len(vectors[0]))
        call.params[param] = vectors[0]

    async def _run(self, call: Call) -> Any:
        if call.embed is not None:
            await self._embed_into(call)
        reps = self._replicas
        if call.query.read_only and reps is not None:
            replica, why = await reps.pick()
            if replica is not None:
                try:
                    return await self._run_on(call, replica.pool, replica.tel, None, replica)
                except _ReplicaFailed:
                    reps.failed(replica)
                    why = "error"
            return await self._run_on(call, self._pool, self._tel, why)
        return await self._run_on(call, self._pool, self._tel, None)

    async def _run_on(self, call: Call, pool: AsyncConnectionPool, tel: Telemetry, fallback: str | None,
                      replica: Any = None) -> Any:
        span, desc, t0 = tel.begin(call)
        if fallback is not None and span is not None:
            span.set_attribute("animus.db.replica_fallback", fallback)
        q = call.query
        try:
            with tel.activate(span):
                sql = q.sql(tuple(call.params))
                values = adapt(q, call.params)
                async with pool.connection() as conn:
                    cur = conn.call_cursor(q)
                    await cur.execute(sql, values)
                    rows = shape_result(q, cur, await cur.fetchall())
        except psycopg.Error as exc:
            dsn = self._dsn if replica is None else replica.dsn
            err = from_psycopg(exc, function=q.qualified, scrub=dsn.scrub)
            if err.sqlstate == "42883":
                err = undefined_function_error(q, call.params, err, await self._deployed(q))
            tel.fail(call, span, desc, t0, err)
            if replica is not None and replica_unavailable(exc):
                raise _ReplicaFailed() from None
            raise err from None
        except BaseException as exc:  # e.g. a value psycopg cannot adapt, or cancellation
            tel.abort(call, span, t0, exc)
            raise
        result = call.post(rows)
        tel.ok(call, span, desc, t0, result)
        return result

    def _execute(self, call: Call) -> Any:
        return self._run(call)

    def replica_states(self) -> list[dict[str, Any]]:
        """Each replica's last known state (see :meth:`animus.Client.replica_states`)."""
        return [] if self._replicas is None else self._replicas.states()

    def _waiter(self) -> AsyncWaits:
        waits = self._waits
        if waits is None:
            dsn = self._dsn.reveal()

            async def connect() -> psycopg.AsyncConnection:
                return await psycopg.AsyncConnection.connect(dsn, autocommit=True,
                                                             application_name=LISTENER_APPLICATION_NAME)

            waits = self._waits = AsyncWaits(connect, self._dsn.scrub, self.wait_poll_interval)
        return waits

    async def _wait_run(self, work_ids, timeout, single: bool):
        check_wait_timeout(timeout)
        ids = list(work_ids)
        ws = WaitSpan(self._tel, ids, single)
        try:
            results = await self._waiter().wait_many(ids, timeout)
            value = outcome_of(results[0]) if single else results
        except BaseException as exc:
            ws.fail(exc)
            raise
        ws.ok(results)
        return value

    def _wait_many(self, work_ids, timeout):
        return self._wait_run(work_ids, timeout, False)

    def _wait(self, work_id, timeout):
        return self._wait_run([work_id], timeout, True)

    async def _deployed(self, q: Query) -> tuple[bool, bool] | None:
        """(schema animus exists, function ``q`` exists), asked after a 42883."""
        try:
            async with self._pool.connection() as conn:
                cur = await conn.cursor(row_factory=tuple_row).execute(DEPLOYED_SQL, [q.function])
                row = await cur.fetchone()
            return (bool(row[0]), bool(row[1])) if row is not None else None
        except psycopg.Error:
            return None

    async def connect_raw(self, **kwargs: Any) -> psycopg.AsyncConnection:
        try:
            return await psycopg.AsyncConnection.connect(self._dsn.reveal(), autocommit=True,
                                                         row_factory=dict_row, **kwargs)
        except psycopg.Error as exc:
            raise from_psycopg(exc, scrub=self._dsn.scrub) from None

    async def bulk_store_memories(self, memories: Iterable[Mapping[str, Any]], *, batch_size: int = 2000,
                                  jobs: int = 2, namespace: str | None = None,
                                  maintenance_work_mem: str | None = None,
                                  parallel_workers: int | None = None) -> BulkLoadResult:
        """:meth:`animus.Client.bulk_store_memories`, awaitable: the batches run as ``jobs``
        concurrent tasks, each on a pooled connection."""
        batches = bulk_batches(memories, batch_size, jobs)
        await self.memory_begin_bulk_load()
        t0 = time.monotonic()
        stored = created = 0
        failure: BaseException | None = None
        running: set = set()

        def settle(done: set) -> None:
            nonlocal stored, created
            for task in done:
                rows = task.result()   # a refused batch raises here
                stored += len(rows)
                created += sum(1 for r in rows if r.created)

        try:
            for batch in batches:
                if len(running) >= jobs:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    settle(done)
                running.add(asyncio.ensure_future(self.store_memories(batch, namespace=namespace)))
            while running:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                settle(done)
        except BaseException as exc:
            if running:
                await asyncio.wait(running)   # the batches running beside a refused one end
            failure = exc
        t1 = time.monotonic()
        try:
            total: Any = await self.memory_finish_bulk_load(maintenance_work_mem=maintenance_work_mem,
                                                            parallel_workers=parallel_workers)
        except BaseException as exc:   # raised after a refused batch's error, if any
            total = exc
        return bulk_outcome(failure, total, stored, created, t1 - t0, time.monotonic() - t1)

    @property
    def instruments(self):
        return self._tel.inst

    async def close(self) -> None:
        if self._waits is not None:
            await self._waits.close()
        telemetry_flush()
        if self._replicas is not None:
            await self._replicas.close()
        await self._pool.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (f"AsyncClient(dsn={self._dsn.redacted!r}, pool={self.config.pool_min_size}.."
                f"{self.config.pool_max_size})")


async def connect_async(dsn: str | None = None, *, embedder: Embedder | None = None,
                        tracer_provider: Any = None, meter_provider: Any = None, replicas: Any = None,
                        **config: Any) -> AsyncClient:
    """An opened :class:`AsyncClient` (``DATABASE_URL`` by default, ``.env`` loaded); ``replicas``
    as for :func:`animus.connect`."""
    cfg = Config.from_env(dsn=dsn)
    if config:
        import dataclasses

        cfg = dataclasses.replace(cfg, **config)
    client = AsyncClient(cfg, embedder=embedder, tracer_provider=tracer_provider, meter_provider=meter_provider,
                         replicas=replicas)
    return await client.open()
