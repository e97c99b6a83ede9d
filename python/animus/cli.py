"""Command line: ``animus worker module:handlers``, ``animus scheduler``, ``animus retention``
(:mod:`animus.retention`), the operator commands
(``animus health | status | work show | dead … | queue … | memory stats``, :mod:`animus.ops`),
``animus memory import FILE`` (:mod:`animus.memory_import`), ``animus dashboard``
(:mod:`animus.dashboard`) and ``animus --version``."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any, Callable, Mapping


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


def _number(kind: type, minimum: float, *, strict: bool = False) -> Callable[[str], Any]:
    """An argparse type: a ``kind`` (int or float) >= ``minimum`` (> with ``strict``); argparse
    turns the ValueError into ``animus worker: error: argument --x: …`` and exit status 2."""
    bound = f"{'>' if strict else '>='} {minimum:g}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number of seconds'} {bound}, "
                f"got {text!r}") from None
        if value != value or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    parse.__name__ = "integer" if kind is int else "seconds"
    return parse


def _serve(args: argparse.Namespace, name: str, make: Callable[[Any], Any],
           run: Callable[[Any], None]) -> int:
    """Logging, .env, telemetry and a client for a long-running command; ``make(client)`` builds
    the runner (a ValueError is a refused setting: exit 2), ``run(runner)`` runs it (an animus
    error stops it: exit 1)."""
    import animus
    from animus import telemetry
    from animus.config import load_dotenv_once

    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_dotenv_once()   # .env of the working directory: DATABASE_URL, ANIMUS_*, OTEL_*
    # --http-port: the SDK's Prometheus reader feeds GET /metrics (even without an OTLP exporter)
    prometheus = getattr(args, "http_port", None) is not None
    handle = (telemetry.init(service_name=args.service_name, prometheus=prometheus)
              if not args.no_telemetry else None)
    try:
        try:
            client = animus.connect(args.dsn)
        except animus.AnimusError as exc:
            print(f"animus {name}: {exc}", file=sys.stderr)
            return 2
        try:
            try:
                runner = make(client)
            except ValueError as exc:      # a setting the runner refuses
                print(f"animus {name}: {exc}", file=sys.stderr)
                return 2
            run(runner)
        except animus.AnimusError as exc:  # no such queue, animus not deployed, no privilege
            print(f"animus {name}: stopped: {exc}", file=sys.stderr)
            return 1
        finally:
            client.close()
    finally:
        if handle is not None:
            handle.shutdown()
    return 0


def worker_main(args: argparse.Namespace) -> int:
    import animus
    from animus.config import load_dotenv_once

    load_dotenv_once()
    handlers = load_handlers(args.handlers)
    return _serve(args, "worker", lambda client: animus.Worker(
        client, {} if args.batch else handlers, queue=args.queue,
        batch_handlers=handlers if args.batch else None, batch_size=args.batch_size,
        claim_pipeline=args.claim_pipeline, concurrency=args.concurrency, visibility_timeout=args.visibility_timeout,
        poll_interval=args.poll_interval, shutdown_timeout=args.shutdown_timeout,
        handler_timeout=args.handler_timeout, notify_throttle=args.notify_throttle,
        schedules=not args.no_schedules, http_port=args.http_port, http_host=args.http_host),
        _run_worker)


def _run_worker(worker: Any) -> None:
    from animus.worker import tune_gc_for_worker

    tune_gc_for_worker()   # this process is the worker: a collector sized for it
    worker.run()


def scheduler_main(args: argparse.Namespace) -> int:
    from animus.scheduler import Scheduler

    def run(scheduler: Scheduler) -> None:
        if args.once:
            runs = scheduler.tick()
            print(f"animus scheduler: submitted {len(runs)} period(s)")
        else:
            scheduler.run()

    return _serve(args, "scheduler", lambda client: Scheduler(
        client, interval=args.interval, max_submits=args.max_submits), run)


def retention_main(args: argparse.Namespace) -> int:
    from animus.retention import Retention

    def run(retention: Retention) -> None:
        p = retention.run()
        print(f"animus retention: {p.items_deleted} items, {p.archived_messages_deleted} archived messages "
              f"deleted in {p.calls} batches, {p.seconds:.1f} s" + ("" if p.caught_up else " (rows left)"))

    return _serve(args, "retention", lambda client: Retention(
        client, args.older_than, queue=args.queue, batch_size=args.batch_size, rate=args.rate,
        duty=args.duty, pause=args.pause, max_time=args.max_time, every=args.every), run)


def _add_process_arguments(parser: argparse.ArgumentParser, service: str) -> None:
    """The options every long-running command shares: database, telemetry, logging."""
    parser.add_argument("--dsn", default=None,
                        help="database URL (default: DATABASE_URL, from the environment or .env)")
    parser.add_argument("--service-name", default=service,
                        help=f"OpenTelemetry service.name (default: {service}; OTEL_SERVICE_NAME wins)")
    parser.add_argument("--no-telemetry", action="store_true",
                        help="do not call animus.telemetry.init() (default: it is called)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        type=str.lower, help="log level (default: info)")


def build_parser() -> argparse.ArgumentParser:
    """The ``animus`` command line; every option's help shows its default."""
    parser = argparse.ArgumentParser(prog="animus", description="animus: agent persistence in PostgreSQL")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    w = sub.add_parser("worker", help="run a worker: animus worker module:handlers",
                       description="Claim work from a queue and run a handler per work type, until "
                                   "SIGTERM/SIGINT. The database URL, queue, concurrency, visibility "
                                   "timeout and poll interval default to the environment (a .env "
                                   "file in the working directory is read).")
    w.add_argument("handlers", help="module:name of a mapping work_type -> handler function "
                                    "(or of a function returning it)")
    w.add_argument("--queue", default=None,
                   help="queue to consume (default: ANIMUS_QUEUE, else 'work')")
    w.add_argument("--concurrency", type=_number(int, 1), default=None, metavar="N",
                   help="handlers run at once, >= 1 (default: ANIMUS_WORKER_CONCURRENCY, else 4)")
    w.add_argument("--visibility-timeout", type=_number(float, 1), default=None, metavar="S",
                   help="seconds a claim lasts, >= 1; heartbeats renew it every third "
                        "(default: ANIMUS_VISIBILITY_TIMEOUT, else 30)")
    w.add_argument("--poll-interval", type=_number(float, 0, strict=True), default=None, metavar="S",
                   help="fallback poll when no NOTIFY arrives, seconds > 0 "
                        "(default: ANIMUS_POLL_INTERVAL, else 5)")
    w.add_argument("--shutdown-timeout", type=_number(float, 0), default=30.0, metavar="S",
                   help="seconds to let in-flight items finish on SIGTERM/SIGINT before releasing "
                        "them (default: 30)")
    w.add_argument("--handler-timeout", type=_number(float, 0), default=None, metavar="S",
                   help="seconds a handler may run before its attempt is failed as hung (retryable; "
                        "dead at max attempts); 0 = no limit (default: 10 visibility timeouts)")
    w.add_argument("--notify-throttle", type=_number(float, 0), default=0.25, metavar="S",
                   help="the queue's notify_throttle, seconds: after a wake-up the worker reads once "
                        "more when it has passed (default: 0.25, the queue default)")
    w.add_argument("--batch", action="store_true",
                   help="the mapping holds batch handlers: each takes a list of items (at most "
                        "--batch-size, of one work type) and returns one outcome per item "
                        "(default: off, one item per call)")
    w.add_argument("--batch-size", type=_number(int, 1), default=100, metavar="N",
                   help="items per batch handler call, >= 1 (default: 100)")
    w.add_argument("--claim-pipeline", type=_number(int, 1), default=None, metavar="N",
                   help="read_work calls in flight at once, each for at most concurrency / N items "
                        "(default: 2 with --batch, else 1)")
    w.add_argument("--no-schedules", action="store_true",
                   help="do not tick schedules (default: every worker ticks them each second; each "
                        "period is submitted once however many tick; `animus scheduler` ticks alone)")
    w.add_argument("--http-port", type=_number(int, 0), default=None, metavar="PORT",
                   help="serve GET /healthz and GET /metrics (Prometheus) on this port; 0 = any free "
                        "port (default: off)")
    w.add_argument("--http-host", default="127.0.0.1",
                   help="address of the HTTP port (default: 127.0.0.1; 0.0.0.0 for a container probe)")
    _add_process_arguments(w, "animus-worker")
    sc = sub.add_parser("scheduler", help="tick the schedules: animus scheduler",
                        description="Submit the due periods of the schedules (animus.tick_schedules) until "
                                    "SIGTERM/SIGINT: tick, then sleep until the next schedule is due or "
                                    "--interval, whichever is first. Any number may run: each period is "
                                    "submitted once. The database URL defaults to the environment (.env read).")
    sc.add_argument("--interval", type=_number(float, 0, strict=True), default=30.0, metavar="S",
                    help="longest sleep between two ticks, seconds > 0 (default: 30)")
    sc.add_argument("--max-submits", type=_number(int, 1), default=None, metavar="N",
                    help="items one tick submits at most, 1-100000 (default: the database's, 1000)")
    sc.add_argument("--once", action="store_true", help="tick once, print how many periods were submitted, exit")
    _add_process_arguments(sc, "animus-scheduler")
    rt = sub.add_parser("retention", help="delete old ended work, paced: animus retention",
                        description="Delete the work items that ended more than --older-than ago and the "
                                    "pgmq archive rows as old (animus.purge_work), --batch-size at a time, "
                                    "each batch its own short transaction, at most --rate rows per second, "
                                    "at most a --duty share of the time, and --pause seconds between two batches, until nothing is left; with "
                                    "--every, again every S seconds until SIGTERM/SIGINT. Needs animus_admin. "
                                    "The database URL defaults to the environment (.env read).")
    rt.add_argument("--older-than", default="7 days", metavar="INTERVAL",
                    help="retention, a PostgreSQL interval (default: '7 days')")
    rt.add_argument("--queue", default=None, help="only this queue (default: every queue the role may use)")
    rt.add_argument("--batch-size", type=_number(int, 1), default=1000, metavar="N",
                    help="items (and archived messages) per queue and transaction, 1-1000000 (default: 1000)")
    rt.add_argument("--rate", type=_number(float, 0, strict=True), default=None, metavar="ROWS",
                    help="rows deleted per second at most (default: no cap)")
    rt.add_argument("--duty", type=_number(float, 0, strict=True), default=None, metavar="SHARE",
                    help="share of the time spent deleting at most, > 0 and <= 1: after a batch of t seconds "
                         "sleep t * (1 - SHARE) / SHARE (default: no budget)")
    rt.add_argument("--pause", type=_number(float, 0), default=0.0, metavar="S",
                    help="seconds between two batches at least (default: 0)")
    rt.add_argument("--max-time", type=_number(float, 0, strict=True), default=None, metavar="S",
                    help="a pass stops after S seconds even with rows left (default: until caught up)")
    rt.add_argument("--every", type=_number(float, 0, strict=True), default=None, metavar="S",
                    help="start a pass every S seconds, until SIGTERM/SIGINT (default: one pass, then exit)")
    _add_process_arguments(rt, "animus-retention")
    from animus import ops

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dsn", default=None,
                       help="database URL (default: DATABASE_URL, from the environment or .env)")

    ops.add_commands(sub, common)
    db = sub.add_parser("dashboard", help="the web dashboard: animus dashboard",
                        description="Serve the dashboard (queues with depth over time, dead letters with "
                                    "retry, an item's timeline, memory namespaces). Log in with a database "
                                    "role and its password; read-only unless the role is a member of "
                                    "animus_admin. The server connects to the database of DATABASE_URL "
                                    "(or --dsn) as the role that logs in.")
    db.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    db.add_argument("--port", type=_number(int, 0), default=8470, help="port (default: 8470; 0 = any free port)")
    db.add_argument("--trace-url", default=None, metavar="TEMPLATE",
                    help="link trace ids to a trace UI, e.g. http://jaeger:16686/trace/{trace_id} "
                         "(default: ANIMUS_TRACE_URL, else trace ids are shown without a link)")
    common(db)
    return parser


def dashboard_main(args: argparse.Namespace) -> int:
    from animus.config import load_dotenv_once
    from animus.dashboard import serve

    load_dotenv_once()
    return serve(dsn=args.dsn, host=args.host, port=args.port,
                 trace_url=args.trace_url or os.environ.get("ANIMUS_TRACE_URL"))


def main(argv: list[str] | None = None) -> int:
    """``animus worker …`` / ``animus --version``; without a command: the help, exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from animus import __version__

        print(__version__)
        return 0
    if args.command == "worker":
        return worker_main(args)
    if args.command == "scheduler":
        return scheduler_main(args)
    if args.command == "retention":
        return retention_main(args)
    if args.command == "memory" and getattr(args, "memory_main", None) is not None:
        return args.memory_main(args)
    if args.command == "dashboard":
        return dashboard_main(args)
    from animus import ops

    if args.command in ops.OPS_COMMANDS:
        return ops.run_command(args)
    parser.print_help(sys.stderr)
    print("\nanimus: a command is required (e.g. animus worker module:HANDLERS)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
