"""Fixtures for the Python client's tests (imported by tests/python/test_py_*.py).

Telemetry is captured with SDK providers handed to the client explicitly (an in-memory span
exporter and metric reader), never by replacing the process-global providers, so tests stay
independent of each other. Tests of ``animus.telemetry.init`` run in a subprocess.
"""
from __future__ import annotations

import uuid

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import animus


class Otel:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self, name: str | None = None):
        out = self.exporter.get_finished_spans()
        return [s for s in out if name is None or s.name == name]

    def metrics(self) -> dict[str, list]:
        """metric name -> list of (attributes, data point)."""
        data = self.reader.get_metrics_data()
        out: dict[str, list] = {}
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out.setdefault(m.name, []).extend((dict(p.attributes), p) for p in m.data.data_points)
        return out

    def tracer(self):
        return self.tracer_provider.get_tracer("tests")


@pytest.fixture
def otel():
    o = Otel()
    yield o
    o.tracer_provider.shutdown()
    o.meter_provider.shutdown()


@pytest.fixture
def client(db_url, otel):
    c = animus.connect(db_url, tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider,
                       pool_min_size=1, pool_max_size=4)
    yield c
    c.close()


@pytest.fixture
def queue_name(conn):
    """A fresh queue for one test, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    conn.execute("SELECT animus.create_queue(%s)", [name])
    yield name
    try:
        conn.execute("SELECT pgmq.drop_queue(%s)", [name])
    except Exception:
        pass
