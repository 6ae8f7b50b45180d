"""Which FAISS index at which collection size: flat, IVF and HNSW, 10k to 300k MiniLM vectors.

For each size: one-query search time (p50 over SQuAD questions, k = 100 candidates as hybrid
search asks, through DenseIndex.search), build time, and recall@10 of IVF and HNSW against flat
(exact) on the same queries, at the library's settings and over a sweep of search widths.
Vectors: N_REAL real MiniLM embeddings of synthetic chunks tiled with noise (bench/_corpus.py,
as in bench/hybrid_latency.py); at 100k also blended vectors (mixed_vectors), because the tiled
ones form tight balls that favour IVF. This picks index/dense.py's AUTO_FLAT_MAX (flat up to the
largest size whose search fits DENSE_BUDGET_MS), HNSW_EF_SEARCH and ivf_probes.

    python -m bench.dense_index
"""

from __future__ import annotations

import time

import numpy as np

from bench import _report
from bench._corpus import mixed_vectors, squad_questions, synthetic_corpus, tiled_vectors
from index import dense as dense_module
from index.config import IndexConfig
from index.dense import DenseIndex
from index.embedder import Embedder

NAME = "dense_index"
SIZES = (10_000, 20_000, 30_000, 50_000, 100_000, 300_000)
N_REAL = 2_000
N_QUERIES = 200
WARMUP = 20
K = 100  # RetrievalConfig.candidates: what hybrid search asks of the dense index
DENSE_BUDGET_MS = 3.0
"""The dense index's share of the 20 ms hybrid budget: the query embedding takes ~13 ms on 2
cores, BM25 ~1 ms at 100k chunks, fusion and hits ~0.3 ms; 3 ms keeps ~2 ms of slack."""
RECALL_TARGET = 0.98
EF_SWEEP = (128, 256, 512, 1024)
PROBE_SWEEP = (16, 32, 64, 128, 256)


def search_ms(index: DenseIndex, queries: np.ndarray) -> float:
    """p50 ms of one-query searches for K candidates, after a warm-up."""
    ms = _report.call_ms(lambda q: index.search(q, K), queries, warmup=queries[:WARMUP])
    return float(np.percentile(ms, 50))


def top10(index: DenseIndex, queries: np.ndarray) -> list[set]:
    return [set(index.search(q, K).rows[:10].tolist()) for q in queries]


def recall_at_10(found: list[set], truth: list[set]) -> float:
    """Mean share of the exact top 10 that the approximate top 10 holds."""
    return float(np.mean([len(f & t) / max(len(t), 1) for f, t in zip(found, truth)]))


def two_thread_flat_ms(index: DenseIndex, queries: np.ndarray) -> float:
    """p50 of the raw FAISS flat search with OpenMP's default threads (what DenseIndex did before)."""
    ms = _report.call_ms(lambda q: index.index.search(q.reshape(1, -1), K), queries, warmup=queries[:WARMUP])
    return float(np.percentile(ms, 50))


def sweep(index: DenseIndex, queries: np.ndarray, truth: list[set], setting: str, values) -> list[dict]:
    """Recall and p50 at each search width, set by hand on the FAISS object (DenseIndex.search would
    reset it), timed on the raw FAISS search in one thread."""
    import faiss

    rows = []
    for value in values:
        if setting == "efSearch":
            index.index.hnsw.efSearch = value
        else:
            index.index.nprobe = value
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            ms = _report.call_ms(lambda q: index.index.search(q.reshape(1, -1), K), queries,
                                 warmup=queries[:WARMUP])
            _, found = index.index.search(queries, K)
        finally:
            faiss.omp_set_num_threads(threads)
        rows.append({setting: value, "p50_ms": float(np.percentile(ms, 50)),
                     "recall_at_10": recall_at_10([set(r[:10].tolist()) for r in found], truth)})
    return rows


def measure(vectors: np.ndarray, queries: np.ndarray, hnsw_m: int, sweeps: bool) -> dict:
    out: dict = {"n": len(vectors)}
    began = time.perf_counter()
    flat = DenseIndex.build(vectors, "flat")
    out["flat"] = {"build_s": time.perf_counter() - began, "p50_ms": search_ms(flat, queries)}
    truth = top10(flat, queries)
    for kind in ("ivf", "hnsw"):
        began = time.perf_counter()
        index = DenseIndex.build(vectors, kind, hnsw_m)
        built = time.perf_counter() - began
        out[kind] = {"build_s": built, "p50_ms": search_ms(index, queries),
                     "recall_at_10": recall_at_10(top10(index, queries), truth), **index.params()}
        if sweeps:
            setting, values = ("efSearch", EF_SWEEP) if kind == "hnsw" else ("nprobe", PROBE_SWEEP)
            out[kind]["sweep"] = sweep(index, queries, truth, setting, values)
        del index
    out["flat"]["two_threads_p50_ms"] = two_thread_flat_ms(flat, queries) if len(vectors) in (30_000, 100_000) else None
    return out


