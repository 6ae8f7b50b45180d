"""BM25 over chunk terms: bm25s sparse matrices by default, rank_bm25 as the reference backend.

    >>> corpus = [["red", "fox"], ["lazy", "dog"], ["red", "dog"], ["grey", "cat"], ["old", "owl"]]
    >>> idx = build_sparse(corpus, backend="bm25s")
    >>> idx.search(["dog"], k=2).rows
    array([1, 2])

Both backends store arrays + JSON (no pickle). The `okapi` variant fills bm25s's score matrix
with exactly rank_bm25.BM25Okapi's formula (including its epsilon floor for very common
terms), so the fast engine ranks like the reference; the other variants are bm25s's own.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

OKAPI_EPSILON = 0.25  # rank_bm25's default floor: common terms score epsilon * mean idf


class SparseHits(NamedTuple):
    rows: np.ndarray  # chunk rows, best first
    scores: np.ndarray


def top_k(scores: np.ndarray, k: int) -> SparseHits:
    """Rows of the k highest positive scores, best first (ties: lower row first)."""
    positive = np.flatnonzero(scores > 0)
    if positive.size > k:
        part = np.argpartition(-scores[positive], k - 1)[:k]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    rows = positive[order]
    return SparseHits(rows, scores[rows].astype(np.float32))


def okapi_csc(
    doc_ids: list[list[int]], n_vocab: int, k1: float, b: float, epsilon: float = OKAPI_EPSILON
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BM25Okapi scores of every (term, doc) pair as a term-major CSC matrix (data, indices, indptr)."""
    n_docs = len(doc_ids)
    lengths = np.fromiter(map(len, doc_ids), dtype=np.int64, count=n_docs)
    terms = np.fromiter(itertools.chain.from_iterable(doc_ids), dtype=np.int64, count=int(lengths.sum()))
    docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    pairs, tf = np.unique(terms * n_docs + docs, return_counts=True)  # sorted by term, then doc
    pair_terms, pair_docs = pairs // n_docs, pairs % n_docs

    df = np.bincount(pair_terms, minlength=n_vocab)
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    idf[idf < 0] = epsilon * idf.mean()
    avgdl = lengths.sum() / max(n_docs, 1)
    norm = k1 * (1 - b + b * lengths[pair_docs] / avgdl)
    data = idf[pair_terms] * tf * (k1 + 1) / (tf + norm)
    indptr = np.concatenate([[0], np.cumsum(df)])
    return data.astype(np.float32), pair_docs.astype(np.int32), indptr.astype(np.int64)


class Bm25sIndex:
    """bm25s engine: precomputed term×doc scores, a query is a sum of a few sparse columns."""

    name = "bm25s"

    def __init__(self, engine) -> None:
        self.engine = engine
        self.vocab: dict[str, int] = engine.vocab_dict

    @classmethod
    def build(cls, corpus_terms: list[list[str]], variant: str, k1: float, b: float) -> "Bm25sIndex":
        import bm25s

        if variant == "okapi":
            engine = bm25s.BM25(k1=k1, b=b, method="atire", idf_method="robertson")
            vocab: dict[str, int] = {}
            doc_ids = [[vocab.setdefault(t, len(vocab)) for t in terms] for terms in corpus_terms]
            data, indices, indptr = okapi_csc(doc_ids, len(vocab), k1, b)
            engine.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": len(doc_ids)}
            engine.vocab_dict = vocab
            engine.nonoccurrence_array = None
        else:
            engine = bm25s.BM25(k1=k1, b=b, method=variant)
            # bm25s needs at least one term overall; an all-empty corpus gets a placeholder term.
            engine.index(corpus_terms if any(corpus_terms) else [["\x00"]] * len(corpus_terms),
                         show_progress=False)
        return cls(engine)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        ids = [self.vocab[t] for t in query_terms if t in self.vocab]
        if not ids:
            return np.zeros(self.engine.scores["num_docs"], dtype=np.float32)
        return self.engine.get_scores_from_ids(ids)

    def search(self, query_terms: list[str], k: int) -> SparseHits:
        return top_k(self.scores(query_terms), k)

    def has_term(self, term: str) -> bool:
        return term in self.vocab

    def rows_with(self, term: str) -> np.ndarray:
        """The rows whose terms include `term`: its column of the term×row scores."""
        column = self.vocab.get(term)
        if column is None:
            return np.empty(0, dtype=np.int64)
        scores = self.engine.scores
        return np.asarray(scores["indices"][scores["indptr"][column] : scores["indptr"][column + 1]], dtype=np.int64)

    def save(self, folder: Path) -> None:
        self.engine.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "Bm25sIndex":
        """`mmap` maps the score arrays instead of reading them: a query reads only its terms' columns."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=mmap, allow_pickle=False))


class RankBm25Index:
    """rank_bm25.BM25Okapi: pure Python, slow, the reference the bm25s engine is checked against."""

    name = "rank-bm25"
    TERMS_FILE = "terms.json"

    def __init__(self, corpus_terms: list[list[str]], k1: float, b: float) -> None:
        from rank_bm25 import BM25Okapi

        self.corpus_terms, self.k1, self.b = corpus_terms, k1, b
        # BM25Okapi divides by zero on an empty corpus; a corpus of empty documents is fine.
        self.engine = BM25Okapi(corpus_terms or [[]], k1=k1, b=b, epsilon=OKAPI_EPSILON)

    @classmethod
    def build(cls, corpus_terms: list[list[str]], variant: str, k1: float, b: float) -> "RankBm25Index":
        return cls(corpus_terms, k1, b)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        return np.asarray(self.engine.get_scores(query_terms), dtype=np.float32)[: len(self.corpus_terms)]

    def search(self, query_terms: list[str], k: int) -> SparseHits:
        return top_k(self.scores(query_terms), k)

    def has_term(self, term: str) -> bool:
        return term in self.engine.idf

    def rows_with(self, term: str) -> np.ndarray:
        return np.array([row for row, counts in enumerate(self.engine.doc_freqs[: len(self.corpus_terms)])
                         if term in counts], dtype=np.int64)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"k1": self.k1, "b": self.b, "terms": self.corpus_terms}
        (folder / self.TERMS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "RankBm25Index":  # terms live in Python lists
        payload = json.loads((folder / cls.TERMS_FILE).read_text(encoding="utf-8"))
        return cls(payload["terms"], payload["k1"], payload["b"])


BACKENDS = {"bm25s": Bm25sIndex, "rank-bm25": RankBm25Index}


def build_sparse(corpus_terms: list[list[str]], backend: str = "bm25s", variant: str = "okapi",
                 k1: float = 1.5, b: float = 0.75):
    """Index each chunk's terms; row i of every result refers to corpus_terms[i]."""
    return BACKENDS[backend].build(corpus_terms, variant, k1, b)


def load_sparse(folder: Path, backend: str, mmap: bool = False):
    return BACKENDS[backend].load(folder, mmap=mmap)
