"""Signals beyond one BM25 and one dense score per chunk, measured against today's default search
on every BEIR set: what might lift SciFact past 0.735 nDCG@10 with MiniLM, and what it costs the
other set.

- sentence max-sim: every sentence of a chunk embedded on its own; a chunk scores its best
  sentence (SciFact's claims are usually backed by one sentence of an abstract);
- title BM25: a BM25 index over the chunks' heading paths alone, as a third score;
- RM3-style expansion: the 10 heaviest terms (tf·idf) of the first-pass top 3 chunks, searched as
  a second BM25 query and added at weight β;
- document mean: the cosine to the mean of a document's chunk vectors (free: no new embedding);
- document BM25: BM25 over whole documents rather than chunks;
- bigram BM25: BM25 over adjacent-term pairs (phrases such as "white matter").

Collections are built with the library's defaults (bench.retrieval_tuning.score_all, which keeps
every query's full score vectors). Signals are fused as search fuses: exact scores of every
candidate any signal found (top 100 of each), min-max normalised, weighted, chunks → documents.

    python -m bench.retrieval_signals
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from assistant.answering.sentences import split_sentences
from bench import _report
from bench.retrieval_tuning import CANDIDATES, score_all
from index.chunking import search_text
from index.config import IndexConfig
from index.evaluate import documents_in_order, score_runs
from index.fusion import weighted
from index.retriever import Retriever
from index.sparse import build_sparse

NAME = "retrieval_signals"
DEFAULT = {"bm25": 0.5, "chunk": 0.5}
DENSE = {"chunk", "sentence", "doc mean"}  # for the others, a score of 0 is "not found"


def sentence_max(retriever: Retriever, queries: np.ndarray) -> tuple[np.ndarray, int, float]:
    """(queries, chunks) best-sentence cosine, the number of sentences, and seconds to embed them."""
    sentences, owner = [], []
    for row, chunk in enumerate(retriever.chunks):
        for sentence in split_sentences(chunk.text):
            if len(sentence.split()) >= 3:
                sentences.append(sentence)
                owner.append(row)
    began = time.perf_counter()
    vectors = retriever.embedder.encode(sentences)
    seconds = time.perf_counter() - began
    best = np.full((len(queries), len(retriever.chunks)), -1.0, dtype=np.float32)
    for start in range(0, len(sentences), 4096):
        part = queries @ vectors[start : start + 4096].T
        for j, row in enumerate(owner[start : start + 4096]):
            np.maximum(best[:, row], part[:, j], out=best[:, row])
    return best, len(sentences), seconds


def expansion(retriever: Retriever, corpus: list[list[str]], queries: list[str], first_pass: np.ndarray,
              feedback: int = 3, terms_kept: int = 10) -> np.ndarray:
    """(queries, chunks) BM25 scores of each query's expansion terms; `corpus` holds each chunk's
    terms, as the collection's BM25 index was built from them."""
    df = Counter(t for terms in corpus for t in set(terms))
    n = len(corpus)
    out = np.zeros((len(queries), n), dtype=np.float32)
    for i, query in enumerate(queries):
        asked = set(retriever.terms.split(query))
        weight: Counter = Counter()
        for row in np.argsort(-first_pass[i])[:feedback]:
            for term, count in Counter(corpus[row]).items():
                weight[term] += count / len(corpus[row]) * np.log(n / df[term])
        new = [t for t, _ in weight.most_common(terms_kept + len(asked)) if t not in asked][:terms_kept]
        if new:
            out[i] = retriever.sparse.scores(new)
    return out


def document_mean(retriever: Retriever, queries: np.ndarray, doc_of_chunk: np.ndarray) -> np.ndarray:
    """(queries, chunks) cosine to the normalised mean of the chunk's document's chunk vectors."""
    vectors = retriever.dense.vectors()
    means = np.zeros((doc_of_chunk.max() + 1, vectors.shape[1]), dtype=np.float32)
    np.add.at(means, doc_of_chunk, vectors)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    return (queries @ means.T)[:, doc_of_chunk]


def document_bm25(retriever: Retriever, queries: list[str], doc_of_chunk: np.ndarray) -> np.ndarray:
    """(queries, chunks) BM25 of the chunk's whole document (its heading counted once)."""
    documents: list[list[str]] = [[] for _ in range(doc_of_chunk.max() + 1)]
    for row, chunk in enumerate(retriever.chunks):
        terms = documents[doc_of_chunk[row]]
        terms.extend(retriever.terms.split(chunk.text if terms else search_text(chunk)))
    sparse = build_sparse(documents)
    return np.stack([sparse.scores(retriever.terms.split(q)) for q in queries])[:, doc_of_chunk]


def bigram_bm25(retriever: Retriever, corpus: list[list[str]], queries: list[str]) -> np.ndarray:
    """(queries, chunks) BM25 over adjacent-term pairs."""
    def pairs(terms: list[str]) -> list[str]:
        return [f"{a}_{b}" for a, b in zip(terms, terms[1:])]

    sparse = build_sparse([pairs(terms) or ["_"] for terms in corpus])
    return np.stack([sparse.scores(pairs(retriever.terms.split(q))) for q in queries])


