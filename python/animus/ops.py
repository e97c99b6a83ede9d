"""The operator's view: health reports, the Worker's HTTP port, the status commands, progress.

- :func:`health_report` turns ``animus.health()`` into one report (overall status = the worst
  check; ``fail`` when the database cannot be reached). ``animus health`` prints it and exits 1
  when it fails (container probes); the Worker's ``GET /healthz`` serves it with the worker's
  own slots and last claim.
- :class:`WorkerHTTP` is the Worker's opt-in port (``Worker(http_port=…)``, ``animus worker
  --http-port``): ``GET /healthz`` (JSON; 503 when failing) and ``GET /metrics`` (Prometheus
  text from prometheus_client, fed by the OpenTelemetry instruments through the SDK's
  Prometheus reader, plus the queue gauges observed from ``animus.health()`` at scrape time).
- The ``animus status | work show | dead … | queue … | memory stats | health`` commands
  (:func:`add_commands`, :func:`run_command`); ``animus dashboard`` is :mod:`animus.dashboard`.
- :class:`Progress`: a progress line on stderr for long operations.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Sequence
from uuid import UUID

from animus.errors import AnimusError, ConnectionFailed

__all__ = ["health_report", "WorkerHTTP", "Progress", "add_commands", "run_command",
           "pause_queue", "resume_queue", "LEVELS"]

LEVELS = {"ok": 0, "warn": 1, "fail": 2}

def pause_queue(client: Any, queue: str) -> bool:
    """``animus.pause_queue(queue)``: the queue keeps accepting submissions and hands out nothing."""
    return client.pause_queue(queue)


def resume_queue(client: Any, queue: str) -> bool:
    """``animus.resume_queue(queue)``."""
    return client.resume_queue(queue)


def _iso(ts: float | datetime | None) -> str | None:
    if ts is None:
        return None
    if isinstance(ts, datetime):
        return ts.isoformat()
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


def health_report(client: Any) -> dict[str, Any]:
    """``animus.health()`` as one report: ``status`` (the worst check; ``fail`` when the database
    cannot be reached or animus is not deployed), ``version``, ``database`` and ``checks``."""
    try:
        checks = client.health()
    except AnimusError as exc:
        return {"status": "fail", "version": None,
                "database": {"reachable": False, "error": str(exc).splitlines()[0]},
                "checks": []}
    version = next((c.detail for c in checks if c.check_name == "version"), None)
    db = next((c.detail for c in checks if c.check_name == "reachable"), None)
    worst = max((LEVELS.get(c.status or "ok", 0) for c in checks), default=0)
    return {
        "status": [k for k, v in LEVELS.items() if v == worst][0],
        "version": version,
        "database": {"reachable": True, "detail": db},
        "checks": [{"component": c.component, "queue": c.queue, "check": c.check_name,
                    "value": c.value, "unit": c.unit, "status": c.status,
                    "warn_at": c.warn_at, "fail_at": c.fail_at}
                   for c in checks if c.check_name not in ("reachable", "version")],
    }


# ---------------------------------------------------------------------------- worker HTTP port
class _Gauges:
    """Queue gauges observed at scrape time from one ``animus.health()`` call (cached for a
    second, so that the five gauges of one scrape cost one call)."""

    CHECKS = {"backlog": ("animus.queue.depth", "{item}", "Queued work items of the queue."),
              "oldest_age_sec": ("animus.queue.oldest_age", "s",
                                 "How long the oldest claimable message of the queue has waited."),
              "running": ("animus.queue.running", "{item}", "Work items being processed."),
              "dead": ("animus.queue.dead", "{item}", "Dead work items not yet retried or discarded."),
              "stuck": ("animus.queue.stuck", "{item}", "Running items past their claim deadline.")}

    def __init__(self, client: Any, meter: Any) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._at = 0.0
        self._rows: list[Any] = []
        self.gauges = [meter.create_observable_gauge(name, callbacks=[self._callback(check)], unit=unit,
                                                     description=desc)
                       for check, (name, unit, desc) in self.CHECKS.items()]

    def rows(self) -> list[Any]:
        with self._lock:
            if time.monotonic() - self._at > 1.0:
                try:
                    self._rows = self.client.health()
                except AnimusError:
                    self._rows = []
                self._at = time.monotonic()
            return self._rows

    def _callback(self, check: str) -> Callable[[Any], Iterable[Any]]:
        from opentelemetry.metrics import Observation

        def observe(options: Any) -> Iterable[Any]:
            return [Observation(r.value, {"messaging.system": "pgmq", "messaging.destination.name": r.queue})
                    for r in self.rows() if r.check_name == check and r.value is not None]
        return observe


class WorkerHTTP:
    """The Worker's HTTP port: ``GET /healthz`` and ``GET /metrics`` on a daemon thread.

    ``/healthz``: the :func:`health_report` plus ``worker`` (queue, concurrency, busy and free
    slots, hung handlers, last successful read and claim, items settled by outcome) and the
    worker's own check ``last_read_age_sec`` (fail past ``max(30, 3 × poll_interval)`` s: the
    claim loop is stalled). 200 when the status is ok or warn, 503 when fail.
    ``/metrics``: prometheus_client's default registry (the SDK's Prometheus reader registers
    there; see :func:`animus.telemetry.init` with ``prometheus=True``)."""

    def __init__(self, worker: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.worker = worker
        self.host = host
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self.gauges: _Gauges | None = None
        try:
            self.gauges = _Gauges(worker.client, worker.client._tel.inst.meter)
        except Exception:   # pragma: no cover - no SDK: the no-op meter has nothing to observe
            self.gauges = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="animus-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def healthz(self) -> tuple[int, dict[str, Any]]:
        w = self.worker
        report = health_report(w.client)
        busy = len(w._inflight)
        now = time.time()
        stall = max(30.0, 3 * w.poll_interval)
        age = None if w.last_read_at is None else now - w.last_read_at
        status = "fail" if age is None or age >= stall else "ok"
        report["worker"] = {
            "queue": w.queue, "concurrency": w.concurrency, "busy": busy,
            "free": max(0, w.concurrency - busy), "hung": w.hung, "claimed_ahead": w.claimed_ahead,
            "last_read_at": _iso(w.last_read_at), "last_claim_at": _iso(w.last_claim_at),
            "settled": dict(w.settled), "reads": w.reads,
        }
        report["checks"].append({"component": "worker", "queue": w.queue, "check": "last_read_age_sec",
                                 "value": age, "unit": "s", "status": status, "warn_at": None,
                                 "fail_at": stall})
        if LEVELS[status] > LEVELS[report["status"]]:
            report["status"] = status
        return (503 if report["status"] == "fail" else 200), report

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "animus-worker"

            def log_message(self, fmt: str, *args: Any) -> None:   # quiet: probes every few seconds
                pass

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:   # noqa: N802
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    code, report = outer.healthz()
                    self._send(code, json.dumps(report, default=str).encode(), "application/json")
                elif path == "/metrics":
                    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

                    self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                else:
                    self._send(404, b"not found: GET /healthz or /metrics\n", "text/plain; charset=utf-8")

        return Handler


# ---------------------------------------------------------------------------- progress
class Progress:
    """A progress line on stderr for long operations: ``label: done/total (pct) rate/s ETA``,
    redrawn at most every ``every`` seconds on a terminal, one line per ``every`` × 10 seconds
    otherwise (logs), and a last line at :meth:`close`. ``total`` may be None (unknown)."""

    def __init__(self, label: str, total: int | None = None, *, stream: Any = None, every: float = 0.2,
                 enabled: bool = True) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if self.tty else every * 10
        self.enabled = enabled
        self._t0 = time.monotonic()
        self._last = 0.0

    def line(self) -> str:
        elapsed = max(1e-9, time.monotonic() - self._t0)
        rate = self.done / elapsed
        if self.total:
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / rate if rate > 0 else math.inf
            eta_s = "?" if math.isinf(eta) else f"{eta:.0f}s"
            return f"{self.label}: {self.done}/{self.total} ({pct:.0f}%) {rate:.0f}/s ETA {eta_s}"
        return f"{self.label}: {self.done} {rate:.0f}/s"

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._last >= self.every:
            self._last = now
            self.stream.write(("\r" if self.tty else "") + self.line() + ("" if self.tty else "\n"))
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write(("\r" if self.tty else "") + self.line() + " done\n")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------- CLI
def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: Any) -> None:
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip() + "\n")
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.0f}" if v >= 100 or v == int(v) else f"{v:.1f}"
    return str(v)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a work item id (a UUID), got {text!r}") from None


def add_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The operator commands on the ``animus`` parser's subparsers (``common`` adds --dsn …)."""
    h = sub.add_parser("health", help="health checks; exit status 1 when failing (probes)",
                       description="Print animus.health(): the database, the deployed version, per queue "
                                   "backlog / oldest age / running / dead / stuck, the BM25 backlog, "
                                   "replication lag on a standby. Exit status 0 when ok or warn, 1 when "
                                   "a check fails or the database cannot be reached (2 with --strict "
                                   "and a warning).")
    h.add_argument("--json", action="store_true", help="print the report as JSON")
    h.add_argument("--strict", action="store_true", help="exit 2 on warnings too")
    common(h)
    st = sub.add_parser("status", help="a table of the queues",
                        description="Per queue: status, paused, queued (depth), running, dead, stuck, "
                                    "oldest claimable age, items submitted and ended in the last minute.")
    common(st)
    wk = sub.add_parser("work", help="work items: animus work show ID")
    wsub = wk.add_subparsers(dest="work_command", metavar="ACTION", required=True)
    ws = wsub.add_parser("show", help="one item: provenance, merged requesters, steps, error")
    ws.add_argument("work_id", type=_uuid)
    ws.add_argument("--json", action="store_true", help="print get_work's row as JSON")
    common(ws)
    dl = sub.add_parser("dead", help="dead letters: list, retry, discard")
    dsub = dl.add_subparsers(dest="dead_command", metavar="ACTION", required=True)
    dls = dsub.add_parser("list", help="dead items not yet retried or discarded, newest first")
    dls.add_argument("--queue", default=None, help="only this queue (default: every queue)")
    dls.add_argument("--limit", type=int, default=100, help="at most this many, 1-1000 (default: 100)")
    common(dls)
    for name, what in (("retry", "submit the work of dead items again (animus_admin)"),
                       ("discard", "mark dead items handled without retrying (animus_admin)")):
        p = dsub.add_parser(name, help=what)
        p.add_argument("work_ids", nargs="*", type=_uuid, metavar="ID")
        p.add_argument("--all", action="store_true", help="every dead item listed (of --queue), with progress")
        p.add_argument("--queue", default=None, help="with --all: only this queue")
        common(p)
    qu = sub.add_parser("queue", help="queues: pause, resume")
    qsub = qu.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    for name, what in (("pause", "a paused queue accepts submissions and hands out nothing"),
                       ("resume", "hand out work again")):
        p = qsub.add_parser(name, help=what)
        p.add_argument("queue")
        common(p)
    me = sub.add_parser("memory", help="memory: animus memory stats | reembedding | import FILE")
    msub = me.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    ms = msub.add_parser("stats", help="memory namespaces in your read scope with their counts")
    common(ms)
    mr = msub.add_parser("reembedding", help="re-embedding progress per namespace (--wait: a progress line until done)")
    mr.add_argument("--namespace", default=None, help="only this namespace")
    mr.add_argument("--wait", action="store_true", help="poll until nothing is pending, showing progress on stderr")
    mr.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds (exit 1)")
    mr.add_argument("--interval", type=float, default=1.0, help="with --wait: seconds between polls (default: 1)")
    common(mr)
    from animus import memory_import

    memory_import.add_parser(msub)   # animus memory import FILE (its own --dsn)


