"""Typed results: one dataclass per row shape the SQL functions return.

Rows are mapped by column name. A column this version of the client does not know is kept in
``extra`` rather than dropped, so a newer schema never breaks an older client.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar, Mapping, Sequence, TypeVar
from uuid import UUID

__all__ = [
    "SubmitResult", "WorkItem", "Submission", "WorkDetails", "HeartbeatResult", "SettleResult",
    "QueueStats", "ConcurrencyLimit", "ConcurrencyStats", "StoreResult", "Memory", "SearchHit",
    "BM25Settings", "VectorIndexSettings", "VectorIndexStatus", "WaitResult", "StepStart", "SleepResult", "EventWait", "Event", "WorkStep",
    "Schedule", "ScheduleRun", "MemoryLink", "MemoryNeighbor", "ChainEntry", "GraphHit",
    "ReviewState", "DueMemory", "EmbeddingModel", "ReembeddingProgress", "HealthCheck", "HealthThreshold",
    "DeadWork", "DeadRetry", "DepthPoint", "NamespaceStats", "Row"
]

T = TypeVar("T", bound="Row")


@dataclass(frozen=True)
class Row:
    _aliases: ClassVar[dict[str, str]] = {}
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)

    @classmethod
    def _fieldnames(cls) -> frozenset[str]:
        names = cls.__dict__.get("_names_cache")
        if names is None:
            names = frozenset(f.name for f in dataclasses.fields(cls) if f.name != "extra")
            cls._names_cache = names  # type: ignore[attr-defined]
        return names

    @classmethod
    def builder(cls: type[T], names: tuple[str, ...]) -> Callable[[Sequence[Any]], T]:
        """A function making an instance from a row (a sequence) whose columns are ``names``, as
        :meth:`from_row` would from the same row as a mapping; made once per class and column
        list (the hot path: no per-row dict, no per-column lookups)."""
        cache = cls.__dict__.get("_builders")
        if cache is None:
            cache = {}
            cls._builders = cache  # type: ignore[attr-defined]
        build = cache.get(names)
        if build is None:
            fields = cls._fieldnames()
            aliases = cls._aliases
            known: dict[str, int] = {}
            extra: list[tuple[int, str]] = []
            for i, key in enumerate(names):
                name = aliases.get(key, key)
                if name in fields and name not in known:
                    known[name] = i
                else:
                    extra.append((i, key))
            # Instances are filled in place (no keyword call through the frozen __init__): the
            # defaults of the fields the row lacks, then the row's values.
            defaults: dict[str, Any] = {}
            factories: list[tuple[str, Callable[[], Any]]] = []
            for f in dataclasses.fields(cls):
                if f.name in known or (f.name == "extra" and extra):
                    continue
                if f.default is not dataclasses.MISSING:
                    defaults[f.name] = f.default
                else:
                    factories.append((f.name, f.default_factory))  # type: ignore[arg-type]
            new = object.__new__
            in_order = not extra          # every column is a field, in column order
            order = tuple(known)
            pairs = tuple(known.items())

            def build(row: Sequence[Any]) -> T:
                obj = new(cls)
                d = obj.__dict__
                d.update(defaults)
                for name, factory in factories:
                    d[name] = factory()
                if in_order:
                    d.update(zip(order, row))
                else:
                    d.update((name, row[i]) for name, i in pairs)
                    d["extra"] = {k: row[i] for i, k in extra}
                return obj
            cache[names] = build
        return build

    @classmethod
    def from_row(cls: type[T], row: Mapping[str, Any]) -> T:
        names = cls._fieldnames()
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        aliases = cls._aliases
        for key, value in row.items():
            name = aliases.get(key, key)
            if name in names and name not in known:
                known[name] = value
            else:
                extra[key] = value
        return cls(**known, extra=extra)


@dataclass(frozen=True)
class SubmitResult(Row):
    """What ``submit_work`` did: ``status`` is ``created``, ``merged`` or ``replaced``."""

    work_id: UUID | None = None
    status: str | None = None
    canonical_id: UUID | None = None
    msg_id: int | None = None
    _aliases: ClassVar[dict[str, str]] = {"id": "work_id", "pgmq_msg_id": "msg_id"}

    @property
    def merged(self) -> bool:
        return self.status == "merged"


@dataclass(frozen=True)
class WorkItem(Row):
    """A work item as ``read_work`` (and ``get_work``) return it."""

    id: UUID | None = None
    queue: str | None = None
    work_type: str | None = None
    dedup_key: str | None = None
    source: str | None = None
    trigger_info: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    priority: int | None = None
    state: str | None = None
    attempts: int | None = None
    max_attempts: int | None = None
    msg_id: int | None = None
    parent_id: UUID | None = None
    canonical_id: UUID | None = None
    resolution: str | None = None          # the canonical item's state (for a merged row)
    merged_into: UUID | None = None
    waits_for: UUID | None = None
    outcome: Any = None
    error: str | None = None
    duration_ms: float | None = None
    trace_context: dict[str, Any] | None = None
    requesters: list[dict[str, Any]] | None = None
    requesters_total: int | None = None    # all requesters; ``requesters`` holds the first 100
    children: int | None = None
    run_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    visible_until: datetime | None = None
    resolved_at: datetime | None = None
    _aliases: ClassVar[dict[str, str]] = {"work_id": "id", "queue_name": "queue"}

    def all_trace_contexts(self) -> list[dict[str, Any]]:
        """The submitter's W3C context and every merged requester's, without duplicates."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        candidates = [self.trace_context] + [r.get("trace_context") for r in (self.requesters or [])
                                             if isinstance(r, Mapping)]
        for ctx in candidates:
            if isinstance(ctx, Mapping) and ctx.get("traceparent") and ctx["traceparent"] not in seen:
                seen.add(ctx["traceparent"])
                out.append(dict(ctx))
        return out


