"""Command line: ``animus worker module:handlers`` and ``animus --version``."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any, Mapping


def load_handlers(spec: str) -> Mapping[str, Any]:
    """``package.module:name`` -> the handlers mapping (``name`` may be a function returning it)."""
    if ":" not in spec:
        raise SystemExit(f"animus worker: expected module:handlers, got {spec!r}")
    module_name, attr = spec.split(":", 1)
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"animus worker: cannot import {module_name!r}: {exc}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"animus worker: {module_name!r} has no attribute {attr!r}") from None
    if callable(obj) and not isinstance(obj, Mapping):
        obj = obj()
    if not isinstance(obj, Mapping) or not obj:
        raise SystemExit(f"animus worker: {spec} must be a non-empty mapping work_type -> function")
    return obj


def worker_main(args: argparse.Namespace) -> int:
    import animus
    from animus import telemetry

    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = load_handlers(args.handlers)
    handle = telemetry.init(service_name=args.service_name) if not args.no_telemetry else None
    try:
        client = animus.connect(args.dsn)
    except animus.AnimusError as exc:
        print(f"animus worker: {exc}", file=sys.stderr)
        return 2
    worker = animus.Worker(client, handlers, queue=args.queue, concurrency=args.concurrency,
                           visibility_timeout=args.visibility_timeout, poll_interval=args.poll_interval,
                           shutdown_timeout=args.shutdown_timeout, handler_timeout=args.handler_timeout,
                           notify_throttle=args.notify_throttle)
    try:
        worker.run()
    finally:
        client.close()
        if handle is not None:
            handle.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="animus", description="animus: agent persistence in PostgreSQL")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker", help="run a worker: animus worker module:handlers")
    w.add_argument("handlers", help="module:name of a mapping work_type -> handler function")
    w.add_argument("--queue", default=None, help="queue to consume (default ANIMUS_QUEUE or 'work')")
    w.add_argument("--concurrency", type=int, default=None, help="handlers run at once (default 4)")
    w.add_argument("--visibility-timeout", type=float, default=None, help="claim duration, seconds")
    w.add_argument("--poll-interval", type=float, default=None, help="fallback poll, seconds")
    w.add_argument("--shutdown-timeout", type=float, default=30.0,
                   help="seconds to let in-flight items finish on SIGTERM/SIGINT before releasing them")
    w.add_argument("--handler-timeout", type=float, default=None,
                   help="seconds a handler may run before its attempt is failed as hung (retryable; "
                        "dead at max attempts); default 10 visibility timeouts, 0 = no limit")
    w.add_argument("--notify-throttle", type=float, default=0.25,
                   help="the queue's notify_throttle, seconds: after a wake-up the worker reads once "
                        "more when it has passed (default 0.25, the queue default)")
    w.add_argument("--dsn", default=None, help="database URL (default DATABASE_URL)")
    w.add_argument("--service-name", default="animus-worker", help="OpenTelemetry service.name")
    w.add_argument("--no-telemetry", action="store_true", help="do not call animus.telemetry.init()")
    w.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.version:
        from animus import __version__

        print(__version__)
        return 0
    if args.command == "worker":
        return worker_main(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
