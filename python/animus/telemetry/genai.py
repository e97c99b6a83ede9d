"""GenAI helpers for the caller's own model calls (OpenTelemetry GenAI semantic conventions).

::

    from animus.telemetry import genai

    with genai.chat("claude-sonnet-4", provider="anthropic", max_tokens=512) as op:
        reply = call_the_model(...)
        op.response(model=reply.model, id=reply.id, finish_reasons=[reply.stop_reason])
        op.usage(input_tokens=812, output_tokens=96, cache_read_input_tokens=640,
                 cache_creation_input_tokens=0)

Each block is a CLIENT span named ``{operation} {model}`` (``chat claude-sonnet-4``) with
``gen_ai.*`` attributes, and records ``gen_ai.client.operation.duration`` and (for input and
output tokens) ``gen_ai.client.token.usage``. Prompts and completions are never recorded.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from opentelemetry.trace import SpanKind, Status, StatusCode

from animus.telemetry.conventions import Instruments, default_instruments

__all__ = ["GenAIOperation", "chat", "embeddings", "operation"]


class GenAIOperation:
    """Handle for one model call: record the response and the token usage on it."""

    def __init__(self, span: Any, base_attrs: dict[str, Any]) -> None:
        self.span = span
        self._metric_attrs = dict(base_attrs)
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def response(self, *, model: str | None = None, id: str | None = None,
                 finish_reasons: Sequence[str] | None = None) -> None:
        if model:
            self.span.set_attribute("gen_ai.response.model", model)
            self._metric_attrs["gen_ai.response.model"] = model
        if id:
            self.span.set_attribute("gen_ai.response.id", id)
        if finish_reasons:
            self.span.set_attribute("gen_ai.response.finish_reasons", list(finish_reasons))

    def usage(self, *, input_tokens: int | None = None, output_tokens: int | None = None,
              cache_read_input_tokens: int | None = None,
              cache_creation_input_tokens: int | None = None,
              reasoning_output_tokens: int | None = None) -> None:
        """Token counts as the provider billed them (cache tokens are part of the input)."""
        for name, value in (("gen_ai.usage.input_tokens", input_tokens),
                            ("gen_ai.usage.output_tokens", output_tokens),
                            ("gen_ai.usage.cache_read.input_tokens", cache_read_input_tokens),
                            ("gen_ai.usage.cache_creation.input_tokens", cache_creation_input_tokens),
                            ("gen_ai.usage.reasoning.output_tokens", reasoning_output_tokens)):
            if value is not None:
                self.span.set_attribute(name, int(value))
        if input_tokens is not None:
            self.input_tokens = int(input_tokens)
        if output_tokens is not None:
            self.output_tokens = int(output_tokens)

    def set(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, value)


@contextmanager
def operation(operation_name: str, model: str, *, provider: str,
              instruments: Instruments | None = None, server_address: str | None = None,
              server_port: int | None = None, **request: Any) -> Iterator[GenAIOperation]:
    """A GenAI client span ``{operation_name} {model}``; ``request`` keys become
    ``gen_ai.request.<key>`` attributes (e.g. ``max_tokens=512``, ``temperature=0.2``)."""
    inst = instruments or default_instruments()
    base: dict[str, Any] = {
        "gen_ai.operation.name": operation_name,
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
    }
    if server_address:
        base["server.address"] = server_address
        if server_port:
            base["server.port"] = server_port
    span_attrs = dict(base)
    for key, value in request.items():
        if value is not None:
            span_attrs[f"gen_ai.request.{key}"] = value
    start = time.perf_counter()
    with inst.tracer.start_as_current_span(f"{operation_name} {model}", kind=SpanKind.CLIENT,
                                           attributes=span_attrs, record_exception=False,
                                           set_status_on_exception=False) as span:
        op = GenAIOperation(span, base)
        error_type: str | None = None
        try:
            yield op
        except BaseException as exc:
            error_type = type(exc).__qualname__
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
            raise
        finally:
            attrs = dict(op._metric_attrs)
            if error_type:
                attrs["error.type"] = error_type
            inst.genai_duration.record(time.perf_counter() - start, attrs)
            if op.input_tokens is not None:
                inst.genai_tokens.record(op.input_tokens, {**op._metric_attrs, "gen_ai.token.type": "input"})
            if op.output_tokens is not None:
                inst.genai_tokens.record(op.output_tokens, {**op._metric_attrs, "gen_ai.token.type": "output"})


def chat(model: str, *, provider: str, **kw: Any):
    """A ``chat {model}`` span (see :func:`operation`)."""
    return operation("chat", model, provider=provider, **kw)


def embeddings(model: str, *, provider: str, **kw: Any):
    """An ``embeddings {model}`` span (see :func:`operation`)."""
    return operation("embeddings", model, provider=provider, **kw)