@dataclass(frozen=True)
class Submission(Row):
    """One submission merged into a canonical item (its provenance)."""

    id: UUID | None = None
    source: str | None = None
    trigger_info: str | None = None
    params: dict[str, Any] | None = None
    priority: int | None = None
    trace_context: dict[str, Any] | None = None
    submitted_at: datetime | str | None = None   # text in get_work's JSON, a datetime from get_work_submissions
    _aliases: ClassVar[dict[str, str]] = {"work_id": "id"}


@dataclass(frozen=True)
class WorkStep(Row):
    """One durable step of a work item (``get_work``'s ``steps``, ``get_work_steps``).

    ``kind`` is ``step``, ``sleep`` or ``event``; ``state`` is ``running``, ``completed``,
    ``failed`` or ``waiting``. ``result`` is only filled by ``get_work_steps`` (``get_work``
    lists timing and outcome); timestamps are text in ``get_work``'s JSON, datetimes from
    ``get_work_steps``."""

    name: str | None = None
    occurrence: int | None = None
    kind: str | None = None
    state: str | None = None
    attempt: int | None = None
    result: Any = None
    error: str | None = None
    fingerprint: str | None = None
    wake_at: datetime | str | None = None
    event_key: str | None = None
    started_at: datetime | str | None = None
    finished_at: datetime | str | None = None
    duration_ms: float | None = None
    _aliases: ClassVar[dict[str, str]] = {"step_name": "name"}


@dataclass(frozen=True)
class WorkDetails(Row):
    """``get_work``: the item (with ``requesters``), the submissions merged into it, and its
    first 100 durable ``steps`` (``steps_total``: all of them; ``get_work_steps`` returns every one)."""

    item: WorkItem | None = None
    merged: list[Submission] = field(default_factory=list)
    steps: list[WorkStep] = field(default_factory=list)
    steps_total: int | None = None


@dataclass(frozen=True)
class StepStart(Row):
    """``start_step``: ``done`` True with the recorded ``result`` when the step completed before
    (do not run it again); False when it is now recorded as running (run it, then finish_step)."""

    done: bool = False
    result: Any = None


@dataclass(frozen=True)
class SleepResult(Row):
    """``sleep_work``: ``suspended`` True when the item was given back until ``resume_at`` (the
    handler must stop without settling it); False once the recorded time has passed."""

    suspended: bool = False
    resume_at: datetime | None = None


@dataclass(frozen=True)
class EventWait(Row):
    """``await_event``: ``status`` ``received`` (with ``payload``), ``timeout``, or ``suspended``
    (the item was given back until the event or the deadline: stop without settling it)."""

    status: str | None = None
    payload: Any = None


