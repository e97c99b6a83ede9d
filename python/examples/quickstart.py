"""A tour of the Python client: `python python/examples/quickstart.py` (DATABASE_URL or .env)."""
import hashlib

import animus


def toy_embed(texts):
    """Stands in for a real embedding model: a deterministic vector per text."""
    out = []
    for text in texts:
        h = hashlib.sha256(text.lower().encode()).digest()
        out.append([(h[i % 32] - 128) / 128 for i in range(1536)])
    return out


client = animus.connect(embedder=animus.FunctionEmbedder(toy_embed, model="toy-1536", provider="local"))
print(client)

# Work: a second request for the same person while the first is active is merged, not an error.
first = client.submit_work("engage", "scheduler", params={"person": "kelly"}, dedup_key="person=kelly")
again = client.submit_work("engage", "inbox-agent", dedup_key="person=kelly", trigger_info="new mail")
print(first.status, again.status, again.canonical_id == first.work_id)

[item] = client.read_work("work", vt=30)
print(item.work_type, item.params, item.attempts, [r["source"] for r in item.requesters])
client.complete_work(item.id, outcome={"greeted": True})
print(client.get_work(again.work_id).item.resolution)

try:
    client.complete_work(item.id)                     # a stale second completion
except animus.WorkAlreadyEnded as exc:
    print(type(exc).__name__, exc.sqlstate, isinstance(exc, animus.InvalidState))

# Memory: the Embedder turns text into vectors (each call is an `embeddings toy-1536` span).
for text in ["Kelly prefers morning meetings", "The cafe on 5th closes at 6pm"]:
    client.store_memory(text, memory_type="semantic", namespace="demo")
for hit in client.hybrid_search("when does kelly like to meet", k=2, filters={"namespace": "demo"}):
    print(f"{hit.score:.4f} text#{hit.text_rank} vector#{hit.vector_rank} {hit.content}")
client.close()