def pick_flat_max(rows: list[dict]) -> int:
    """The largest measured size whose flat search fits the budget (0: none does)."""
    fits = [r["n"] for r in rows if r["flat"]["p50_ms"] <= DENSE_BUDGET_MS]
    return max(fits, default=0)


def main() -> dict:
    config = IndexConfig()
    embedder = Embedder()
    texts = synthetic_corpus(N_REAL, seed=0)
    began = time.perf_counter()
    real = embedder.encode(texts, batch_size=config.batch_size)
    embed_s = time.perf_counter() - began
    queries = np.stack([embedder.encode_query(q) for q in squad_questions(N_QUERIES, seed=1)])
    del embedder

    rows = []
    for n in SIZES:
        rows.append(measure(tiled_vectors(real, n), queries, config.hnsw_m, sweeps=n in (30_000, 100_000, 300_000)))
        print(f"{n}: " + ", ".join(f"{k} {rows[-1][k]['p50_ms']:.2f} ms" for k in ("flat", "ivf", "hnsw")), flush=True)
    mixed = measure(mixed_vectors(real, 100_000), queries, config.hnsw_m, sweeps=True)
    flat_max = pick_flat_max(rows)

    payload = {"real_embeddings": N_REAL, "embed_real_seconds": embed_s, "queries": len(queries), "k": K,
               "hnsw_m": config.hnsw_m, "dense_budget_ms": DENSE_BUDGET_MS, "tiled": rows, "mixed_100k": mixed,
               "largest_flat_within_budget": flat_max,
               "library": {"AUTO_FLAT_MAX": dense_module.AUTO_FLAT_MAX, "HNSW_EF_SEARCH": dense_module.HNSW_EF_SEARCH,
                           "ivf_probes": {str(r["n"]): r["ivf"].get("ivf_probes") for r in rows}}}
    md = [
        f"## Dense index by collection size: flat, IVF, HNSW ({len(queries)} SQuAD questions, {K} candidates)", "",
        f"Vectors: {N_REAL:,} real MiniLM embeddings tiled with noise (bench/_corpus.py). One query at a time, one "
        f"thread, p50 after {WARMUP} warm-up. Recall@10 against flat on the same queries, at the library's settings "
        f"(IVF: 4·√n lists, max(64, 3·√lists) probes; HNSW: M={config.hnsw_m}, "
        f"efSearch={dense_module.HNSW_EF_SEARCH}).", "",
        _report.table(["vectors", "flat ms", "ivf ms", "hnsw ms", "ivf recall@10", "hnsw recall@10", "flat build s",
                       "ivf build s", "hnsw build s", "ivf lists/probes"],
                      [[r["n"], r["flat"]["p50_ms"], r["ivf"]["p50_ms"], r["hnsw"]["p50_ms"], r["ivf"]["recall_at_10"],
                        r["hnsw"]["recall_at_10"], r["flat"]["build_s"], r["ivf"]["build_s"], r["hnsw"]["build_s"],
                        f"{r['ivf']['ivf_lists']}/{r['ivf']['ivf_probes']}"] for r in rows]), "",
        f"Blended vectors at 100k (no balls): flat {mixed['flat']['p50_ms']:.2f} ms; "
        f"IVF {mixed['ivf']['p50_ms']:.2f} ms, "
        f"recall@10 {mixed['ivf']['recall_at_10']:.3f}; HNSW {mixed['hnsw']['p50_ms']:.2f} ms, recall@10 "
        f"{mixed['hnsw']['recall_at_10']:.3f}.", "",
        f"Flat search within the dense budget ({DENSE_BUDGET_MS:.0f} ms of the 20 ms hybrid target) up to "
        f"{flat_max:,} of the sizes measured; the library's `auto` builds flat up to "
        f"{dense_module.AUTO_FLAT_MAX:,} vectors and IVF above.", "",
        "Flat with OpenMP's default 2 threads for one query (the old behaviour) against one thread: " + "; ".join(
            f"{r['n']:,}: {r['flat']['two_threads_p50_ms']:.2f} ms vs {r['flat']['p50_ms']:.2f} ms"
            for r in rows if r["flat"]["two_threads_p50_ms"] is not None) + ".", "",
        "Search width against recall@10 and p50 ms (one thread):", "",
    ]
    for label, result in [(f"tiled {r['n']:,}", r) for r in rows if "sweep" in r["ivf"]] + [("blended 100,000", mixed)]:
        md += [_report.table([f"{label}: IVF nprobe", "recall@10", "p50 ms"],
                             [[s["nprobe"], s["recall_at_10"], s["p50_ms"]] for s in result["ivf"]["sweep"]]), "",
               _report.table([f"{label}: HNSW efSearch", "recall@10", "p50 ms"],
                             [[s["efSearch"], s["recall_at_10"], s["p50_ms"]] for s in result["hnsw"]["sweep"]]), ""]
    _report.write(NAME, payload, "\n".join(md))
    return payload


if __name__ == "__main__":
    main()