@dataclass(frozen=True)
class Event(Row):
    """``get_event``: an event of a queue; ``emitted`` False while it is only awaited
    (``waiting`` counts the waits)."""

    queue: str | None = None
    emitted: bool = False
    payload: Any = None
    emitted_at: datetime | None = None
    waiting: int | None = None
    created_at: datetime | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class HeartbeatResult(Row):
    """``heartbeat_work``: the claim's new end, and whether the item was cancelled meanwhile.
    The many-id form gives ``work_id`` and ``status`` (running, cancelled, stale, ended, unknown)."""

    state: str | None = None
    cancelled: bool = False
    visible_until: datetime | None = None
    work_id: UUID | None = None
    status: str | None = None


@dataclass(frozen=True)
class SettleResult(Row):
    """``fail_work`` (and the many-id forms): the item's new state; a retry's ``retry_at``."""

    work_id: UUID | None = None
    state: str | None = None
    retry_at: datetime | None = None
    completed: bool | None = None
    failed: bool | None = None
    queue: str | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class WaitResult(Row):
    """``watch_work`` / ``wait_many``: the state of the item a work id ends with (a merged
    submission: its canonical item, ``canonical_id``). ``ended`` items carry ``outcome``
    (completed) or ``error`` (dead); ``state`` is None for an id unknown to the caller;
    ``timed_out`` is True when ``wait_many``'s timeout passed before the item ended."""

    work_id: UUID | None = None
    canonical_id: UUID | None = None
    state: str | None = None
    ended: bool = False
    outcome: Any = None
    error: str | None = None
    resolved_at: datetime | None = None
    timed_out: bool = False
    watching: bool | None = None           # watch_work: its end will be notified (False: look again)
    _aliases: ClassVar[dict[str, str]] = {"id": "work_id"}


@dataclass(frozen=True)
class QueueStats(Row):
    """``queue_stats``: one row per queue and state."""

    queue: str | None = None
    state: str | None = None
    items: int | None = None
    queue_length: int | None = None
    queue_visible_length: int | None = None
    oldest_visible_age_sec: float | None = None
    oldest_msg_age_sec: int | None = None
    total_messages: int | None = None
    paused: bool | None = None             # animus.pause_queue: accepts submissions, hands out nothing
    paused_at: datetime | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class ConcurrencyLimit(Row):
    """``set_concurrency_limit`` / ``drop_concurrency_limit``: the limits of one concurrency key
    of a queue (key ``'*'``: every key without its own)."""

    queue: str | None = None
    key: str | None = None
    max_running: int | None = None
    rate: int | None = None
    period: timedelta | None = None
    updated_at: datetime | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue", "concurrency_key": "key"}


@dataclass(frozen=True)
class ConcurrencyStats(Row):
    """``concurrency_stats``: one row per concurrency key of a queue: the limits that apply,
    running, queued (held included) and held items, and the current rate window's use."""

    key: str | None = None
    max_running: int | None = None
    rate: int | None = None
    period: timedelta | None = None
    running: int | None = None
    queued: int | None = None
    held: int | None = None
    window_start: datetime | None = None
    window_used: int | None = None
    _aliases: ClassVar[dict[str, str]] = {"concurrency_key": "key"}


@dataclass(frozen=True)
class Schedule(Row):
    """``create_schedule`` / ``alter_schedule`` / ``list_schedules``: one schedule (docs/schedules.md).

    ``cron`` or ``every`` says when it runs (``timezone`` for cron); ``next_run_at`` is the
    earliest period not yet submitted (due when in the past); ``catchup`` (``latest``/``all``)
    and ``max_catchup`` say what happens to periods missed during downtime."""

    name: str | None = None
    queue: str | None = None
    work_type: str | None = None
    cron: str | None = None
    every: timedelta | None = None
    start_at: datetime | None = None
    timezone: str | None = None
    params: dict[str, Any] | None = None
    priority: int | None = None
    max_attempts: int | None = None
    period_key: str | None = None
    catchup: str | None = None
    max_catchup: int | None = None
    paused: bool | None = None
    next_run_at: datetime | None = None
    last_period_at: datetime | None = None
    last_work_id: UUID | None = None
    submitted_count: int | None = None
    skipped_count: int | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    created_by: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class ScheduleRun(Row):
    """``tick_schedules``: one submitted period: the schedule, the period instant, the item."""

    schedule: str | None = None
    period_at: datetime | None = None
    work_id: UUID | None = None


