"""Telemetry: GenAI conventions, init() as a clean no-op, and a real OTLP/HTTP export."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from animus.telemetry import genai
from animus.telemetry.conventions import (GENAI_DURATION_BUCKETS, GENAI_TOKEN_BUCKETS, Instruments)
from animus_fixtures import clean_env, otel, otlp_receiver  # noqa: F401


def test_chat_span_has_genai_attributes_usage_and_metrics(otel):
    inst = Instruments(otel.tracer_provider, otel.meter_provider)
    with genai.chat("claude-sonnet-4", provider="anthropic", instruments=inst, max_tokens=512,
                    temperature=0.2) as op:
        op.response(model="claude-sonnet-4-20250514", id="msg_01", finish_reasons=["end_turn"])
        op.usage(input_tokens=812, output_tokens=96, cache_read_input_tokens=640,
                 cache_creation_input_tokens=12)
    [span] = otel.spans()
    assert span.name == "chat claude-sonnet-4" and span.kind == SpanKind.CLIENT
    a = span.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == "claude-sonnet-4"
    assert a["gen_ai.response.model"] == "claude-sonnet-4-20250514"
    assert a["gen_ai.request.max_tokens"] == 512 and a["gen_ai.request.temperature"] == 0.2
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (812, 96)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 640
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 12
    m = otel.metrics()
    tokens = {attrs["gen_ai.token.type"]: p for attrs, p in m["gen_ai.client.token.usage"]}
    assert (tokens["input"].sum, tokens["output"].sum) == (812, 96)
    assert tuple(tokens["input"].explicit_bounds) == GENAI_TOKEN_BUCKETS
    [(attrs, dur)] = m["gen_ai.client.operation.duration"]
    assert tuple(dur.explicit_bounds) == GENAI_DURATION_BUCKETS and dur.count == 1
    assert attrs["gen_ai.response.model"] == "claude-sonnet-4-20250514"


def test_failed_model_call_sets_error_type_on_span_and_metric(otel):
    inst = Instruments(otel.tracer_provider, otel.meter_provider)
    with pytest.raises(TimeoutError):
        with genai.embeddings("text-embedding-3-small", provider="openai", instruments=inst):
            raise TimeoutError("model timed out")
    [span] = otel.spans()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.status.status_code == StatusCode.ERROR and span.attributes["error.type"] == "TimeoutError"
    [(attrs, _)] = otel.metrics()["gen_ai.client.operation.duration"]
    assert attrs["error.type"] == "TimeoutError"


def run_py(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_init_without_configuration_is_a_clean_noop():
    res = run_py("""
        from opentelemetry import trace
        import animus.telemetry as t
        h = t.init(service_name="noop-test")
        from animus.telemetry import genai
        with genai.chat("m", provider="p") as op:
            op.usage(input_tokens=1)
        print(h.enabled, type(trace.get_tracer_provider()).__name__, h.reason)
    """, clean_env())
    assert res.returncode == 0, res.stderr
    enabled, provider, *reason = res.stdout.split()
    assert (enabled, provider) == ("False", "ProxyTracerProvider")
    assert res.stderr == ""


def test_init_honours_otel_sdk_disabled(otlp_receiver):
    res = run_py("""
        import animus.telemetry as t
        h = t.init(service_name="x"); print(h.enabled, h.reason)
    """, clean_env(OTEL_SDK_DISABLED="true", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint))
    assert res.stdout.startswith("False OTEL_SDK_DISABLED"), res.stderr
    assert otlp_receiver.bodies == {}


def test_real_otlp_http_export_is_decodable_and_holds_no_password(otlp_receiver, db_url):
    from urllib.parse import urlsplit

    res = run_py(f"""
        import animus, animus.telemetry as t
        from animus.telemetry import genai
        h = t.init(service_name="otlp-export-test")
        assert h.enabled, h.reason
        with genai.chat("toy-model", provider="local") as op:
            op.usage(input_tokens=3, output_tokens=2)
        c = animus.connect({db_url!r})
        c.queue_stats()
        c.close()
        h.shutdown()
    """, clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
                   OTEL_METRIC_EXPORT_INTERVAL="60000"))
    assert res.returncode == 0, res.stderr
    spans = otlp_receiver.spans()
    names = {s.name for _, s in spans}
    assert "chat toy-model" in names
    assert "SELECT animus.queue_stats" in names
    assert {r["service.name"] for r, _ in spans} == {"otlp-export-test"}
    db_span = next(s for _, s in spans if s.name == "SELECT animus.queue_stats")
    attrs = {a.key: a.value for a in db_span.attributes}
    assert attrs["db.system.name"].string_value == "postgresql"
    assert attrs["db.stored_procedure.name"].string_value == "animus.queue_stats"
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage",
            "db.client.operation.duration"} <= otlp_receiver.metric_names()
    password = urlsplit(db_url).password
    assert password and password.encode() not in otlp_receiver.raw()
