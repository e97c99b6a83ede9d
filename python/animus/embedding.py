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

__all__ = ["Embedder", "FunctionEmbedder", "to_vector_literal", "reembedding_handlers"]


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


def reembedding_handlers(client: Any, embedder: Any) -> dict[str, Any]:
    """Worker handlers for the re-embedding queued by ``set_namespace_model`` /
    ``memory_request_reembedding`` (work type ``memory_reembed``)::

        worker = animus.Worker(client, animus.reembedding_handlers(client, MiniLMEmbedder()))

    Each item embeds the memory's current content with ``embedder`` and writes it with
    ``memory_set_embedding`` (kept only if the content did not change meanwhile; a later
    ``memory_request_reembedding`` picks such a memory up again). An item for another model than
    the embedder's is dead-lettered (NonRetryable). Sync embedders only.
    """
    from animus.errors import NonRetryable

    def memory_reembed(item: Any) -> dict[str, Any]:
        memory_id = int(item.params["memory_id"])
        model = item.params["model"]
        if model != embedder.model:
            raise NonRetryable(f"item wants model {model!r}, this embedder is {embedder.model!r}")
        memory = client.get_memory(memory_id)
        if memory is None:
            return {"memory_id": memory_id, "written": False, "reason": "gone"}
        vector = embedder.embed([memory.content])[0]
        written = client.memory_set_embedding(memory_id, list(vector), model, memory.content)
        return {"memory_id": memory_id, "written": written}

    return {"memory_reembed": memory_reembed}
