"""Read-only calls on hot standbys (``DATABASE_REPLICA_URL``), the primary otherwise.

A client given replica URLs keeps one connection pool per replica (opened lazily: no connection
until the first read) and sends each call whose :attr:`animus.queries.Query.read_only` is set to a
*usable* replica, round-robin; every other call (any write, ``watch_work``, ``read_work`` …) goes
to the primary. A replica is usable while

* it answered its last check: at most every ``replica_check_interval`` seconds (on the calling
  thread or task, before a read) the client runs :data:`LAG_SQL` on it; a replica whose check or
  call failed for want of a connection is *down* until the next check succeeds;
* its replay lag is within ``max_replica_lag`` seconds (``None``: no bound). Lag is 0 when the
  replica has replayed everything it received, else ``now() - pg_last_xact_replay_timestamp()``,
  which over-states the lag right after a quiet period (conservative: the read goes to the
  primary until replay catches up).

When no replica is usable the call runs on the primary, and its span says why
(``animus.db.replica_fallback``: ``down``, ``lag``). A call that fails on a replica because the
connection broke, the server shut down or a recovery conflict cancelled it is retried once on the
primary (every read-only call is safe to repeat) with ``animus.db.replica_fallback = error``;
errors of the call itself (a bad argument, an unknown id) are raised as usual. Spans of calls a
replica answered carry its ``server.address`` / ``server.port`` and ``animus.db.replica = true``.

Reads on a replica see the primary's writes after replay: a caller that must read its own write
at once passes ``max_replica_lag=0`` or uses a client without replicas.
"""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Sequence

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from animus.config import SecretDSN

__all__ = ["LAG_SQL", "Replica", "SyncReplicas", "AsyncReplicas", "replica_unavailable"]

#: (in recovery, replay lag in seconds or NULL when unknown) of the server it runs on.
LAG_SQL = ("SELECT pg_catalog.pg_is_in_recovery(), CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0::float8 "
           "WHEN pg_catalog.pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_catalog.pg_last_wal_replay_lsn() "
           "THEN 0::float8 ELSE EXTRACT(EPOCH FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())::float8 END")

# SQLSTATE classes / codes that mean "this server cannot answer now", not "this call is wrong":
# connection exceptions, operator intervention (shutdown, cannot connect now, database dropped),
# and the cancellation of a standby's query by a recovery conflict (40001).
_UNAVAILABLE_PREFIXES = ("08", "57P")
_UNAVAILABLE_CODES = {"40001", "53300"}


