"""Handlers for `animus worker handlers:HANDLERS` (run from python/examples)."""
import animus


def engage(item: animus.WorkItem) -> dict:
    return {"greeted": item.params["person"]}


def flaky(item: animus.WorkItem) -> None:
    raise TimeoutError("the mail server did not answer")       # retried with backoff


def reject(item: animus.WorkItem) -> None:
    raise animus.NonRetryable("malformed address")             # dead at once


HANDLERS = {"engage": engage, "flaky": flaky, "reject": reject}
