"""Embedding throughput for indexing: our Embedder (ONNX Runtime, int8 weights, longest-first
batches) against sentence-transformers' own torch `encode`, on every chunk of BEIR SciFact, in
one run; and what the int8 vectors cost in retrieval quality (dense and hybrid nDCG@10 with
each runtime's vectors, queries embedded by the same runtime).

The texts are exactly what `assistant index` embeds: SciFact loaded and chunked with the
default settings, each chunk as `search_text` (heading, then text). Each engine embeds the
whole set once; a warm-up batch first.

    python -m bench.embedding_throughput
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from bench import _report
from index.chunking import Chunker, search_text
from index.config import IndexConfig, RetrievalConfig
from index.embedder import Embedder, load_tokenizer
from index.evaluate import BEIR_LOADER, documents_in_order, load_beir, score_runs
from index.fusion import weighted
from index.loaders import load_file
from index.sparse import build_sparse, top_k
from index.terms import Terms

NAME = "embedding_throughput"
TARGET_RATIO = 2.0
QUALITY_TOLERANCE = 0.005


def scifact_chunks(folder: Path):
    config = IndexConfig()
    chunker = Chunker(load_tokenizer(config.embedder), config.chunk_tokens, config.chunk_overlap, config.chunk_by)
    docs = load_file(folder / "corpus.jsonl", "corpus.jsonl", BEIR_LOADER)
    return [chunk for doc in docs for chunk in chunker.chunk(doc)]


def timed(encode, texts: list[str]) -> tuple[np.ndarray, float]:
    encode(texts[:64])  # warm-up: first-call allocations and thread pools
    began = time.perf_counter()
    vectors = encode(texts)
    return np.asarray(vectors, dtype=np.float32), time.perf_counter() - began


def ndcg(beir, chunks, doc_vectors: np.ndarray, query_vectors: np.ndarray, bm25: dict) -> dict:
    """Dense and hybrid nDCG@10 of one runtime's vectors, hybrid fused as a search does by default:
    both retrievers' exact scores for every candidate either found, normalised and weighted."""
    config = RetrievalConfig()
    dense_runs, hybrid_runs = {}, {}
    for i, qid in enumerate(beir.queries):
        scores = doc_vectors @ query_vectors[i]
        dense = np.argsort(-scores)[: config.candidates].tolist()
        bm25_rows, bm25_all = bm25[qid]
        union = sorted(set(bm25_rows) | set(dense))
        fused = [row for row, _ in weighted({"bm25": union, "dense": union},
                                            {"bm25": bm25_all[union], "dense": scores[union]},
                                            {"dense": config.dense_weight, "bm25": 1 - config.dense_weight},
                                            normalise=config.fusion)]
        for runs, rows in ((dense_runs, dense), (hybrid_runs, fused)):
            runs[qid] = documents_in_order([chunks[row].locator for row in rows])[:100]
    return {"dense": score_runs(dense_runs, beir.qrels)["ndcg@10"],
            "hybrid": score_runs(hybrid_runs, beir.qrels)["ndcg@10"]}


def main() -> dict:
    from sentence_transformers import SentenceTransformer

    folder = _report.data_dir() / "beir" / "scifact"
    beir = load_beir(folder)
    chunks = scifact_chunks(folder)
    texts = [search_text(c) for c in chunks]
    queries = list(beir.queries.values())
    terms = Terms()
    sparse = build_sparse(terms.split_many(texts))
    bm25 = {}
    for qid, text in beir.queries.items():
        scores = sparse.scores(terms.split(text))
        bm25[qid] = (top_k(scores, RetrievalConfig().candidates).rows.tolist(), scores)

    ours = Embedder()  # the default on a CPU: ONNX Runtime, int8
    peer = SentenceTransformer(ours.spec.location, device="cpu")
    engines = {
        # each as a caller gets it: sentence-transformers' default batch of 32, ours its own batching
        "sentence-transformers encode (torch)": lambda batch: peer.encode(
            batch, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False),
        f"ours: Embedder.encode ({ours.runtime})": ours.encode,
    }
    rows, vectors = [], {}
    for name, encode in engines.items():
        doc_vectors, seconds = timed(encode, texts)
        query_vectors = encode(queries)
        vectors[name] = doc_vectors
        rows.append({"engine": name, "texts": len(texts), "seconds": round(seconds, 1),
                     "texts_per_s": round(len(texts) / seconds, 1),
                     **{f"ndcg@10 {k}": round(v, 4) for k, v in ndcg(beir, chunks, doc_vectors, query_vectors, bm25).items()}})
    peer_row, our_row = rows
    names = list(vectors)
    cosine = (vectors[names[0]] * vectors[names[1]]).sum(axis=1)
    payload = {
        "set": "scifact", "chunks": len(texts), "threads": os.cpu_count(), "rows": rows,
        "cosine_to_torch": {"mean": round(float(cosine.mean()), 4), "min": round(float(cosine.min()), 4)},
        "ratio": round(our_row["texts_per_s"] / peer_row["texts_per_s"], 2),
        "ndcg_delta": {k: round(our_row[f"ndcg@10 {k}"] - peer_row[f"ndcg@10 {k}"], 4) for k in ("dense", "hybrid")},
    }
    _report.write(NAME, payload, markdown(payload))
    return payload


def markdown(p: dict) -> str:
    delta = p["ndcg_delta"]
    return "\n".join([
        f"## Embedding throughput: {p['chunks']:,} SciFact chunks, {p['threads']} cores, one run", "",
        _report.table(["engine", "seconds", "chunks/s", "dense nDCG@10", "hybrid nDCG@10"],
                      [[r["engine"], r["seconds"], r["texts_per_s"], r["ndcg@10 dense"], r["ndcg@10 hybrid"]]
                       for r in p["rows"]]), "",
        f"Cosine of our vectors to torch's: mean {p['cosine_to_torch']['mean']}, min {p['cosine_to_torch']['min']}.", "",
        _report.table(["target", "value", "pass"], [
            [f"throughput ≥ {TARGET_RATIO}× sentence-transformers' encode", f"{p['ratio']}×", p["ratio"] >= TARGET_RATIO],
            [f"dense nDCG@10 within {QUALITY_TOLERANCE} of torch vectors", f"{delta['dense']:+.4f}",
             abs(delta["dense"]) <= QUALITY_TOLERANCE],
            [f"hybrid nDCG@10 within {QUALITY_TOLERANCE} of torch vectors", f"{delta['hybrid']:+.4f}",
             abs(delta["hybrid"]) <= QUALITY_TOLERANCE],
        ]),
    ])


if __name__ == "__main__":
    main()
