"""A large, deterministic corpus of real-looking text for speed benchmarks, and real questions.

    >>> docs = synthetic_corpus(3, seed=0)
    >>> len(docs), all(50 <= len(d.split()) <= 150 for d in docs)
    (3, True)

Sentences come from the SQuAD paragraphs and the Textual docs in the shared data; each
document draws sentences (with replacement) until it reaches a length of 50-150 words, and a
few neighbouring words are swapped so that no two documents are exact copies.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import numpy as np

from bench._report import data_dir

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_FENCE = re.compile(r"```.*?```", re.S)


@lru_cache(maxsize=1)
def sentences() -> tuple[tuple[str, ...], ...]:
    """Every sentence of 4+ words in the SQuAD corpus and the Textual docs, as word tuples."""
    texts = []
    with open(data_dir() / "beir" / "squad-dev5" / "corpus.jsonl", encoding="utf-8") as handle:
        texts += [json.loads(line)["text"] for line in handle if line.strip()]
    for path in sorted((data_dir() / "docs" / "textual").rglob("*.md")):
        texts.append(_FENCE.sub(" ", path.read_text(encoding="utf-8", errors="replace")))
    out = []
    for text in texts:
        for sentence in _SENTENCE.split(text):
            words = tuple(sentence.split())
            if len(words) >= 4:
                out.append(words)
    return tuple(out)


def synthetic_corpus(n_docs: int, seed: int = 0, min_words: int = 50, max_words: int = 150,
                     swap_rate: float = 0.05) -> list[str]:
    """n_docs texts of min_words..max_words words, the same for the same seed."""
    pool = sentences()
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_words, max_words + 1, size=n_docs)
    draws = iter(rng.integers(0, len(pool), size=n_docs * 16).tolist())
    docs = []
    for length in lengths.tolist():
        words: list[str] = []
        while len(words) < length:
            words.extend(pool[next(draws)])
        words = words[:length]
        for i in rng.integers(0, length - 1, size=int(length * swap_rate)).tolist():
            words[i], words[i + 1] = words[i + 1], words[i]
        docs.append(" ".join(words))
    return docs


def squad_questions(n: int, seed: int = 0) -> list[str]:
    """n answerable SQuAD questions, a seeded sample of data/beir/squad-dev5/queries.jsonl."""
    with open(data_dir() / "beir" / "squad-dev5" / "queries.jsonl", encoding="utf-8") as handle:
        questions = [json.loads(line)["text"] for line in handle if line.strip()]
    picks = np.random.default_rng(seed).choice(len(questions), size=min(n, len(questions)), replace=False)
    return [questions[i] for i in sorted(picks.tolist())]


def tiled_vectors(real: np.ndarray, n: int, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """real (m, d) → (n, d): row i is real[i % m] plus gaussian noise (σ per dimension), L2-normalised.

    Each real vector becomes a tight ball of n/m near-copies (cosine ≈ 0.96 to each other): a hard
    case for HNSW, whose graph cannot tell the copies apart, and an easy one for IVF.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: a million rows of float64 noise would need 3 GB
        rows = np.arange(start, min(n, start + 100_000))
        block = real[rows % len(real)] + rng.normal(0, noise, size=(len(rows), real.shape[1])).astype(np.float32)
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def mixed_vectors(real: np.ndarray, n: int, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """real (m, d) → (n, d): row i is a random blend a·real[p] + (1-a)·real[q] plus noise, L2-normalised.

    A continuous spread between real vectors instead of balls: the check that an index tuned on
    tiled_vectors does not owe its recall to the balls.
    """
    rng = np.random.default_rng(seed)
    p, q = rng.integers(0, len(real), n), rng.integers(0, len(real), n)
    a = rng.uniform(0, 1, size=(n, 1)).astype(np.float32)
    out = a * real[p] + (1 - a) * real[q] + rng.normal(0, noise, size=(n, real.shape[1])).astype(np.float32)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

