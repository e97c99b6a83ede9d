"""Bounded concurrency for the bulk paths (Client.bulk_store_memories, ``animus memory import --jobs``)."""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, Mapping

from animus.errors import InvalidArgument


def run_bounded(jobs: int, items: Iterable[Any], fn: Callable[[Any], Any], on_result: Callable[[Any], None]) -> None:
    """``fn(item)`` for each item on ``jobs`` threads, at most ``jobs`` items taken from ``items`` at
    a time (a generator is read as the work goes); ``on_result`` gets each result in the calling
    thread. When ``fn`` raises, no later item starts, the ones running beside it end, and its error
    is raised."""
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="animus-bulk") as pool:
        running: set = set()
        try:
            for item in items:
                if len(running) >= jobs:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for f in finished:
                        on_result(f.result())
                running.add(pool.submit(fn, item))
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for f in finished:
                    on_result(f.result())
        except BaseException:
            wait(running)
            raise


def bulk_batches(items: Iterable[Mapping[str, Any]], size: int, jobs: int) -> Iterator[list[Mapping[str, Any]]]:
    """``items`` in lists of ``size`` (the last one shorter), read as they are taken. Raises
    InvalidArgument at once for a ``size`` or ``jobs`` below 1."""
    if not isinstance(size, int) or not isinstance(jobs, int) or size < 1 or jobs < 1:
        raise InvalidArgument(f"batch_size and jobs must be positive integers (got {size!r}, {jobs!r})")

    def gen() -> Iterator[list[Mapping[str, Any]]]:
        batch: list[Mapping[str, Any]] = []
        for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
    return gen()


def bulk_outcome(failure: BaseException | None, finished: Any, stored: int, created: int,
                 load_seconds: float, finish_seconds: float) -> Any:
    """The end of a bulk_store_memories: the refused batch's error (``failure``) first, else the
    finish's (``finished`` an exception), else the BulkLoadResult (``finished`` the memories)."""
    from animus.results import BulkLoadResult

    if failure is not None:
        raise failure
    if isinstance(finished, BaseException):
        raise finished
    return BulkLoadResult(stored=stored, created=created, updated=stored - created, memories=finished,
                          load_seconds=load_seconds, finish_seconds=finish_seconds)
