"""A reference Okapi BM25 in numpy, and the nfcorpus evaluation helpers (nDCG@10, Recall@100).

The reference is independent of the SQL implementation except for tokenisation: both sides use
PostgreSQL's own English stemming, obtained from the database (`to_tsvector('english', ...)`), so
that they score the very same terms. The scoring here is written from the textbook formula:

    score(d, q) = sum over distinct terms t of q present in d of
                  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))          (Lucene's, never negative)

|d| = number of lexeme occurrences of d (stop words removed), avgdl = mean |d| over the corpus.
"""
from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

DEFAULT_NFCORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "nfcorpus"
if not DEFAULT_NFCORPUS.exists():  # a worktree sits at /work/wt-*, the data at /work/shared/data
    DEFAULT_NFCORPUS = Path("/work/shared/data/nfcorpus")

TOKENISE_SQL = """
SELECT t.i::int, u.lexeme, coalesce(cardinality(u.positions), 1)
FROM unnest(%s::text[]) WITH ORDINALITY AS t(txt, i),
     unnest(to_tsvector('english'::regconfig, t.txt)) AS u
"""


def tokenise(conn, texts: Sequence[str]) -> list[Counter]:
    """Term frequencies of each text, with PostgreSQL's English stemming (one round trip per 2,000 texts)."""
    out: list[Counter] = [Counter() for _ in texts]
    for start in range(0, len(texts), 2000):
        chunk = list(texts[start:start + 2000])
        for i, lexeme, tf in conn.execute(TOKENISE_SQL, (chunk,)).fetchall():
            out[start + i - 1][lexeme] = tf
    return out


class BM25:
    """Exhaustive BM25 over a fixed corpus: documents are term-frequency Counters."""

    def __init__(self, docs: Sequence[Mapping[str, int]], k1: float = 0.9, b: float = 0.4) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        self.doc_len = np.array([sum(d.values()) for d in docs], dtype=np.float64)
        self.avgdl = float(self.doc_len.mean()) if self.n and self.doc_len.sum() > 0 else 1.0
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        acc: dict[str, tuple[list[int], list[int]]] = {}
        for i, d in enumerate(docs):
            for term, tf in d.items():
                ids, tfs = acc.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        for term, (ids, tfs) in acc.items():
            self.postings[term] = (np.array(ids), np.array(tfs, dtype=np.float64))

    def idf(self, term: str) -> float:
        df = len(self.postings[term][0]) if term in self.postings else 0
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def scores(self, query_terms: Iterable[str]) -> np.ndarray:
        """Score of every document (0 where no query term occurs); query terms are de-duplicated."""
        s = np.zeros(self.n)
        norm = self.k1 * (1 - self.b + self.b * self.doc_len / self.avgdl)
        for term in set(query_terms):
            if term not in self.postings:
                continue
            ids, tf = self.postings[term]
            s[ids] += self.idf(term) * tf * (self.k1 + 1) / (tf + norm[ids])
        return s

    def top(self, query_terms: Iterable[str], k: int) -> list[tuple[int, float]]:
        """The k best (document index, score) with score > 0, by score desc then index asc."""
        s = self.scores(query_terms)
        hits = np.nonzero(s > 0)[0]
        order = sorted(hits, key=lambda i: (-s[i], i))[:k]
        return [(int(i), float(s[i])) for i in order]


# ---- nfcorpus -------------------------------------------------------------------------------

class Collection:
    """nfcorpus as its README describes it (evaluation only: never copied into the repository)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.doc_ids: list[str] = (folder / "corpus_ids.txt").read_text(encoding="utf-8").split()
        corpus = {}
        for line in open(folder / "corpus.jsonl", encoding="utf-8"):
            doc = json.loads(line)
            corpus[doc["_id"]] = (doc["title"] + " " + doc["text"]).strip()
        self.texts = [corpus[i] for i in self.doc_ids]
        self.queries = {q["_id"]: q["text"] for q in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}

    def qrels(self, split: str) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with open(self.folder / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
            for qid, did, grade in list(csv.reader(f, delimiter="\t"))[1:]:
                out.setdefault(qid, {})[did] = int(grade)
        return out

    def query_ids(self, split: str) -> list[str]:
        return (self.folder / f"query_ids_{split}.txt").read_text(encoding="utf-8").split()

    def doc_embeddings(self) -> np.ndarray:
        return np.load(self.folder / "emb_corpus_minilm.npy").astype(np.float32)

    def query_embeddings(self, split: str) -> np.ndarray:
        return np.load(self.folder / f"emb_queries_{split}_minilm.npy").astype(np.float32)


def require_collection(folder: str | Path | None) -> Collection:
    path = Path(folder) if folder else DEFAULT_NFCORPUS
    if not (path / "corpus.jsonl").exists():
        raise SystemExit(f"nfcorpus not found at {path}: pass the folder of the collection "
                         "(see its README; it is not part of this repository)")
    return Collection(path)


def ndcg_at_10(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> float:
    """Mean nDCG@10 over the qrels' queries (a query without results counts 0), ranked lists as given."""
    total = 0.0
    for qid, rel in qrels.items():
        ranked = list(run.get(qid, []))[:10]
        dcg = sum(rel.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranked))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
        total += dcg / idcg if idcg > 0 else 0.0
    return total / len(qrels)


def recall_at(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], k: int = 100) -> float:
    total = 0.0
    for qid, rel in qrels.items():
        relevant = {d for d, g in rel.items() if g > 0}
        got = set(list(run.get(qid, []))[:k])
        total += len(got & relevant) / len(relevant) if relevant else 0.0
    return total / len(qrels)