@dataclass(frozen=True)
class StoreResult(Row):
    """``store_memory``: the memory's id and whether it is new (False: same content updated)."""

    id: int | None = None
    created: bool | None = None
    ordinal: int | None = None
    _aliases: ClassVar[dict[str, str]] = {"memory_id": "id", "inserted": "created", "is_new": "created"}


@dataclass(frozen=True)
class BulkLoadResult:
    """``Client.bulk_store_memories``: the inputs stored (``created`` new, ``updated`` merged into a
    memory with the same content), the memories there are after the finish, and the seconds the
    load (``store_memories`` on ``jobs`` connections) and the finish (index builds) took."""

    stored: int
    created: int
    updated: int
    memories: int
    load_seconds: float
    finish_seconds: float


@dataclass(frozen=True)
class Memory(Row):
    id: int | None = None
    namespace: str | None = None
    content: str | None = None
    memory_type: str | None = None
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    pinned: bool = False
    superseded_by: int | None = None
    superseded_at: datetime | None = None
    visibility: str | None = None
    _aliases: ClassVar[dict[str, str]] = {"memory_id": "id"}


@dataclass(frozen=True)
class MemoryLink(Row):
    """A link from memory ``source_id`` to memory ``target_id`` (``link_memories``)."""

    source_id: int | None = None
    target_id: int | None = None
    relation: str | None = None
    weight: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class MemoryNeighbor(Row):
    """A memory ``hops`` links away from the start (``memory_neighbors``), reached from ``via``
    over ``relation``; ``weight`` is the product of the link weights on the path."""

    memory_id: int | None = None
    hops: int | None = None
    via: int | None = None
    relation: str | None = None
    weight: float | None = None
    namespace: str | None = None
    content: str | None = None
    memory_type: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainEntry(Row):
    """One memory of a supersession chain (``memory_chain``): generation 0 is the current one."""

    memory_id: int | None = None
    generation: int | None = None
    superseded_by: int | None = None
    superseded_at: datetime | None = None
    content: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class GraphHit(Row):
    """A neighbour of search hits (``memory_graph_expand``) with its propagated ``score``."""

    memory_id: int | None = None
    score: float | None = None
    hops: int | None = None
    via: int | None = None
    relation: str | None = None


@dataclass(frozen=True)
class ReviewState(Row):
    """The FSRS-4.5 retention state of a memory after ``review_memory``; ``retrievability`` is
    the recall probability it had at the review (None on the first)."""

    memory_id: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    retrievability: float | None = None
    reps: int | None = None
    lapses: int | None = None
    last_review: datetime | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class EmbeddingModel(Row):
    """A registered embedding model (``register_model``)."""

    name: str | None = None
    dimension: int | None = None
    provider: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    registered_at: datetime | None = None


@dataclass(frozen=True)
class ReembeddingProgress(Row):
    """Re-embedding of a namespace to its active ``model``: ``current`` of ``total`` memories have
    a vector of that model, ``pending`` wait for one."""

    namespace: str | None = None
    model: str | None = None
    total: int | None = None
    current: int | None = None
    pending: int | None = None
    _aliases: ClassVar[dict[str, str]] = {"memory_namespace": "namespace"}


@dataclass(frozen=True)
class DueMemory(Row):
    """A memory due for review (``due_memories``), with its retrievability at the given time."""

    memory_id: int | None = None
    namespace: str | None = None
    content: str | None = None
    due_at: datetime | None = None
    stability: float | None = None
    difficulty: float | None = None
    retrievability: float | None = None
    reps: int | None = None
    lapses: int | None = None
    _aliases: ClassVar[dict[str, str]] = {"memory_namespace": "namespace"}


@dataclass(frozen=True)
class SearchHit(Row):
    """One search result: the memory, its rank and score; for vector search its cosine
    ``distance``/``similarity``; for hybrid search the fused ``score`` and each branch's rank
    (``vector_rank``, ``text_rank``; None when the branch did not find it)."""

    id: int | None = None
    namespace: str | None = None
    content: str | None = None
    memory_type: str | None = None
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    rank: int | None = None
    score: float | None = None
    distance: float | None = None
    similarity: float | None = None
    vector_rank: int | None = None
    text_rank: int | None = None
    vector_distance: float | None = None
    text_score: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    _aliases: ClassVar[dict[str, str]] = {"memory_id": "id"}


