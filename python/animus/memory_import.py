"""``animus memory import FILE``: load memories from JSON Lines, idempotently.

One JSON object a line::

    {"content": "...", "memory_type": "fact", "namespace": "agent-1", "metadata": {...},
     "source": "...", "embedding": [0.1, ...], "key": "m1",
     "links": [{"to": "m2", "relation": "cites", "weight": 0.5}]}

``content`` is required; ``memory_type`` defaults to ``--memory-type`` (``fact``), ``namespace``
to ``--namespace`` (``default``). A line without ``embedding`` is embedded by ``--embedder``
(``module:name`` of an :class:`animus.Embedder` or of a function returning one; e.g.
``animus.minilm:MiniLMEmbedder``), or refused. ``key`` names a line for the ``links`` of other
lines (``to``: a key of the same file). Re-running the import changes nothing: the same content in
the same namespace is the same memory (store_memories updates it in place) and a link is unique
per (source, target, relation).

The whole file is checked before anything is written: every bad line is reported with its line
number and nothing is written. Then memories go in batches (``--batch-size``), each one
statement (all or nothing), ``--jobs`` of them at once on as many connections, with progress on
stderr; links follow. ``--bulk`` (admin) drops the indexes for the load and rebuilds them once
after, also when a batch is refused (docs/memory.md, "Bulk loads"). ``--dry-run`` checks the file
and then runs the whole import in one transaction that is rolled back: the database's own checks
(dimension, limits, grants) run, nothing stays.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["ImportLine", "parse_lines", "run_import", "import_main"]

KNOWN = {"content", "memory_type", "namespace", "metadata", "source", "embedding", "key", "links"}
LINK_KNOWN = {"to", "relation", "weight", "metadata"}


class ImportError_(ValueError):
    """Lines of the file are malformed: ``problems`` lists (line number, message)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {n}: {m}" for n, m in problems[:20]))


@dataclass
class ImportLine:
    number: int
    memory: dict[str, Any]
    key: str | None = None
    links: list[dict[str, Any]] = field(default_factory=list)


def _check(obj: Any, *, memory_type: str, namespace: str, embedder: bool) -> tuple[dict[str, Any], str | None, list, str | None]:
    if not isinstance(obj, dict):
        return {}, None, [], "not a JSON object"
    unknown = set(obj) - KNOWN
    if unknown:
        return {}, None, [], f"unknown key(s) {sorted(unknown)} (known: {sorted(KNOWN)})"
    content = obj.get("content")
    if not isinstance(content, str) or not content.strip():
        return {}, None, [], "needs \"content\" as non-empty text"
    m: dict[str, Any] = {"content": content, "memory_type": obj.get("memory_type", memory_type),
                         "namespace": obj.get("namespace", namespace)}
    for name in ("memory_type", "namespace"):
        if not isinstance(m[name], str) or not m[name]:
            return {}, None, [], f"\"{name}\" must be a non-empty string"
    if "metadata" in obj:
        if not isinstance(obj["metadata"], dict):
            return {}, None, [], "\"metadata\" must be a JSON object"
        m["metadata"] = obj["metadata"]
    if obj.get("source") is not None:
        if not isinstance(obj["source"], str):
            return {}, None, [], "\"source\" must be a string"
        m["source"] = obj["source"]
    emb = obj.get("embedding")
    if emb is not None:
        if not (isinstance(emb, list) and emb and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in emb)):
            return {}, None, [], "\"embedding\" must be a non-empty array of numbers"
        m["embedding"] = emb
    elif not embedder:
        return {}, None, [], "has no \"embedding\" and no --embedder was given"
    key = obj.get("key")
    if key is not None and (not isinstance(key, str) or not key):
        return {}, None, [], "\"key\" must be a non-empty string"
    links = obj.get("links", [])
    if not isinstance(links, list):
        return {}, None, [], "\"links\" must be an array"
    for i, link in enumerate(links):
        if not isinstance(link, dict) or not isinstance(link.get("to"), str) or set(link) - LINK_KNOWN:
            return {}, None, [], f"links[{i}] must be {{\"to\": key, \"relation\"?, \"weight\"?, \"metadata\"?}}"
    return m, key, links, None


