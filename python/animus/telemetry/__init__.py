"""Telemetry: ``animus.telemetry.init(service_name=…)`` for applications.

The library itself only uses ``opentelemetry-api``; spans and metrics go wherever the
application's providers send them. :func:`init` is a convenience for applications that do not
configure OpenTelemetry themselves: it needs the ``otel`` extra (``pip install animus[otel]``),
reads the standard ``OTEL_*`` variables, and is a clean no-op when nothing is configured:

- ``OTEL_SDK_DISABLED=true``: nothing is installed.
- ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``: ``otlp`` (default when an endpoint is
  set), ``console`` or ``none``.
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the per-signal ``…_TRACES_ENDPOINT``/``…_METRICS_ENDPOINT``),
  ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
  ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_METRIC_EXPORT_INTERVAL``: as the SDK reads them.

Without an exporter configured (no endpoint, no exporter variable) :func:`init` installs
nothing and returns a handle whose ``enabled`` is False.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from animus.telemetry.conventions import (Instruments, default_instruments, inject_context,
                                          links_from)
from animus.telemetry.deferred import flush

__all__ = ["init", "flush", "TelemetryHandle", "Instruments", "default_instruments",
           "inject_context", "links_from"]


@dataclass
class TelemetryHandle:
    """What :func:`init` installed; call :meth:`shutdown` at exit to flush (also done atexit)."""

    enabled: bool
    tracer_provider: Any = None
    meter_provider: Any = None
    reason: str = ""

    def force_flush(self, timeout_millis: int = 5000) -> None:
        flush()   # spans and records the client still has queued (animus.telemetry.deferred)
        for p in (self.tracer_provider, self.meter_provider):
            if p is not None:
                p.force_flush(timeout_millis)

    def shutdown(self) -> None:
        flush()
        for p in (self.tracer_provider, self.meter_provider):
            if p is not None:
                p.shutdown()
        self.tracer_provider = self.meter_provider = None


def _exporter_choice(env: dict[str, str], signal: str) -> str:
    explicit = env.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower()
    if explicit:
        return explicit.split(",")[0].strip()
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    return "otlp" if endpoint else "none"


def init(service_name: str | None = None, *, set_global: bool = True,
         env: dict[str, str] | None = None, prometheus: bool = False) -> TelemetryHandle:
    """Install an SDK tracer and meter provider exporting as the ``OTEL_*`` variables say.

    Returns a :class:`TelemetryHandle`; ``enabled`` is False (and nothing is installed) when the
    SDK is disabled or no exporter is configured. ``service_name`` is used unless
    ``OTEL_SERVICE_NAME`` is set. ``prometheus``: the meter provider also gets the SDK's
    Prometheus reader (``opentelemetry-exporter-prometheus``), whose metrics prometheus_client
    serves (the Worker's ``GET /metrics``), with or without another exporter.
    """
    from animus.config import load_dotenv_once

    if env is None:
        load_dotenv_once()
        env = dict(os.environ)
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TelemetryHandle(False, reason="OTEL_SDK_DISABLED=true")
    traces = _exporter_choice(env, "traces")
    metrics_ = _exporter_choice(env, "metrics")
    if traces == "none" and metrics_ == "none" and not prometheus:
        return TelemetryHandle(False, reason="no exporter configured (set OTEL_EXPORTER_OTLP_ENDPOINT)")
    try:
        from opentelemetry.sdk.resources import Resource, SERVICE_NAME
    except ImportError:
        return TelemetryHandle(False, reason="opentelemetry-sdk is not installed: pip install 'animus[otel]'")
    from opentelemetry import metrics, trace

    attrs = {}
    if service_name and not env.get("OTEL_SERVICE_NAME"):
        attrs[SERVICE_NAME] = service_name
    resource = Resource.create(attrs)
    handle = TelemetryHandle(True)
    if traces != "none":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tp = TracerProvider(resource=resource)
        tp.add_span_processor(BatchSpanProcessor(_span_exporter(traces)))
        handle.tracer_provider = tp
        if set_global:
            trace.set_tracer_provider(tp)
    if metrics_ != "none" or prometheus:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        readers = [PeriodicExportingMetricReader(_metric_exporter(metrics_))] if metrics_ != "none" else []
        if prometheus:
            readers.append(prometheus_reader())
        mp = MeterProvider(resource=resource, metric_readers=readers)
        handle.meter_provider = mp
        if set_global:
            metrics.set_meter_provider(mp)
    return handle


def _span_exporter(kind: str):
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r} is not supported by animus.telemetry.init "
                         "(use otlp, console or none)")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_exporter(kind: str):
    if kind == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    if kind != "otlp":
        raise ValueError(f"OTEL_METRICS_EXPORTER={kind!r} is not supported by animus.telemetry.init "
                         "(use otlp, console or none)")
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


def prometheus_reader():
    """A metric reader for the SDK's MeterProvider whose metrics prometheus_client's default
    registry serves (``opentelemetry-exporter-prometheus``; in the ``otel`` extra). One per
    process: the reader registers itself with that registry."""
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
    except ImportError as exc:   # pragma: no cover - the otel extra is missing
        raise ImportError("GET /metrics needs opentelemetry-exporter-prometheus: pip install 'animus[otel]'") from exc
    return PrometheusMetricReader()