OPS_COMMANDS = {"health", "status", "work", "dead", "queue", "memory"}


def run_command(args: argparse.Namespace, out: Any = None, err: Any = None) -> int:
    """Runs an operator command; exit status 0, 1 (failed: an error or a failing health check),
    2 (bad usage)."""
    import animus
    from animus.config import load_dotenv_once

    out = out or sys.stdout
    err = err or sys.stderr
    load_dotenv_once()
    prog = f"animus {args.command}"
    try:
        client = animus.connect(args.dsn, pool_min_size=1, pool_max_size=2)
    except AnimusError as exc:
        if args.command == "health":
            report = {"status": "fail", "version": None,
                      "database": {"reachable": False, "error": str(exc).splitlines()[0]}, "checks": []}
            if args.json:
                out.write(json.dumps(report) + "\n")
            else:
                out.write(f"status: fail\ndatabase: unreachable ({report['database']['error']})\n")
            return 1
        err.write(f"{prog}: {exc}\n")
        return 1
    try:
        return _COMMANDS[args.command](client, args, out, err)
    except AnimusError as exc:
        err.write(f"{prog}: {exc}\n")
        return 1
    finally:
        client.close()


def _cmd_health(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    report = health_report(client)
    if args.json:
        out.write(json.dumps(report, default=str) + "\n")
    else:
        out.write(f"status: {report['status']}\n")
        db = report["database"]
        out.write(f"database: {db.get('detail') or 'unreachable (' + db.get('error', '') + ')'}\n")
        out.write(f"version: {report['version']}\n")
        _table(["component", "queue", "check", "value", "unit", "status", "warn_at", "fail_at"],
               [[c["component"], c["queue"], c["check"], _num(c["value"]), c["unit"], c["status"],
                 _num(c["warn_at"]), _num(c["fail_at"])] for c in report["checks"]], out)
    if report["status"] == "fail":
        return 1
    return 2 if args.strict and report["status"] == "warn" else 0


def status_rows(client: Any) -> list[dict[str, Any]]:
    """One dict per queue: the health values and statuses, paused, and the last minute's rates."""
    checks = client.health()
    minute = {p.queue: p for p in client.queue_depth_history(since=60, buckets=1)}
    out: dict[str, dict[str, Any]] = {}
    for c in checks:
        if c.component != "queue":
            continue
        row = out.setdefault(c.queue, {"queue": c.queue, "status": "ok", "paused": None})
        row[c.check_name] = c.value
        if c.check_name == "paused":
            row["paused"] = bool(c.value)
        if LEVELS.get(c.status or "ok", 0) > LEVELS[row["status"]]:
            row["status"] = c.status
    for q, row in out.items():
        p = minute.get(q)
        row["submitted_1m"] = p.submitted if p else 0
        row["ended_1m"] = p.ended if p else 0
    return list(out.values())


def _cmd_status(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    rows = status_rows(client)
    _table(["queue", "status", "paused", "queued", "running", "dead", "stuck", "oldest_age_s",
            "submitted/min", "ended/min"],
           [[r["queue"], r["status"], {None: "", True: "yes", False: "no"}.get(r["paused"], r["paused"]),
             _num(r.get("backlog")), _num(r.get("running")), _num(r.get("dead")), _num(r.get("stuck")),
             _num(r.get("oldest_age_sec")), r["submitted_1m"], r["ended_1m"]] for r in rows], out)
    return 0


def trace_id(trace_context: Any) -> str | None:
    """The trace id of a stored W3C context (``traceparent`` 00-<trace id>-<span id>-<flags>)."""
    if isinstance(trace_context, dict):
        parts = str(trace_context.get("traceparent", "")).split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            return parts[1]
    return None


def _cmd_work(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    d = client.get_work(args.work_id)
    item = d.item
    steps = client.get_work_steps(args.work_id)
    if args.json:
        out.write(json.dumps({"item": {k: v for k, v in vars(item).items() if k != "extra"},
                              "steps": [{k: v for k, v in vars(s).items() if k != "extra"} for s in steps]},
                             default=str) + "\n")
        return 0
    fields = [("id", item.id), ("queue", item.queue), ("work_type", item.work_type), ("state", item.state),
              ("canonical_id", item.canonical_id if item.canonical_id != item.id else None),
              ("dedup_key", item.dedup_key), ("source", item.source), ("trigger_info", item.trigger_info),
              ("params", json.dumps(item.params)), ("priority", item.priority),
              ("attempts", f"{item.attempts}/{item.max_attempts}"), ("created_at", item.created_at),
              ("started_at", item.started_at), ("resolved_at", item.resolved_at),
              ("duration_ms", item.duration_ms), ("trace_id", trace_id(item.trace_context)),
              ("outcome", json.dumps(item.outcome) if item.outcome is not None else None),
              ("error", item.error)]
    for k, v in fields:
        if v is not None:
            out.write(f"{k + ':':<14}{v}\n")
    reqs = item.requesters or []
    out.write(f"requesters ({item.requesters_total if item.requesters_total is not None else len(reqs)}):\n")
    for r in reqs:
        out.write(f"  {r.get('submitted_at')}  {r.get('source')}  {r.get('trigger_info') or ''}  "
                  f"{r.get('work_id')}\n".rstrip() + "\n")
    out.write(f"steps ({len(steps)}):\n")
    for s in steps:
        line = f"  {s.name}#{s.occurrence}  {s.kind}  {s.state}  attempt {s.attempt}"
        if s.duration_ms is not None:
            line += f"  {s.duration_ms:.1f} ms"
        if s.error:
            line += f"  error: {s.error}"
        out.write(line + "\n")
    return 0


def _cmd_dead(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    if args.dead_command == "list":
        rows = client.list_dead_work(args.queue, page_size=args.limit)
        _table(["work_id", "queue", "work_type", "attempts", "dead_at", "error"],
               [[r.work_id, r.queue, r.work_type, f"{r.attempts}/{r.max_attempts}",
                 r.dead_at.isoformat(timespec="seconds") if r.dead_at else "",
                 (r.error or "").splitlines()[0][:80] if r.error else ""] for r in rows], out)
        return 0
    ids: list[UUID] = list(args.work_ids)
    if args.all:
        if ids:
            err.write(f"animus dead {args.dead_command}: give IDs or --all, not both\n")
            return 2
        before = None
        while True:   # every page (the list shrinks as items are handled: page by dead_at)
            page = client.list_dead_work(args.queue, page_size=1000, before=before)
            ids += [r.work_id for r in page]
            if len(page) < 1000:
                break
            before = page[-1].dead_at
    elif not ids:
        err.write(f"animus dead {args.dead_command}: give the ids of dead items, or --all\n")
        return 2
    failed = 0
    with Progress(f"{args.dead_command} dead items", len(ids), stream=err, enabled=len(ids) > 1) as prog:
        for wid in ids:
            try:
                if args.dead_command == "retry":
                    r = client.retry_dead_work(wid)
                    out.write(f"{wid} retried as {r.retried_as} ({r.status})\n")
                else:
                    client.discard_dead_work(wid)
                    out.write(f"{wid} discarded\n")
            except AnimusError as exc:
                failed += 1
                err.write(f"animus dead {args.dead_command}: {wid}: {str(exc).splitlines()[0]}\n")
            prog.advance()
    return 1 if failed else 0


def _cmd_queue(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    if args.queue_command == "pause":
        pause_queue(client, args.queue)
        out.write(f"queue {args.queue} paused: submissions are accepted, nothing is handed out\n")
    else:
        resume_queue(client, args.queue)
        out.write(f"queue {args.queue} resumed\n")
    return 0


def _cmd_reembedding(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    rows = client.memory_reembedding_progress(args.namespace)
    if args.wait:
        total = sum(r.total or 0 for r in rows)
        deadline = None if args.timeout is None else time.monotonic() + args.timeout
        with Progress("re-embedding", total, stream=err) as prog:
            while True:
                done = sum(r.current or 0 for r in rows)
                prog.advance(done - prog.done)
                if not any(r.pending for r in rows):
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    err.write(f"animus memory reembedding: {sum(r.pending or 0 for r in rows)} still pending "
                              f"after {args.timeout:g}s\n")
                    return 1
                time.sleep(args.interval)
                rows = client.memory_reembedding_progress(args.namespace)
    _table(["namespace", "model", "current", "total", "pending"],
           [[r.namespace, r.model, r.current, r.total, r.pending] for r in rows], out)
    return 0


def _cmd_memory(client: Any, args: argparse.Namespace, out: Any, err: Any) -> int:
    if args.memory_command == "reembedding":
        return _cmd_reembedding(client, args, out, err)
    rows = client.memory_namespace_stats()
    _table(["namespace", "memories", "embedded", "content_bytes", "newest", "last_updated"],
           [[r.namespace, r.memories, r.embedded, r.content_bytes,
             r.newest.isoformat(timespec="seconds") if r.newest else "",
             r.last_updated.isoformat(timespec="seconds") if r.last_updated else ""] for r in rows], out)
    return 0


_COMMANDS: dict[str, Callable[[Any, argparse.Namespace, Any, Any], int]] = {
    "health": _cmd_health, "status": _cmd_status, "work": _cmd_work, "dead": _cmd_dead,
    "queue": _cmd_queue, "memory": _cmd_memory,
}