def parse_lines(stream: TextIO, *, memory_type: str = "fact", namespace: str = "default",
                embedder: bool = False) -> list[ImportLine]:
    """Every line checked; raises ImportError_ listing every bad line (numbers count from 1)."""
    out: list[ImportLine] = []
    problems: list[tuple[int, str]] = []
    keys: dict[str, int] = {}
    for number, text in enumerate(stream, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not JSON ({exc.msg})"))
            continue
        m, key, links, problem = _check(obj, memory_type=memory_type, namespace=namespace, embedder=embedder)
        if problem:
            problems.append((number, problem))
            continue
        if key is not None:
            if key in keys:
                problems.append((number, f"key {key!r} is also the key of line {keys[key]}"))
                continue
            keys[key] = number
        out.append(ImportLine(number, m, key, links))
    for line in out:
        for link in line.links:
            if link["to"] not in keys:
                problems.append((line.number, f"links to key {link['to']!r}, which no line has"))
    if problems:
        raise ImportError_(sorted(problems))
    return out


def _store_batch(conn: Any, batch: list[ImportLine]) -> tuple[list[ImportLine], list[Any]]:
    from psycopg.types.json import Jsonb

    from animus.embedding import to_vector_literal

    payload = [{**ln.memory, "embedding": to_vector_literal(ln.memory["embedding"])} for ln in batch]
    try:
        return batch, conn.execute("SELECT ordinal, id, created FROM animus.store_memories(memories => %s)",
                                   (Jsonb(payload),)).fetchall()
    except Exception as exc:   # name the line the database refused
        raise _with_line(exc, batch) from None


def _store_all(conn: Any, batches: Any, record: Any, jobs: int, connect: Any) -> None:
    """Each batch through _store_batch, then ``record``: on ``conn`` alone, or ``jobs`` at once on
    ``conn`` and ``jobs - 1`` connections from ``connect()`` (closed after)."""
    from queue import Queue

    from animus._bounded import run_bounded

    if jobs <= 1:
        for batch in batches:
            record(*_store_batch(conn, batch))
        return
    extra = [connect() for _ in range(jobs - 1)]
    free: Queue = Queue()
    for c in [conn, *extra]:
        free.put(c)

    def run(batch: list[ImportLine]):
        c = free.get()           # a connection no other batch is using
        try:
            return _store_batch(c, batch)
        finally:
            free.put(c)

    try:
        run_bounded(jobs, batches, run, lambda result: record(*result))
    finally:
        for c in extra:
            c.close()


def run_import(conn: Any, lines: list[ImportLine], *, batch_size: int = 1000, embedder: Any = None,
               dry_run: bool = False, progress: TextIO | None = None, bulk: bool = False, jobs: int = 1,
               connect: Any = None) -> dict[str, int]:
    """Store the lines, then their links, through ``conn`` (an autocommit psycopg connection):
    one ``animus.store_memories`` statement per batch; with ``dry_run`` all of it in one
    transaction that is rolled back. ``jobs`` > 1 stores that many batches at once, on
    connections from ``connect()``. ``bulk`` wraps the batches in memory_begin_bulk_load /
    memory_finish_bulk_load (the finish runs even when a batch is refused). Returns counts."""
    from psycopg.types.json import Jsonb

    from animus.embedding import to_vector_literal

    if dry_run and (bulk or jobs > 1):
        raise ValueError("--dry-run runs the import in one transaction: not with --bulk or --jobs")
    counts = {"lines": len(lines), "created": 0, "updated": 0, "links": 0}
    ids: dict[int, int] = {}
    started = time.monotonic()
    done = 0

    def record(batch: list[ImportLine], rows: list[Any]) -> None:
        nonlocal done
        for row in rows:
            ordinal, mid, created = (row["ordinal"], row["id"], row["created"]) if isinstance(row, dict) else row
            counts["created" if created else "updated"] += 1
            ids[batch[ordinal - 1].number] = mid
        done += len(batch)
        if progress is not None:
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"animus memory import: {done:,}/{len(lines):,} lines ({rate:,.0f}/s)", file=progress, flush=True)

    def batches():
        for start in range(0, len(lines), batch_size):
            batch = lines[start:start + batch_size]
            todo = [ln for ln in batch if "embedding" not in ln.memory]
            if todo:
                vectors = embedder.embed([ln.memory["content"] for ln in todo])
                for ln, v in zip(todo, vectors):
                    ln.memory["embedding"] = to_vector_literal(v)
            yield batch

    if dry_run:
        conn.execute("BEGIN")
    try:
        if bulk:
            conn.execute("SELECT animus.memory_begin_bulk_load()")
        try:
            _store_all(conn, batches(), record, jobs, connect)
        finally:
            if bulk:
                conn.execute("SELECT animus.memory_finish_bulk_load()")
        by_key = {ln.key: ids[ln.number] for ln in lines if ln.key is not None}
        for ln in lines:
            for link in ln.links:
                try:
                    conn.execute("SELECT 1 FROM animus.link_memories(source => %s, target => %s, "
                                 "relation => coalesce(%s, 'related'), weight => coalesce(%s, 1), "
                                 "metadata => coalesce(%s, '{}'::jsonb))",
                                 (ids[ln.number], by_key[link["to"]], link.get("relation"),
                                  link.get("weight"), Jsonb(link["metadata"]) if "metadata" in link else None))
                except Exception as exc:
                    raise ImportError_([(ln.number, f"link to {link['to']!r}: {_message(exc)}")]) from None
                counts["links"] += 1
    finally:
        if dry_run:
            conn.execute("ROLLBACK")
    return counts