@dataclass(frozen=True)
class BM25Settings(Row):
    """``memory_bm25_configure``: the BM25 keyword-ranking settings now in force (docs/bm25.md);
    ``singleton`` and ``refreshed_through`` are kept in ``extra``."""

    k1: float | None = None
    b: float | None = None
    postings_budget: int | None = None
    max_postings_budget: int | None = None
    rescore_extra: int | None = None
    refresh_after: int | None = None


@dataclass(frozen=True)
class VectorIndexSettings(Row):
    """``memory_configure_vector_index``: the vector index chosen (docs/memory.md, "Choosing the
    vector index"); ``singleton`` and ``updated_at`` are kept in ``extra``."""

    kind: str | None = None
    lists: int | None = None
    probes: int | None = None
    ef_search: int | None = None
    halfvec: bool | None = None
    m: int | None = None
    ef_construction: int | None = None
    built_lists: int | None = None
    trained_rows: int | None = None
    built_at: datetime | None = None


@dataclass(frozen=True)
class VectorIndexStatus(Row):
    """``memory_vector_index_status``: the configured kind, the index present (None during a bulk
    load) and whether it is on halfvec, IVFFlat lists and probes or the HNSW ef_search, the HNSW
    index's ``m`` / ``ef_construction`` as built, the rows it was built on, the table's estimated
    rows and ``advice`` ('ok', or when to rebuild)."""

    kind: str | None = None
    index_name: str | None = None
    halfvec: bool | None = None
    lists: int | None = None
    probes: int | None = None
    ef_search: int | None = None
    m: int | None = None
    ef_construction: int | None = None
    trained_rows: int | None = None
    table_rows: int | None = None
    built_at: datetime | None = None
    advice: str | None = None


@dataclass(frozen=True)
class HealthCheck(Row):
    """``health``: one check. ``status`` is ok, warn or fail against ``warn_at`` / ``fail_at``
    (animus.health_thresholds); ``queue`` is set for the per-queue checks."""

    component: str | None = None
    queue: str | None = None
    check_name: str | None = None
    value: float | None = None
    unit: str | None = None
    status: str | None = None
    warn_at: float | None = None
    fail_at: float | None = None
    detail: str | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class HealthThreshold(Row):
    """``set_health_threshold``: the thresholds now in force for a check (``queue`` ``*``: every queue)."""

    check_name: str | None = None
    queue: str | None = None
    warn_at: float | None = None
    fail_at: float | None = None
    unit: str | None = None
    meaning: str | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class DeadWork(Row):
    """``list_dead_work``: a dead item not yet retried or discarded."""

    work_id: UUID | None = None
    queue: str | None = None
    work_type: str | None = None
    source: str | None = None
    trigger_info: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    attempts: int | None = None
    max_attempts: int | None = None
    error: str | None = None
    dead_at: datetime | None = None
    created_at: datetime | None = None
    trace_context: dict[str, Any] | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue", "id": "work_id"}


@dataclass(frozen=True)
class DeadRetry(Row):
    """``retry_dead_work``: the new item (``status`` created, or merged into ``canonical_id``)."""

    retried_as: UUID | None = None
    status: str | None = None
    canonical_id: UUID | None = None


@dataclass(frozen=True)
class DepthPoint(Row):
    """``queue_depth_history``: a queue's open items at ``bucket_end``, and the items submitted
    and ended within the bucket."""

    queue: str | None = None
    bucket_end: datetime | None = None
    depth: int | None = None
    submitted: int | None = None
    ended: int | None = None
    _aliases: ClassVar[dict[str, str]] = {"queue_name": "queue"}


@dataclass(frozen=True)
class NamespaceStats(Row):
    """``memory_namespace_stats``: one memory namespace of the caller's read scope."""

    namespace: str | None = None
    memories: int | None = None
    embedded: int | None = None
    content_bytes: int | None = None
    oldest: datetime | None = None
    newest: datetime | None = None
    last_updated: datetime | None = None
