"""Every SQL statement the client sends, in one place, one name per query.

A :class:`Query` names one ``animus.*`` function, how its result is shaped, how its arguments
are adapted, and which telemetry conventions wrap it. :meth:`Query.sql` renders the call with
named arguments (``f(a => %s, …)``, values passed positionally) for the arguments the caller
actually gave, so every other argument keeps the default the database declares; the rendered
text is cached per argument set, so psycopg prepares each shape once and reuses it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Query", "QUERIES", "NOTIFY_CHANNEL", "WAIT_CHANNEL"]

Shape = Literal["row", "rows", "scalar", "none"]
# Telemetry: messaging operation types (send/receive/settle/create) or a plain db call.
Kind = Literal["send", "receive", "settle", "create", "db"]


@dataclass(frozen=True)
class Query:
    name: str                      # the client method
    function: str                  # the schema-qualified SQL function
    shape: Shape
    kind: Kind
    jsonb: frozenset[str] = frozenset()     # arguments sent as jsonb
    casts: tuple[tuple[str, str], ...] = ()  # argument -> SQL type cast
    intervals: frozenset[str] = frozenset()  # arguments of type interval (numbers = seconds)
    # The result can hold an infinite timestamp (a queue's last_notified_at before its first
    # wake-up, a run_at of 'infinity' given by the caller): loaded as datetime.max/min.
    infinite: bool = False
    # Checked by the client before the call, so a wrong value names its argument instead of
    # reaching the server as a call no function matches (42883): arguments without a default in
    # SQL that must be given (not None; those with a NULL default are refused by the function
    # itself, ZA001), and integer arguments with the bits of their SQL type (32: integer,
    # 64: bigint).
    required: tuple[str, ...] = ()
    ints: tuple[tuple[str, int], ...] = ()
    # The function only reads (STABLE, writes nothing: tests/python/test_replica.py checks both on
    # a hot standby): a client given replicas (DATABASE_REPLICA_URL) may send the call to one.
    read_only: bool = False
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def sql(self, keys: tuple[str, ...]) -> str:
        """The statement for a call passing exactly the arguments ``keys`` (in that order)."""
        text = self._cache.get(keys)
        if text is None:
            casts = dict(self.casts)
            args = ", ".join(f"{k} => %s" + (f"::{casts[k]}" if k in casts else "") for k in keys)
            target = f"animus.{self.function}({args})"
            if self.shape in ("row", "rows"):
                text = f"SELECT * FROM {target}"
            else:
                text = f"SELECT {target}"
            self._cache[keys] = text
        return text

    @property
    def qualified(self) -> str:
        return f"animus.{self.function}"


def _q(name: str, shape: Shape, kind: Kind, jsonb: tuple[str, ...] = (),
       casts: tuple[tuple[str, str], ...] = (), function: str | None = None,
       intervals: tuple[str, ...] = (), infinite: bool = False, required: tuple[str, ...] = (),
       int32: tuple[str, ...] = (), int64: tuple[str, ...] = (), read_only: bool = False) -> Query:
    ints = tuple((k, 32) for k in int32) + tuple((k, 64) for k in int64)
    return Query(name, function or name, shape, kind, frozenset(jsonb), casts, frozenset(intervals),
                 infinite, required, ints, read_only)


_VEC = (("embedding", "vector"), ("query_embedding", "vector"))
# Claim tokens (read_work's attempts): psycopg would send a small int as int2.
_ATTEMPT = (("attempt", "integer"),)
_ATTEMPTS = (("attempts", "integer[]"),)
_OCCURRENCE = (("occurrence", "integer"),)

QUERIES: dict[str, Query] = {q.name: q for q in [
    # work queue
    _q("submit_work", "row", "send", ("params", "trace_context"), intervals=("delay",),
       required=("work_type", "source"), int32=("priority", "max_attempts", "cost")),
    _q("submit_work_batch", "rows", "send", ("items", "trace_context"), required=("items",)),
    _q("read_work", "rows", "receive", intervals=("vt",), int32=("qty",)),
    _q("complete_work", "scalar", "settle", ("outcome",), _ATTEMPT, required=("work_id",),
       int32=("attempt",)),
    _q("complete_work_many", "rows", "settle", casts=_ATTEMPTS, function="complete_work",
       required=("work_ids",)),
    _q("fail_work", "row", "settle", casts=_ATTEMPT, required=("work_id", "error"), int32=("attempt",)),
    _q("fail_work_many", "rows", "settle", casts=_ATTEMPTS, function="fail_work",
       required=("work_ids", "error")),
    _q("heartbeat_work", "row", "settle", casts=_ATTEMPT, intervals=("extend",), required=("work_id",),
       int32=("attempt",)),
    _q("heartbeat_work_batch", "rows", "settle", casts=_ATTEMPTS, intervals=("extend",),
       required=("work_ids",)),
    _q("release_work", "scalar", "settle", casts=_ATTEMPT, intervals=("delay",), required=("work_id",),
       int32=("attempt",)),
    _q("cancel_work", "scalar", "settle", required=("work_id",)),
    _q("archive_work", "scalar", "settle", required=("queue", "msg_id"), int64=("msg_id",)),
    _q("delete_work", "scalar", "settle", required=("queue", "msg_id"), int64=("msg_id",)),
    _q("get_work", "row", "db", infinite=True, required=("work_id",), read_only=True),
    _q("watch_work", "rows", "db", required=("work_ids",)),
    _q("get_work_submissions", "rows", "db", required=("work_id",), read_only=True),
    _q("work_children", "rows", "db", required=("parent_id",), read_only=True),
    _q("queue_stats", "rows", "db", read_only=True),
    _q("create_queue", "scalar", "db", intervals=("backoff_base", "backoff_cap", "notify_throttle"),
       required=("queue",)),
    _q("configure_queue", "row", "db", intervals=("backoff_base", "backoff_cap", "notify_throttle"),
       infinite=True, required=("queue",)),
    _q("drop_queue", "scalar", "db", required=("queue",)),
    _q("pause_queue", "scalar", "db", required=("queue",)),
    _q("resume_queue", "scalar", "db", required=("queue",)),
    _q("set_concurrency_limit", "row", "db", intervals=("period",), required=("queue",),
       int32=("max_running", "rate")),
    _q("drop_concurrency_limit", "row", "db", required=("queue",)),
    _q("concurrency_stats", "rows", "db", read_only=True),
    _q("sweep_concurrency_keys", "scalar", "db"),
    _q("purge_work", "rows", "db", intervals=("older_than",), int32=("batch_size",)),
    # durable steps, sleeps and events (deploy/work_steps.sql)
    _q("start_step", "row", "db", casts=_ATTEMPT + _OCCURRENCE, required=("work_id", "step_name", "attempt"),
       int32=("attempt", "occurrence")),
    _q("finish_step", "scalar", "db", ("result",), _ATTEMPT + _OCCURRENCE,
       required=("work_id", "step_name", "attempt"), int32=("attempt", "occurrence")),
    _q("sleep_work", "row", "db", casts=_ATTEMPT + _OCCURRENCE, intervals=("delay",),
       required=("work_id", "attempt"), int32=("attempt", "occurrence")),
    _q("await_event", "row", "db", casts=_ATTEMPT + _OCCURRENCE, intervals=("timeout",),
       required=("work_id", "attempt", "event_key"), int32=("attempt", "occurrence")),
    _q("emit_event", "scalar", "db", ("payload",), required=("event_key",)),
    _q("get_event", "row", "db", required=("event_key",), read_only=True),
    _q("get_work_steps", "rows", "db", infinite=True, required=("work_id",), read_only=True),
    _q("purge_events", "scalar", "db", intervals=("older_than",)),
    # schedules
    _q("create_schedule", "row", "db", ("params",), intervals=("every",), required=("name", "work_type"),
       int32=("max_catchup", "priority", "max_attempts")),
    _q("alter_schedule", "row", "db", ("params",), intervals=("every",), required=("name",),
       int32=("max_catchup", "priority", "max_attempts")),
    _q("pause_schedule", "scalar", "db", required=("name",)),
    _q("resume_schedule", "scalar", "db", required=("name",)),
    _q("drop_schedule", "scalar", "db", required=("name",)),
    _q("list_schedules", "rows", "db", read_only=True),
    _q("schedule_next_runs", "rows", "db", required=("name",), int32=("count",), read_only=True),
    _q("cron_next_runs", "rows", "db", required=("cron",), int32=("count",), read_only=True),
    _q("tick_schedules", "rows", "db", int32=("max_submits",)),
    # memory
    _q("store_memory", "row", "db", ("metadata",), _VEC + (("supersedes", "bigint[]"),), intervals=("ttl",)),
    _q("store_memories", "rows", "db", ("memories",)),
    _q("get_memory", "row", "db", int64=("id",), read_only=True),
    _q("update_memory", "row", "db", ("metadata",), _VEC, int64=("id",)),
    _q("delete_memory", "scalar", "db", int64=("id",)),
    _q("delete_memories", "scalar", "db"),
    # lifecycle, links, review (deploy/memory_lifecycle.sql, memory_links.sql, memory_review.sql)
    _q("update_memory_lifecycle", "row", "db", casts=(("supersedes", "bigint[]"),), intervals=("ttl",),
       required=("id",), int64=("id",)),
    _q("purge_expired_memories", "scalar", "db", intervals=("grace",), int32=("max_rows",)),
    _q("memory_chain", "rows", "db", required=("id",), int64=("id",)),
    _q("link_memories", "row", "db", ("metadata",), required=("source", "target"), int64=("source", "target")),
    _q("unlink_memories", "scalar", "db", required=("source", "target"), int64=("source", "target")),
    _q("memory_neighbors", "rows", "db", required=("id",), int64=("id",), int32=("depth",)),
    _q("memory_graph_expand", "rows", "db", casts=(("hit_ids", "bigint[]"), ("hit_scores", "double precision[]")),
       required=("hit_ids", "hit_scores"), int32=("depth",)),
    _q("review_memory", "row", "db", required=("id", "grade"), int64=("id",), int32=("grade",)),
    _q("due_memories", "rows", "db", int32=("lim",)),
    # embedding models and re-embedding (deploy/memory_models.sql)
    _q("register_model", "row", "db", ("metadata",), required=("name", "dimension"), int32=("dimension",)),
    _q("set_namespace_model", "scalar", "db", required=("namespace", "model")),
    _q("memory_request_reembedding", "scalar", "db", int32=("max_items",)),
    _q("memory_set_embedding", "scalar", "db", casts=_VEC, required=("id", "embedding", "model", "content"),
       int64=("id",)),
    _q("memory_reembedding_progress", "rows", "db"),
    _q("search_memory_vector", "rows", "db", ("filters",), _VEC, int32=("k",), read_only=True),
    _q("search_memory_text", "rows", "db", ("filters",), int32=("k",), read_only=True),
    _q("hybrid_search", "rows", "db", ("filters",), _VEC, int32=("k", "rrf_k", "candidates", "graph_depth"),
       intervals=("recency_half_life",), read_only=True),
    _q("memory_begin_reembedding", "scalar", "db", int32=("embedding_dim",)),
    _q("memory_finish_reembedding", "scalar", "db"),
    _q("memory_begin_bulk_load", "scalar", "db"),
    _q("memory_finish_bulk_load", "scalar", "db", int32=("parallel_workers",)),
    _q("memory_configure_vector_index", "row", "db", required=("kind",), int32=("lists", "probes", "parallel_workers", "ef_search", "m", "ef_construction")),
    _q("memory_vector_index_status", "row", "db", read_only=True),
    _q("grant_memory_namespace", "scalar", "db"),
    _q("revoke_memory_namespace", "scalar", "db"),
    # operations (deploy/ops_*.sql)
    _q("health", "rows", "db"),
    _q("deployed_version", "scalar", "db"),
    _q("set_health_threshold", "row", "db", required=("check_name",)),
    _q("list_dead_work", "rows", "db", int32=("page_size",)),
    _q("retry_dead_work", "row", "db", intervals=("delay",), required=("work_id",)),
    _q("discard_dead_work", "scalar", "db", required=("work_id",)),
    _q("queue_depth_history", "rows", "db", intervals=("since",), int32=("buckets",)),
    _q("memory_namespace_stats", "rows", "db"),
    _q("memory_bm25_configure", "row", "db",
       int32=("postings_budget", "max_postings_budget", "rescore_extra", "refresh_after")),
]}

# The queue's throttled wake-up channel (see docs/work-queue.md).
NOTIFY_CHANNEL = "animus_work"
# Awaited items that end (animus.watch_work marked them) are notified here, payload: the item id.
WAIT_CHANNEL = "animus_work_done"
