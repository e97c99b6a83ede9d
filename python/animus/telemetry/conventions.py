"""OpenTelemetry semantic conventions used by animus (messaging, database, GenAI).

Only ``opentelemetry-api`` is needed here: without an SDK every span and instrument is a no-op.
Attribute values never include the password or query parameters.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from opentelemetry import metrics, trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from animus import __version__
from animus.telemetry.deferred import call_metrics

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
MESSAGING_SYSTEM = "pgmq"
DB_SYSTEM = "postgresql"

# Bucket boundaries the semantic conventions specify for each histogram.
MESSAGING_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
DB_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10)
GENAI_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                          40.96, 81.92)
GENAI_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                       16777216, 67108864)

_W3C = TraceContextTextMapPropagator()


def inject_context() -> dict[str, str] | None:
    """The current W3C trace context (``traceparent``/``tracestate``), or None without a trace."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier or None


def links_from(contexts: Iterable[Mapping[str, Any]]) -> list[Link]:
    """One span link per valid stored W3C context (submitter and every merged requester)."""
    links: list[Link] = []
    seen: set[tuple[int, int]] = set()
    for carrier in contexts:
        if not isinstance(carrier, Mapping) or "traceparent" not in carrier:
            continue
        ctx = _W3C.extract({k: str(v) for k, v in carrier.items()})
        sc = trace.get_current_span(ctx).get_span_context()
        if sc.is_valid and (sc.trace_id, sc.span_id) not in seen:
            seen.add((sc.trace_id, sc.span_id))
            links.append(Link(sc))
    return links


class Instruments:
    """The tracer and the metric instruments, from given providers or the global ones."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer = trace.get_tracer("animus", __version__, tracer_provider=tracer_provider,
                                       schema_url=SCHEMA_URL)
        meter = metrics.get_meter("animus", __version__, meter_provider=meter_provider,
                                  schema_url=SCHEMA_URL)
        self.meter = meter
        self.messaging_duration = meter.create_histogram(
            "messaging.client.operation.duration", unit="s",
            description="Duration of messaging operation initiated by a producer or consumer client.",
            explicit_bucket_boundaries_advisory=MESSAGING_DURATION_BUCKETS)
        self.process_duration = meter.create_histogram(
            "messaging.process.duration", unit="s", description="Duration of processing operation.",
            explicit_bucket_boundaries_advisory=MESSAGING_DURATION_BUCKETS)
        # Per-call metrics kept off the call path (see animus.telemetry.deferred): message
        # counts are in-process tallies behind observable counters, durations are recorded by
        # a background thread through ``record_later``.
        calls = call_metrics(meter)
        self.sent_messages = calls.sent
        self.consumed_messages = calls.consumed
        self.record_later = calls.record_later
        # Items a worker settled, by outcome (animus.work.outcome: completed, retried, dead):
        # their rates are the processed / failed / dead rates.
        self.settled = meter.create_counter(
            "animus.work.settled", unit="{item}",
            description="Work items settled by workers, by outcome (completed, retried, dead).")
        self.db_duration = meter.create_histogram(
            "db.client.operation.duration", unit="s", description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=DB_DURATION_BUCKETS)
        self.genai_duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=GENAI_DURATION_BUCKETS)
        self.genai_tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=GENAI_TOKEN_BUCKETS)


_default: Instruments | None = None


def default_instruments() -> Instruments:
    global _default
    if _default is None:
        _default = Instruments()
    return _default


def messaging_attrs(operation_type: str, operation_name: str, queue: str | None,
                    server: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": operation_type,
        "messaging.operation.name": operation_name,
    }
    if queue:
        attrs["messaging.destination.name"] = queue
    attrs.update(server)
    return attrs


def db_attrs(function: str, server: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "db.system.name": DB_SYSTEM,
        "db.operation.name": "SELECT",
        "db.stored_procedure.name": function,
        "db.query.summary": f"SELECT {function}",
    }
    attrs.update(server)
    return attrs


SPAN_KIND = {"send": SpanKind.PRODUCER, "receive": SpanKind.CLIENT, "settle": SpanKind.CLIENT,
             "create": SpanKind.PRODUCER, "process": SpanKind.CONSUMER, "db": SpanKind.CLIENT}
