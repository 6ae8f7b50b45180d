"""End-to-end search latency at 100k chunks: Retriever.search with the `auto` dense index against flat.

The chunks are the synthetic corpus of bench/_corpus.py. Embedding 100k chunks with MiniLM on
a 2-core CPU takes ~20 minutes, so the dense side is built from REAL embeddings of the first
N_REAL chunks, tiled to 100k rows with small gaussian noise and re-normalised: the vectors have
the real distribution of MiniLM vectors (and FAISS does the same work), but row i's vector is
not the embedding of chunk i's text. Queries (real SQuAD questions) are embedded for real, by
whatever embedder Retriever.open gives (the library's normal query path), and their time is
shown as its own stage. The collection is written with the store functions and opened with
Retriever.open; the flat peer is the same collection with an exact index swapped in.

    python -m bench.hybrid_latency
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import _report
from bench._corpus import squad_questions, synthetic_corpus, tiled_vectors
from index import store
from index.build import content_settings, index_settings
from index.chunking import search_text
from index.config import IndexConfig, RetrievalConfig
from index.dense import DenseIndex
from index.loaders import LoaderOptions
from index.embedder import Embedder, resolve_embedder
from index.retriever import SEARCH_STAGES, Retriever
from index.sparse import build_sparse
from index.store import Collection
from index.terms import Terms
from index.types import Chunk

NAME = "hybrid_latency"
N_CHUNKS = 100_000
N_REAL = 2_000
NOISE = 0.01  # per dimension; about 0.2 in norm against unit vectors
N_QUERIES = 200
WARMUP = 20
P50_TARGET_MS = 20.0
RECALL_TARGET = 0.98


def timed(fn, *args, **kwargs):
    """(fn's result, seconds it took)."""
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - began


def write_collection(project: Path, name: str, chunks: list[Chunk], vectors: np.ndarray,
                     config: IndexConfig) -> tuple[Collection, dict]:
    """A collection shaped like build.py's, from chunks and ready vectors; returns seconds per stage."""
    timings = {}
    terms = Terms(stemming=config.stemming, stopwords=config.stopwords)
    corpus_terms, timings["terms_s"] = timed(terms.split_many, [search_text(c) for c in chunks])
    sparse, timings["bm25_build_s"] = timed(build_sparse, corpus_terms, config.sparse_backend, config.bm25_variant,
                                            config.bm25_k1, config.bm25_b)
    del corpus_terms
    dense, timings["faiss_build_s"] = timed(DenseIndex.build, vectors, config.dense_index, config.hnsw_m)

    collection = Collection(project, name)
    version = collection.new_version_dir()
    _, timings["write_chunks_s"] = timed(store.write_chunks, version / store.CHUNKS, chunks)
    _, timings["write_names_s"] = timed(store.write_names, version / store.NAMES, chunks)
    _, timings["write_faiss_s"] = timed(dense.save, version / store.DENSE)
    _, timings["write_bm25_s"] = timed(sparse.save, version / store.SPARSE)
    embedder = resolve_embedder(config.embedder).name
    manifest = {
        "format_version": store.FORMAT_VERSION, "name": collection.name, "created": "", "updated": "",
        "embedder": {"name": embedder, "dim": int(vectors.shape[1])},
        "settings": content_settings(config, LoaderOptions()),  # the embedder's runtime among them, as a build records it
        "index_settings": index_settings(config, dense.params()),
        "counts": {"files": 1, "chunks": len(chunks)}, "files": {}, "versions": {},
    }
    (version / store.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    collection.publish(version)
    return collection, timings


def percentiles(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p90_ms": float(np.percentile(a, 90)),
            "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean())}


def time_searches(retriever: Retriever, questions: list[str], mode: str) -> dict:
    config = RetrievalConfig(mode=mode)
    return percentiles(_report.call_ms(lambda q: retriever.search(q, config), questions, warmup=questions[-WARMUP:]))


class GivenQueries:
    """Stands in for the embedder with each question's vector computed beforehand, so that a search
    times the indexes alone: the figure the index kind decides, whatever the embedding costs."""

    def __init__(self, embedder, questions: list[str]) -> None:
        self.name, self.tokenizer = embedder.name, embedder.tokenizer
        self._vectors = {q: embedder.encode_query(q) for q in questions}

    def encode_query(self, text: str) -> np.ndarray:
        return self._vectors[text]


def with_given_queries(retriever: Retriever, given: GivenQueries) -> Retriever:
    return Retriever(retriever.collection, retriever.manifest, retriever.chunks, retriever.sparse, retriever.dense,
                     given)


def dense_recall(retriever: Retriever, exact: DenseIndex, vectors: np.ndarray, k: int = 10) -> float:
    """Mean share of the exact top k (flat, same query vectors) in the retriever's dense top k."""
    shares = []
    for v in vectors:
        want = set(exact.search(v, k).rows.tolist())
        got = set(retriever.dense.search(v, k).rows.tolist())
        shares.append(len(want & got) / max(len(want), 1))
    return float(np.mean(shares))


def breakdown(retriever: Retriever, questions: list[str]) -> dict:
    """Median ms of each stage of one hybrid search (Retriever.search's own timings), and each
    stage's share of their sum."""
    config = RetrievalConfig()
    stages: dict[str, list[float]] = {k: [] for k in SEARCH_STAGES}
    for q in questions:
        timings: dict[str, float] = {}
        retriever.search(q, config, timings=timings)
        for name in SEARCH_STAGES:
            stages[name].append(timings.get(name, 0.0))
    medians = {name: float(np.median(v)) for name, v in stages.items()}
    total = sum(medians.values())
    return {name: {"ms": ms, "share": ms / total} for name, ms in medians.items()}


def one_thread_embedding_ms(retriever: Retriever, questions: list[str]) -> float | None:
    """Median ms of the query embedding with torch held to one thread (None when the embedder does
    not run on torch): beside the default, it shows what waiting for a second busy core costs."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or retriever.embedder.runtime != "torch":
        return None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ms = []
        for q in questions:
            began = time.perf_counter()
            retriever.embedder.encode_query(q)
            ms.append((time.perf_counter() - began) * 1000)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(ms))


def profile(retriever: Retriever, questions: list[str], top: int = 15) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for q in questions:
        retriever.search(q, mode="hybrid")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> dict:
    config = IndexConfig()  # dense_index="auto"
    texts = synthetic_corpus(N_CHUNKS, seed=0)
    chunks = [Chunk(id=f"{i:06d}", source=f"synthetic/{i // 100:04d}.txt", title_path=(), start=0,
                    end=len(t), text=t) for i, t in enumerate(texts)]
    questions = squad_questions(N_QUERIES, seed=1)
    documents = Embedder(config.embedder)  # the build side; the retriever loads its own for queries
    real, embed_seconds = timed(documents.encode, texts[:N_REAL], batch_size=config.batch_size)
    del documents
    vectors = tiled_vectors(real, N_CHUNKS, NOISE)

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as project:
        collection, timings = write_collection(Path(project), "bench-100k", chunks, vectors, config)
        auto = Retriever.open(collection)
        kind = auto.dense.kind
        exact, timings["faiss_flat_build_s"] = timed(DenseIndex.build, vectors, "flat")
        flat = Retriever(collection, auto.manifest, auto.chunks, auto.sparse, exact, auto.embedder)
        given = GivenQueries(auto.embedder, questions)
        recall = dense_recall(auto, exact, np.stack([given.encode_query(q) for q in questions]))

        for label, retriever in ((f"auto: {kind}", auto), ("flat", flat)):
            for mode in ("hybrid", "dense", "bm25"):
                if mode == "bm25" and retriever is flat:
                    continue  # no dense index involved: the same as above
                results[f"{mode} ({label})" if mode != "bm25" else "bm25"] = time_searches(retriever, questions, mode)
            for mode in ("hybrid", "dense"):
                results[f"{mode}, query vector given ({label})"] = time_searches(
                    with_given_queries(retriever, given), questions, mode)
        stages = {"auto": breakdown(auto, questions), "flat": breakdown(flat, questions)}
        embed_one_thread = one_thread_embedding_ms(auto, questions)
        p50 = results[f"hybrid (auto: {kind})"]["p50_ms"]
        profile_text = profile(auto, questions) if p50 > P50_TARGET_MS else ""
        embedder_class = f"{type(auto.embedder).__module__}.{type(auto.embedder).__name__}, runtime {auto.embedder.runtime}"

    met = {"p50": p50 <= P50_TARGET_MS, "recall": recall >= RECALL_TARGET}
    payload = {
        "chunks": N_CHUNKS, "real_embeddings": N_REAL, "noise_per_dim": NOISE, "queries": len(questions),
        "embed_real_seconds": embed_seconds, "real_chunks_per_second": N_REAL / embed_seconds,
        "dense_index": auto.manifest.index_settings["dense"], "query_embedder": embedder_class,
        "build": timings, "latency": results, "dense_recall_at_10_vs_flat": recall, "breakdown_median_ms": stages,
        "query_embedding_one_torch_thread_ms": embed_one_thread,
        "target": {"hybrid_auto_p50_ms": P50_TARGET_MS, "dense_recall_at_10": RECALL_TARGET, "met": met},
        "profile": profile_text,
    }
    dense_settings = ", ".join(f"{k} {v}" for k, v in auto.manifest.index_settings["dense"].items())
    md = [
        f"## Search latency: {N_CHUNKS:,} chunks, {len(questions)} SQuAD questions (after {WARMUP} warm-up)", "",
        f"Dense vectors: {N_REAL:,} real MiniLM embeddings (embedded at {N_REAL / embed_seconds:.0f} chunks/s) "
        f"tiled to {N_CHUNKS:,} with gaussian noise σ={NOISE}/dim, re-normalised. Dense index `auto` built "
        f"{kind} ({dense_settings}); flat is the exact peer on the same collection. Query embedding "
        f"({embedder_class}) is real and included in every dense/hybrid time, except in the rows \"query vector "
        "given\", which time the indexes alone (the vectors computed beforehand).", "",
        _report.table(["mode (dense index)", "p50 ms", "p90 ms", "p99 ms", "mean ms"],
                      [[name, r["p50_ms"], r["p90_ms"], r["p99_ms"], r["mean_ms"]] for name, r in results.items()]),
        "",
        _report.table(["target", "value", "pass"],
                      [[f"hybrid ({kind}) p50 ≤ {P50_TARGET_MS:.0f} ms", f"{p50:.1f} ms", met["p50"]],
                       ["the same, query vector given (indexes alone)",
                        f"{results[f'hybrid, query vector given (auto: {kind})']['p50_ms']:.1f} ms", None],
                       [f"dense recall@10 of {kind} vs flat ≥ {RECALL_TARGET}", f"{recall:.3f}", met["recall"]]]),
        "", "Where a hybrid search spends its time (median ms per stage, and share of their sum):", "",
        _report.table(["stage", f"{kind} ms", f"{kind} share", "flat ms", "flat share"],
                      [[s, stages["auto"][s]["ms"], f"{stages['auto'][s]['share']:.0%}", stages["flat"][s]["ms"],
                        f"{stages['flat'][s]['share']:.0%}"] for s in SEARCH_STAGES]),
        "",
    ]
    if embed_one_thread is not None:
        md += [f"The same query embeddings with torch held to one thread: {embed_one_thread:.1f} ms median "
               f"(default threads: {stages['auto']['query embedding']['ms']:.1f} ms).", ""]
    md += [
        "Build (s): " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in timings.items()) + ".",
    ]
    if profile_text:
        md += ["", f"Profile of {len(questions)} hybrid ({kind}) searches, by own time:", "", "```",
               "\n".join(profile_text.strip().splitlines()[:30]), "```"]
    _report.write(NAME, payload, "\n".join(md))
    return payload


if __name__ == "__main__":
    main()
