"""The synchronous client: a psycopg 3 connection pool and one method per SQL function."""
from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from animus._bounded import bulk_batches, bulk_outcome, run_bounded
from animus._core import (DEPLOYED_SQL, Call, Methods, PooledConnection, Telemetry, WaitSpan, _ReplicaFailed,
                          adapt, check_wait_timeout, replica_telemetry, server_attrs, shape_result,
                          undefined_function_error, with_replicas)
from animus.config import Config
from animus.embedding import Embedder
from animus.queries import Query
from animus.replicas import SyncReplicas, replica_unavailable
from animus.results import BulkLoadResult
from animus.errors import ConnectionFailed, InvalidArgument, from_psycopg
from animus.telemetry import genai
from animus.telemetry.conventions import Instruments, default_instruments
from animus.telemetry.deferred import flush as telemetry_flush
from animus.waiting import DEFAULT_POLL_INTERVAL, SyncWaits, outcome_of

__all__ = ["Client", "connect"]


def _instruments(tracer_provider: Any, meter_provider: Any) -> Instruments:
    if tracer_provider is None and meter_provider is None:
        return default_instruments()
    return Instruments(tracer_provider, meter_provider)


class Client(Methods):
    """A thread-safe client backed by a :class:`psycopg_pool.ConnectionPool`.

    Use :func:`animus.connect` to build one from the environment. Each call runs one statement
    in autocommit mode on a pooled connection, inside an OpenTelemetry span.
    """

    #: Seconds between the listener's re-checks of every awaited item (the polling fallback of
    #: :meth:`wait`, for a notification lost with a dropped connection). Set before the first wait.
    wait_poll_interval: float = DEFAULT_POLL_INTERVAL

    def __init__(self, config: Config, *, embedder: Embedder | None = None,
                 tracer_provider: Any = None, meter_provider: Any = None,
                 connect_timeout: float = 10.0, replicas: Any = None) -> None:
        self._waits: SyncWaits | None = None
        self._replicas: SyncReplicas | None = None
        config = with_replicas(config, replicas)
        self.config = config
        self._dsn = config.database_url
        self.embedder = embedder
        inst = _instruments(tracer_provider, meter_provider)
        self._tel = Telemetry(inst, server_attrs(self._dsn), self._dsn.dbname)
        if config.replica_urls:
            self._replicas = SyncReplicas(config.replica_urls, lambda d: replica_telemetry(inst, d),
                                          max_size=config.pool_max_size, max_lag=config.max_replica_lag,
                                          check_interval=config.replica_check_interval)
        self._pool = ConnectionPool(self._dsn.reveal(), min_size=config.pool_min_size,
                                    max_size=config.pool_max_size, open=False, name="animus",
                                    connection_class=PooledConnection,
                                    kwargs={"autocommit": True, "row_factory": dict_row})
        # One direct attempt first: a wrong password or host fails at once with the server's
        # reason, instead of after the pool's retries.
        try:
            psycopg.connect(self._dsn.reveal(), connect_timeout=max(1, int(connect_timeout))).close()
        except psycopg.Error as exc:
            err = from_psycopg(exc, scrub=self._dsn.scrub)
            raise ConnectionFailed(f"cannot connect to {self._dsn.redacted}: {err.message}",
                                   sqlstate=err.sqlstate) from None
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close(timeout=0)
            raise ConnectionFailed(f"cannot connect to {self._dsn.redacted} within "
                                   f"{connect_timeout:g} s") from None

    def connect_raw(self, **kwargs: Any) -> psycopg.Connection:
        """A new dedicated (unpooled) autocommit connection, e.g. for LISTEN."""
        try:
            return psycopg.connect(self._dsn.reveal(), autocommit=True, row_factory=dict_row, **kwargs)
        except psycopg.Error as exc:
            raise from_psycopg(exc, scrub=self._dsn.scrub) from None

    def _embed_into(self, call: Call) -> None:
        param, text = call.embed  # type: ignore[misc]
        emb = self.embedder
        if emb is None:
            if call.query.name == "hybrid_search":
                return  # keyword branch only
            raise InvalidArgument(f"{call.query.name}: {param} is required (pass it, or give the "
                                  "client an Embedder: animus.connect(embedder=...))")
        with genai.embeddings(emb.model, provider=emb.provider, instruments=self._tel.inst) as op:
            vectors = emb.embed([text])
            op.set("gen_ai.embeddings.dimension.count", len(vectors[0]))
        call.params[param] = vectors[0]

    def _execute(self, call: Call) -> Any:
        if call.embed is not None:
            self._embed_into(call)
        if call.query.read_only and self._replicas is not None:
            return self._read(call)
        return self._run(call, self._pool, self._tel, None)

    def _read(self, call: Call) -> Any:
        """A read-only call on a usable replica, else (or when that replica fails) the primary."""
        reps = self._replicas
        replica, why = reps.pick()
        if replica is not None:
            try:
                return self._run(call, replica.pool, replica.tel, None, replica)
            except _ReplicaFailed:
                reps.failed(replica)
                why = "error"
        return self._run(call, self._pool, self._tel, why)

    def _run(self, call: Call, pool: ConnectionPool, tel: Telemetry, fallback: str | None,
             replica: Any = None) -> Any:
        span, desc, t0 = tel.begin(call)
        if fallback is not None and span is not None:
            span.set_attribute("animus.db.replica_fallback", fallback)
        q = call.query
        token = tel.attach(span)
        try:
            sql = q.sql(tuple(call.params))
            values = adapt(q, call.params)
            # getconn/putconn rather than ``with pool.connection()``: the same checkout and
            # return (autocommit: nothing to commit), without two generator context managers.
            conn = pool.getconn()
            try:
                cur = conn.call_cursor(q)
                cur.execute(sql, values)
                rows = shape_result(q, cur, cur.fetchall())
            finally:
                pool.putconn(conn)
        except psycopg.Error as exc:
            tel.detach(token)
            dsn = self._dsn if replica is None else replica.dsn
            err = from_psycopg(exc, function=q.qualified, scrub=dsn.scrub)
            if err.sqlstate == "42883":
                err = undefined_function_error(q, call.params, err, self._deployed(q))
            tel.fail(call, span, desc, t0, err)
            if replica is not None and replica_unavailable(exc):
                raise _ReplicaFailed() from None
            raise err from None
        except BaseException as exc:  # e.g. a value psycopg cannot adapt, or cancellation
            tel.detach(token)
            tel.abort(call, span, t0, exc)
            raise
        tel.detach(token)
        result = call.post(rows)
        tel.ok(call, span, desc, t0, result)
        return result

    def bulk_store_memories(self, memories: Iterable[Mapping[str, Any]], *, batch_size: int = 2000,
                            jobs: int = 2, namespace: str | None = None,
                            maintenance_work_mem: str | None = None,
                            parallel_workers: int | None = None) -> BulkLoadResult:
        """Load many memories through the bulk path (admin): :meth:`memory_begin_bulk_load`, then
        :meth:`store_memories` in batches of ``batch_size`` on ``jobs`` pooled connections at once
        (each batch one statement, all or nothing), then :meth:`memory_finish_bulk_load` with
        ``maintenance_work_mem`` / ``parallel_workers``. ``memories`` may be a generator: at most
        ``jobs`` batches are held at a time.

        A batch the database refuses stops the load: the batches stored before it stay (and those
        running beside it on the other connections), no later batch starts, the finish still runs
        (the indexes are rebuilt), then the batch's error is raised. Re-running the load merges
        what is already there. Raises InvalidArgument for ``batch_size`` or ``jobs``
        below 1, and what :meth:`memory_begin_bulk_load` raises (a bulk load already in progress,
        a re-embedding)."""
        batches = bulk_batches(memories, batch_size, jobs)
        self.memory_begin_bulk_load()
        t0 = time.monotonic()
        stored = created = 0
        failure: BaseException | None = None

        def settle(rows: list) -> None:
            nonlocal stored, created
            stored += len(rows)
            created += sum(1 for r in rows if r.created)

        try:
            run_bounded(jobs, batches,
                        lambda batch: self.store_memories(batch, namespace=namespace), settle)
        except BaseException as exc:
            failure = exc
        t1 = time.monotonic()
        try:
            total: Any = self.memory_finish_bulk_load(maintenance_work_mem=maintenance_work_mem,
                                                      parallel_workers=parallel_workers)
        except BaseException as exc:   # raised after a refused batch's error, if any
            total = exc
        return bulk_outcome(failure, total, stored, created, t1 - t0, time.monotonic() - t1)

    def replica_states(self) -> list[dict[str, Any]]:
        """Each replica's last known state: server (redacted URL), down, lag (seconds or None),
        checked_seconds_ago. Empty without replicas."""
        return [] if self._replicas is None else self._replicas.states()

    def _waiter(self) -> SyncWaits:
        waits = self._waits
        if waits is None:
            waits = self._waits = SyncWaits(self._dsn.reveal(), self._dsn.scrub, self.wait_poll_interval)
        return waits

    def _wait_many(self, work_ids, timeout, single: bool = False):
        check_wait_timeout(timeout)
        ids = list(work_ids)
        ws = WaitSpan(self._tel, ids, single)
        try:
            results = self._waiter().wait_many(ids, timeout)
            value = outcome_of(results[0]) if single else results
        except BaseException as exc:
            ws.fail(exc)
            raise
        ws.ok(results)
        return value

    def _wait(self, work_id, timeout):
        return self._wait_many([work_id], timeout, single=True)

    def _deployed(self, q: Query) -> tuple[bool, bool] | None:
        """(schema animus exists, function ``q`` exists), asked after a 42883."""
        try:
            with self._pool.connection() as conn:
                row = conn.cursor(row_factory=tuple_row).execute(DEPLOYED_SQL, [q.function]).fetchone()
            return (bool(row[0]), bool(row[1])) if row is not None else None
        except psycopg.Error:
            return None

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    @property
    def instruments(self) -> Instruments:
        return self._tel.inst

    def close(self) -> None:
        if self._waits is not None:
            self._waits.close()
        telemetry_flush()   # this client's queued span ends and records
        if self._replicas is not None:
            self._replicas.close()
        self._pool.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Client(dsn={self._dsn.redacted!r}, pool={self.config.pool_min_size}.."
                f"{self.config.pool_max_size})")


def connect(dsn: str | None = None, *, embedder: Embedder | None = None,
            tracer_provider: Any = None, meter_provider: Any = None, replicas: Any = None,
            **config: Any) -> Client:
    """A :class:`Client` for ``dsn`` (default: ``DATABASE_URL``, ``.env`` loaded).

    ``replicas``: hot standbys for the read-only calls (a URL, a comma-separated list or a list;
    default ``DATABASE_REPLICA_URL``; ``[]``: none), see :mod:`animus.replicas`. Keyword arguments
    override :class:`~animus.config.Config` fields (e.g. ``pool_max_size=4``, ``max_replica_lag=2``).

    >>> import animus
    >>> client = animus.connect()          # doctest: +SKIP
    """
    cfg = Config.from_env(dsn=dsn)
    if config:
        import dataclasses

        cfg = dataclasses.replace(cfg, **config)
    return Client(cfg, embedder=embedder, tracer_provider=tracer_provider, meter_provider=meter_provider,
                  replicas=replicas)
