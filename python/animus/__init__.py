"""animus: the persistence layer of AI agents, in PostgreSQL.

The logic lives in the database (schema ``animus``); this package is a thin client::

    import animus
    client = animus.connect()                     # DATABASE_URL, .env loaded
    r = client.submit_work("engage", "scheduler", dedup_key="person=kelly")
"""
__version__ = "0.1.0"

from animus.config import Config, SecretDSN  # noqa: E402
from animus.errors import (AnimusError, ArgumentTypeError, ArgumentValueError, ConfigError, ConnectionFailed, DatabaseError,  # noqa: E402
                           DimensionMismatch, InvalidArgument, InvalidState, MemoryStoreError,
                           NonRetryable, NotDeployed, NotFound, PermissionDenied, WorkError,
                           QueueNotFound, WorkNotFound, WorkNotRunning, WorkAlreadyEnded,
                           StaleClaim, IllegalTransition, QueueExists, InvalidWorkArgument, MemoryNotFound,
                           InvalidMemoryArgument, MemoryStateError, HandlerTimeout, ConcurrencyLimitNotFound,
                           WaitError, WorkFailed, WorkCancelled, WaitTimeout,
                           StepReused, StepNotRunning, WorkSuspended, EventTimeout,
                           ScheduleNotFound, ScheduleExists, InvalidSchedule, WorkNotDead, DeadWorkHandled)
from animus.results import (BM25Settings, VectorIndexSettings, VectorIndexStatus, ConcurrencyLimit, ConcurrencyStats, HeartbeatResult, Memory, QueueStats,  # noqa: E402
                            SearchHit, SettleResult, StoreResult, BulkLoadResult, SubmitResult, Submission, WaitResult,
                            WorkDetails, WorkItem, WorkStep, StepStart, SleepResult, EventWait, Event,
                            Schedule, ScheduleRun, MemoryLink, MemoryNeighbor, ChainEntry, GraphHit,
                            ReviewState, DueMemory, EmbeddingModel, ReembeddingProgress, HealthCheck,
                            HealthThreshold, DeadWork, DeadRetry, DepthPoint, NamespaceStats)
from animus.embedding import Embedder, FunctionEmbedder, reembedding_handlers  # noqa: E402
from animus.client import Client, connect  # noqa: E402
from animus.aio import AsyncClient, connect_async  # noqa: E402


def __getattr__(name: str):
    # imported lazily: the worker pulls in threading/signal machinery
    if name in ("Worker", "WorkContext"):
        from animus import worker

        return getattr(worker, name)
    if name == "Scheduler":
        from animus import scheduler

        return scheduler.Scheduler
    raise AttributeError(f"module 'animus' has no attribute {name!r}")


__all__ = [
    "__version__", "connect", "connect_async", "Client", "AsyncClient", "Config", "SecretDSN",
    "Worker", "WorkContext", "Embedder", "FunctionEmbedder", "AnimusError", "ConfigError",
    "ConnectionFailed", "DatabaseError", "DimensionMismatch", "InvalidArgument",
    "ArgumentTypeError", "ArgumentValueError", "HandlerTimeout", "InvalidState",
    "MemoryStoreError", "NonRetryable", "NotDeployed", "NotFound", "PermissionDenied", "WorkError",
    "QueueNotFound", "WorkNotFound", "WorkNotRunning", "WorkAlreadyEnded", "StaleClaim",
    "IllegalTransition", "QueueExists", "InvalidWorkArgument", "MemoryNotFound",
    "InvalidMemoryArgument", "MemoryStateError", "ConcurrencyLimitNotFound", "ScheduleNotFound",
    "ScheduleExists", "InvalidSchedule", "Scheduler", "Schedule", "ScheduleRun", "WorkSuspended",
    "SubmitResult", "WorkItem", "Submission", "WorkDetails", "HeartbeatResult", "SettleResult",
    "QueueStats", "ConcurrencyLimit", "ConcurrencyStats", "StoreResult", "BulkLoadResult", "Memory", "SearchHit",
    "BM25Settings", "VectorIndexSettings", "VectorIndexStatus", "WaitError", "WorkFailed", "WorkCancelled", "WaitTimeout", "WaitResult",
    "StepReused", "StepNotRunning", "EventTimeout", "WorkStep", "StepStart", "SleepResult",
    "EventWait", "Event", "MemoryLink", "MemoryNeighbor", "ChainEntry", "GraphHit", "ReviewState",
    "DueMemory", "EmbeddingModel", "ReembeddingProgress", "reembedding_handlers", "WorkNotDead",
    "DeadWorkHandled", "HealthCheck", "HealthThreshold", "DeadWork", "DeadRetry", "DepthPoint",
    "NamespaceStats"
]