def fused_runs(signals: dict[str, np.ndarray], weights: dict[str, float], doc_of_chunk, doc_ids, qids) -> dict:
    runs = {}
    for i, qid in enumerate(qids):
        union: set[int] = set()
        for name in weights:
            row = signals[name][i]
            top = np.argpartition(-row, CANDIDATES)[:CANDIDATES]
            union |= set(top.tolist() if name in DENSE else top[row[top] > 0].tolist())
        rows = sorted(union)
        fused = weighted({name: rows for name in weights}, {name: signals[name][i][rows] for name in weights}, weights)
        runs[qid] = documents_in_order([doc_ids[doc_of_chunk[row]] for row, _ in fused])[:100]
    return runs


SETTINGS = {
    "default: bm25 0.5 + chunk 0.5": DEFAULT,
    "bm25 0.4 + chunk 0.3 + sentence 0.3": {"bm25": 0.4, "chunk": 0.3, "sentence": 0.3},
    "bm25 0.4 + chunk 0.45 + sentence 0.15": {"bm25": 0.4, "chunk": 0.45, "sentence": 0.15},
    "bm25 0.5 + sentence 0.5": {"bm25": 0.5, "sentence": 0.5},
    "bm25 0.45 + chunk 0.45 + title 0.1": {"bm25": 0.45, "chunk": 0.45, "title": 0.1},
    "bm25+RM3 β0.2 0.5 + chunk 0.5": {"bm25+rm3": 0.5, "chunk": 0.5},
    "bm25+RM3 β0.2 0.4 + chunk 0.3 + sentence 0.3": {"bm25+rm3": 0.4, "chunk": 0.3, "sentence": 0.3},
    "bm25 0.5 + chunk 0.3 + doc mean 0.2": {"bm25": 0.5, "chunk": 0.3, "doc mean": 0.2},
    "bm25 0.25 + doc bm25 0.25 + chunk 0.5": {"bm25": 0.25, "doc bm25": 0.25, "chunk": 0.5},
    "bm25 0.4 + bigram 0.1 + chunk 0.5": {"bm25": 0.4, "bigram": 0.1, "chunk": 0.5},
    "bm25+RM3 β0.2 0.4 + chunk 0.2 + sentence 0.3 + doc mean 0.1":
        {"bm25+rm3": 0.4, "chunk": 0.2, "sentence": 0.3, "doc mean": 0.1},
}


def main() -> dict:
    folders = sorted(p for p in (_report.data_dir() / "beir").glob("*") if (p / "corpus.jsonl").is_file())
    results, costs = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-signals-") as tmp:
        for folder in folders:
            scored = score_all(folder, Path(tmp), IndexConfig())
            name = scored.beir.name
            retriever, query_vectors = scored.retriever, scored.query_vectors
            texts = [scored.beir.queries[q] for q in scored.qids]
            bm25 = np.where(scored.bm25 > 0, scored.bm25, 0)
            signals = {"bm25": bm25, "chunk": scored.dense}
            signals["sentence"], n_sentences, seconds = sentence_max(retriever, query_vectors)
            heads = build_sparse([retriever.terms.split(c.heading()) or ["_"] for c in retriever.chunks])
            signals["title"] = np.stack([heads.scores(retriever.terms.split(t)) for t in texts])
            first = 0.5 * bm25 / np.maximum(bm25.max(axis=1, keepdims=True), 1e-9) + 0.5 * scored.dense
            corpus = [retriever.terms.split(search_text(c)) for c in retriever.chunks]  # each chunk's BM25 terms
            signals["bm25+rm3"] = bm25 + 0.2 * expansion(retriever, corpus, texts, first)
            signals["doc mean"] = document_mean(retriever, query_vectors, scored.doc_of_chunk)
            signals["doc bm25"] = document_bm25(retriever, texts, scored.doc_of_chunk)
            signals["bigram"] = bigram_bm25(retriever, corpus, texts)
            costs[name] = {"chunks": len(retriever.chunks), "sentences": n_sentences,
                           "sentence_embed_s": round(seconds, 1), "chunk_build_s": round(scored.build_seconds, 1)}
            results[name] = {label: score_runs(fused_runs(signals, weights, scored.doc_of_chunk, scored.doc_ids,
                                                          scored.qids), scored.beir.qrels)["ndcg@10"]
                             for label, weights in SETTINGS.items()}
            print(name, costs[name], flush=True)
    payload = {"ndcg@10": results, "costs": costs}
    _report.write(NAME, payload, markdown(payload))
    return payload


def markdown(p: dict) -> str:
    sets = sorted(p["ndcg@10"])
    base = next(iter(SETTINGS))
    rows = [[label, *[p["ndcg@10"][s][label] for s in sets],
             min(p["ndcg@10"][s][label] - p["ndcg@10"][s][base] for s in sets)] for label in SETTINGS]
    cost = [[s, c["chunks"], c["sentences"], c["chunk_build_s"], c["sentence_embed_s"]] for s, c in p["costs"].items()]
    return "\n".join([
        "## More retrieval signals (nDCG@10, chunk-level search, min-max fusion of exact scores)", "",
        _report.table(["signals and weights", *sets, "worst-set gain"], rows), "",
        "What the sentence signal costs at index time:", "",
        _report.table(["set", "chunks", "sentences", "whole build s", "sentence embedding s"], cost)])


if __name__ == "__main__":
    main()