def replica_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the server could not answer (retry elsewhere), not that the call
    was wrong."""
    if not isinstance(exc, psycopg.Error):
        return False
    state = getattr(exc, "sqlstate", None)
    if state is None:
        return isinstance(exc, psycopg.OperationalError)   # no SQLSTATE: the connection itself
    return state.startswith(_UNAVAILABLE_PREFIXES) or state in _UNAVAILABLE_CODES


class Replica:
    """One replica: its pool, telemetry and last known state."""

    __slots__ = ("dsn", "pool", "tel", "checked_at", "lag", "down", "lock")

    def __init__(self, dsn: SecretDSN, pool: Any, tel: Any) -> None:
        self.dsn = dsn
        self.pool = pool
        self.tel = tel
        self.checked_at = float("-inf")   # monotonic time of the last check
        self.lag: float | None = None     # seconds; None = unknown
        self.down = False
        self.lock = threading.Lock()

    def record(self, in_recovery: bool, lag: float | None) -> None:
        self.down = False
        self.lag = 0.0 if not in_recovery else (None if lag is None else max(0.0, float(lag)))
        self.checked_at = time.monotonic()

    def mark_down(self) -> None:
        self.down = True
        self.lag = None
        self.checked_at = time.monotonic()

    def state(self) -> dict[str, Any]:
        return {"server": self.dsn.redacted, "down": self.down, "lag": self.lag,
                "checked_seconds_ago": None if self.checked_at == float("-inf")
                else round(time.monotonic() - self.checked_at, 3)}


class _Replicas:
    """What both flavours share: the list, the bound, the choice."""

    def __init__(self, replicas: Sequence[Replica], max_lag: float | None, check_interval: float) -> None:
        self.replicas = list(replicas)
        self.max_lag = max_lag
        self.check_interval = check_interval
        self._next = itertools.count()

    def _usable(self, r: Replica) -> str | None:
        """None when ``r`` may take a read, else why not (``down`` or ``lag``)."""
        if r.down:
            return "down"
        if self.max_lag is not None and (r.lag is None or r.lag > self.max_lag):
            return "lag"
        return None

    def _order(self) -> list[Replica]:
        n = len(self.replicas)
        start = next(self._next) % n
        return self.replicas[start:] + self.replicas[:start]

    def _stale(self, r: Replica) -> bool:
        return time.monotonic() - r.checked_at >= self.check_interval

    def states(self) -> list[dict[str, Any]]:
        return [r.state() for r in self.replicas]


def _replicas(dsns: Sequence[SecretDSN], make_tel, pool_class: Any, connection_class: Any, name: str,
              max_size: int, connect_timeout: float) -> list[Replica]:
    """One :class:`Replica` per URL, each with its own (sync or async) pool, opened on first use."""
    return [Replica(dsn, pool_class(dsn.reveal(), min_size=0, max_size=max_size, open=False, name=f"{name}-{i}",
                                    connection_class=connection_class, timeout=connect_timeout,
                                    kwargs={"autocommit": True, "row_factory": dict_row,
                                            "connect_timeout": max(1, int(connect_timeout))}),
                    make_tel(dsn))
            for i, dsn in enumerate(dsns)]


class SyncReplicas(_Replicas):
    """The replicas of a :class:`animus.Client`."""

    def __init__(self, dsns: Sequence[SecretDSN], make_tel, *, max_size: int, max_lag: float | None,
                 check_interval: float, connect_timeout: float = 2.0) -> None:
        from animus._core import PooledConnection   # no import cycle at module load
        self.connect_timeout = connect_timeout
        super().__init__(_replicas(dsns, make_tel, ConnectionPool, PooledConnection, "animus-replica",
                                   max_size, connect_timeout), max_lag, check_interval)

    def check(self, r: Replica) -> None:
        """Measure ``r``'s state now (one query; a down replica: a new connection first)."""
        try:
            if r.down or r.pool.closed:
                # A refused connection fails at once; the pool would wait its timeout.
                psycopg.connect(r.dsn.reveal(), connect_timeout=max(1, int(self.connect_timeout))).close()
                if r.pool.closed:
                    r.pool.open(wait=False)
                else:
                    r.pool.check()        # drop the connections that died with the server
            conn = r.pool.getconn()
            try:
                row = conn.execute(LAG_SQL, prepare=False).fetchone()
            finally:
                r.pool.putconn(conn)
            values = list(row.values())
            r.record(values[0], values[1])
        except psycopg.Error:
            r.mark_down()

    def pick(self) -> tuple[Replica | None, str | None]:
        """(the replica to read from, None) or (None, why the primary: ``down`` / ``lag``)."""
        why = None
        for r in self._order():
            if self._stale(r) and r.lock.acquire(blocking=False):
                try:
                    if self._stale(r):
                        self.check(r)
                finally:
                    r.lock.release()
            reason = self._usable(r)
            if reason is None:
                return r, None
            why = why if why == "lag" else reason
        return None, why

    def failed(self, r: Replica) -> None:
        r.mark_down()

    def close(self) -> None:
        for r in self.replicas:
            if not r.pool.closed:
                r.pool.close()


class AsyncReplicas(_Replicas):
    """The replicas of an :class:`animus.AsyncClient`."""

    def __init__(self, dsns: Sequence[SecretDSN], make_tel, *, max_size: int, max_lag: float | None,
                 check_interval: float, connect_timeout: float = 2.0) -> None:
        from animus._core import AsyncPooledConnection
        self.connect_timeout = connect_timeout
        self._checking: set[int] = set()
        super().__init__(_replicas(dsns, make_tel, AsyncConnectionPool, AsyncPooledConnection, "animus-async-replica",
                                   max_size, connect_timeout), max_lag, check_interval)

    async def check(self, r: Replica) -> None:
        try:
            if r.down or r.pool.closed:
                conn = await psycopg.AsyncConnection.connect(r.dsn.reveal(),
                                                             connect_timeout=max(1, int(self.connect_timeout)))
                await conn.close()
                if r.pool.closed:
                    await r.pool.open(wait=False)
                else:
                    await r.pool.check()
            async with r.pool.connection() as conn:
                cur = await conn.execute(LAG_SQL, prepare=False)
                row = await cur.fetchone()
            values = list(row.values())
            r.record(values[0], values[1])
        except psycopg.Error:
            r.mark_down()

    async def pick(self) -> tuple[Replica | None, str | None]:
        why = None
        for r in self._order():
            if self._stale(r) and id(r) not in self._checking:
                self._checking.add(id(r))
                try:
                    await self.check(r)
                finally:
                    self._checking.discard(id(r))
            reason = self._usable(r)
            if reason is None:
                return r, None
            why = why if why == "lag" else reason
        return None, why

    def failed(self, r: Replica) -> None:
        r.mark_down()

    async def close(self) -> None:
        for r in self.replicas:
            if not r.pool.closed:
                await r.pool.close()
