"""Fixtures for the Python client's tests (imported by tests/python/test_py_*.py).

Telemetry is captured with SDK providers handed to the client explicitly (an in-memory span
exporter and metric reader), never by replacing the process-global providers, so tests stay
independent of each other. Tests of ``animus.telemetry.init`` run in a subprocess.
"""
from __future__ import annotations

import threading
import time
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
        animus.telemetry.flush()   # a call's span ends on the telemetry thread
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
        conn.execute("SELECT animus.drop_queue(%s)", [name])
    except Exception:
        pass


class OtlpReceiver:
    """A local OTLP/HTTP receiver: keeps every raw request body and decodes it with protobuf."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.bodies: dict[str, list[bytes]] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        out = []
        for body in self.bodies.get("/v1/traces", []):
            req = ExportTraceServiceRequest()
            req.ParseFromString(body)
            for rs in req.resource_spans:
                resource = {a.key: a.value.string_value for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append((resource, span))
        return out

    def metric_names(self) -> set[str]:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        names = set()
        for body in self.bodies.get("/v1/metrics", []):
            req = ExportMetricsServiceRequest()
            req.ParseFromString(body)
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    names.update(m.name for m in sm.metrics)
        return names

    def raw(self) -> bytes:
        return b"".join(b for bodies in self.bodies.values() for b in bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def otlp_receiver():
    r = OtlpReceiver()
    yield r
    r.close()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any OTEL_* variable (plus ``extra``)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(extra)
    return env



def wait_for(pred, timeout: float = 10.0, step: float = 0.05):
    """Polls pred until it returns something truthy (returned), or the timeout passes (its last value)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(step)
    return pred()


def run_worker(worker: animus.Worker) -> threading.Thread:
    """Runs worker on a daemon thread (no signal handlers: only the main thread may install them)."""
    t = threading.Thread(target=worker.run, kwargs={"install_signal_handlers": False}, daemon=True)
    t.start()
    return t
