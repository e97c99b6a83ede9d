"""The :class:`Embedder` protocol: let ``store_memory``/``hybrid_search`` take text alone.

Any object with ``model``, ``provider`` and ``embed(texts) -> vectors`` is an Embedder (``embed``
may be ``async`` for the async client). Each call is recorded as an ``embeddings {model}`` span.

>>> import animus
>>> emb = animus.FunctionEmbedder(lambda texts: [[1.0, 0.0, 0.0] for _ in texts], model="toy-3d", provider="local")
>>> isinstance(emb, animus.Embedder)
True
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, runtime_checkable

__all__ = ["Embedder", "FunctionEmbedder", "to_vector_literal"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into embeddings of the dimension the database was deployed with."""

    model: str
    provider: str

    def embed(self, texts: Sequence[str]) -> Any:
        """Return one vector per text (a sequence of floats each); may be a coroutine."""
        ...


class FunctionEmbedder:
    """Adapt a plain function ``fn(texts) -> vectors`` (sync or async) into an :class:`Embedder`."""

    def __init__(self, fn: Callable[[Sequence[str]], Any], *, model: str, provider: str) -> None:
        self._fn = fn
        self.model = model
        self.provider = provider

    def embed(self, texts: Sequence[str]) -> Any:
        return self._fn(texts)

    def __repr__(self) -> str:
        return f"FunctionEmbedder(model={self.model!r}, provider={self.provider!r})"


def to_vector_literal(v: Any) -> str:
    """pgvector's text form ``[x,y,…]`` of a sequence of floats (numpy arrays accepted)."""
    if isinstance(v, str):
        return v
    if hasattr(v, "tolist"):
        v = v.tolist()
    try:
        # str() of a Python (or numpy) number is pgvector's syntax; the server rejects the rest
        return "[" + ",".join(map(str, v)) + "]"
    except TypeError:
        raise TypeError("an embedding must be a sequence of numbers") from None
