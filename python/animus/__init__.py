"""animus: the persistence layer of AI agents, in PostgreSQL.

The logic lives in the database (schema ``animus``); this package is a thin client::

    import animus
    client = animus.connect()                     # DATABASE_URL, .env loaded
    r = client.submit_work("engage", "scheduler", dedup_key="person=kelly")
"""
__version__ = "0.1.0"

from animus.config import Config, SecretDSN  # noqa: E402
from animus.errors import (AnimusError, ConfigError, ConnectionFailed, DatabaseError,  # noqa: E402
                           DimensionMismatch, InvalidArgument, InvalidState, MemoryStoreError,
                           NonRetryable, NotDeployed, NotFound, PermissionDenied, WorkError,
                           QueueNotFound, WorkNotFound, WorkNotRunning, WorkAlreadyEnded,
                           StaleClaim, IllegalTransition, QueueExists, InvalidWorkArgument, MemoryNotFound,
                           InvalidMemoryArgument, MemoryStateError)
from animus.results import (HeartbeatResult, Memory, QueueStats, SearchHit, SettleResult,  # noqa: E402
                            StoreResult, SubmitResult, Submission, WorkDetails, WorkItem)
from animus.embedding import Embedder, FunctionEmbedder  # noqa: E402
from animus.client import Client, connect  # noqa: E402
from animus.aio import AsyncClient, connect_async  # noqa: E402


def __getattr__(name: str):
    if name == "Worker":  # imported lazily: the worker pulls in threading/signal machinery
        from animus.worker import Worker

        return Worker
    raise AttributeError(name)


__all__ = [
    "__version__", "connect", "connect_async", "Client", "AsyncClient", "Config", "SecretDSN",
    "Worker", "Embedder", "FunctionEmbedder",
    "AnimusError", "ConfigError", "ConnectionFailed", "DatabaseError", "DimensionMismatch",
    "InvalidArgument", "InvalidState", "MemoryStoreError", "NonRetryable", "NotDeployed",
    "NotFound", "PermissionDenied", "WorkError", "QueueNotFound", "WorkNotFound", "WorkNotRunning",
    "WorkAlreadyEnded", "StaleClaim", "IllegalTransition", "QueueExists", "InvalidWorkArgument", "MemoryNotFound",
    "InvalidMemoryArgument", "MemoryStateError",
    "SubmitResult", "WorkItem", "Submission", "WorkDetails", "HeartbeatResult", "SettleResult",
    "QueueStats", "StoreResult", "Memory", "SearchHit",
]