def _message(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    state = getattr(diag, "sqlstate", None)
    return f"{state}: {str(exc).splitlines()[0]}" if state else str(exc)


def _with_line(exc: Exception, batch: list[ImportLine]) -> Exception:
    import re

    msg = _message(exc)
    m = re.search(r"memories\[(\d+)\]", msg)
    if m and 1 <= int(m.group(1)) <= len(batch):
        return ImportError_([(batch[int(m.group(1)) - 1].number, msg)])
    return ImportError_([(batch[0].number, f"(batch of lines {batch[0].number}-{batch[-1].number}) {msg}")])


def import_main(args: argparse.Namespace) -> int:
    """The ``animus memory import`` command."""
    import importlib
    import os

    import animus
    from animus.config import load_dotenv_once

    load_dotenv_once()
    embedder = None
    if args.embedder:
        module_name, _, attr = args.embedder.partition(":")
        sys.path.insert(0, os.getcwd())
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            print(f"animus memory import: cannot load --embedder {args.embedder!r}: {exc}", file=sys.stderr)
            return 2
        embedder = obj if isinstance(obj, animus.Embedder) else obj()
    try:
        with open(args.file, encoding="utf-8") as f:
            lines = parse_lines(f, memory_type=args.memory_type, namespace=args.namespace,
                                embedder=embedder is not None)
    except OSError as exc:
        print(f"animus memory import: {exc}", file=sys.stderr)
        return 2
    except ImportError_ as exc:
        for n, m in exc.problems:
            print(f"animus memory import: {args.file}:{n}: {m}", file=sys.stderr)
        print(f"animus memory import: {len(exc.problems)} bad line(s); nothing was written", file=sys.stderr)
        return 1
    if args.jobs < 1 or args.dry_run and (args.bulk or args.jobs > 1):
        print("animus memory import: --jobs must be at least 1, and --dry-run (one transaction) takes "
              "neither --bulk nor --jobs above 1", file=sys.stderr)
        return 2
    try:
        client = animus.connect(args.dsn)
        conn = client.connect_raw()
    except animus.AnimusError as exc:
        print(f"animus memory import: {exc}", file=sys.stderr)
        return 2
    try:
        counts = run_import(conn, lines, batch_size=args.batch_size, embedder=embedder,
                            dry_run=args.dry_run, progress=None if args.quiet else sys.stderr,
                            bulk=args.bulk, jobs=args.jobs, connect=client.connect_raw)
    except ImportError_ as exc:
        for n, m in exc.problems:
            print(f"animus memory import: {args.file}:{n}: {m}", file=sys.stderr)
        print("animus memory import: stopped; the batches before this one are stored (re-run to finish)",
              file=sys.stderr)
        return 1
    finally:
        conn.close()
        client.close()
    verb = "would store" if args.dry_run else "stored"
    print(f"animus memory import: {verb} {counts['lines']:,} lines ({counts['created']:,} new, "
          f"{counts['updated']:,} already there), {counts['links']:,} links"
          + (" (dry run: nothing written)" if args.dry_run else ""))
    return 0


def add_parser(sub: Any) -> None:
    """``animus memory import`` under the ``memory`` command's subparsers."""
    p = sub.add_parser("import", help="load memories from a JSON Lines file (idempotent)",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("file", help="the JSON Lines file")
    p.add_argument("--dsn", default=None, help="database URL (default: DATABASE_URL)")
    p.add_argument("--namespace", default="default", help="namespace of lines without one (default: %(default)s)")
    p.add_argument("--memory-type", default="fact", help="memory_type of lines without one (default: %(default)s)")
    p.add_argument("--embedder", default=None, help="module:name of an Embedder for lines without an embedding")
    p.add_argument("--batch-size", type=int, default=1000, help="memories per statement (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="check and run everything, then roll back")
    p.add_argument("--bulk", action="store_true",
                   help="the bulk path (admin): drop the vector, full-text and keyword indexes for the load and "
                        "rebuild them once after (memory_begin_bulk_load / memory_finish_bulk_load); for a load "
                        "large relative to the table")
    p.add_argument("--jobs", type=int, default=1, help="batches stored at once, each on its own connection (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(memory_main=import_main)
