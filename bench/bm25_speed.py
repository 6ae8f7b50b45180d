"""BM25 speed at 100k chunks: our bm25s `okapi` index against rank_bm25.BM25Okapi on the same terms.

Both engines index the same `index.terms.Terms` tokens of a 100k-document synthetic corpus
(bench/_corpus.py); queries are real SQuAD questions. Our per-query time includes splitting
the query into terms and taking the top 10. rank_bm25 is slow, so it is timed on a subset.
Agreement: a query agrees when the reference scores of our top 10 equal the reference's own
best 10 scores (rtol 1e-5), so documents with tied scores may come in any order.

    python -m bench.bm25_speed
"""

from __future__ import annotations

import time

import numpy as np

from bench import _report
from bench._corpus import squad_questions, synthetic_corpus
from index.sparse import build_sparse
from index.terms import Terms

NAME = "bm25_speed"
N_DOCS = 100_000
N_QUERIES = 200
N_REFERENCE_QUERIES = 50
K = 10
SPEEDUP_TARGET = 100.0


def timed(fn, *args, **kwargs):
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - began


def reference_top(engine, query_terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(engine.get_scores(query_terms))
    return np.argsort(-scores, kind="stable")[:k], scores


def agrees(our_rows: np.ndarray, reference_scores: np.ndarray, k: int, rtol: float = 1e-5) -> bool:
    """Our top-k holds documents whose reference scores are the reference's k best (ties allowed)."""
    best = np.sort(reference_scores)[::-1][:k]
    best = best[best > 0]  # our index returns only documents that match some query term
    ours = np.sort(reference_scores[our_rows])[::-1]
    return len(ours) == len(best) and bool(np.allclose(ours, best, rtol=rtol, atol=1e-9))


def main() -> dict:
    from rank_bm25 import BM25Okapi

    corpus, corpus_seconds = timed(synthetic_corpus, N_DOCS, 0)
    questions = squad_questions(N_QUERIES, seed=1)
    terms = Terms()
    tokens, split_seconds = timed(terms.split_many, corpus)
    ours, ours_build = timed(build_sparse, tokens, "bm25s", "okapi")
    reference, reference_build = timed(BM25Okapi, tokens, k1=1.5, b=0.75, epsilon=0.25)

    for q in questions[:10]:  # warm-up
        ours.search(terms.split(q), K)
    began = time.perf_counter()
    our_rows = [ours.search(terms.split(q), K).rows for q in questions]
    ours_seconds = time.perf_counter() - began

    subset = questions[:: max(1, N_QUERIES // N_REFERENCE_QUERIES)][:N_REFERENCE_QUERIES]
    began = time.perf_counter()
    reference_scores = [reference_top(reference, terms.split(q), K)[1] for q in subset]
    reference_seconds = time.perf_counter() - began

    index_of = {q: i for i, q in enumerate(questions)}
    agreement = [agrees(our_rows[index_of[q]], s, K) for q, s in zip(subset, reference_scores)]
    exact = [set(our_rows[index_of[q]].tolist()) == set(np.argsort(-s, kind="stable")[:K].tolist())
             for q, s in zip(subset, reference_scores)]
    ours_qps = len(questions) / ours_seconds
    reference_qps = len(subset) / reference_seconds
    speedup = ours_qps / reference_qps
    payload = {
        "documents": N_DOCS, "mean_words": float(np.mean([len(d.split()) for d in corpus])),
        "mean_terms": float(np.mean([len(t) for t in tokens])),
        "corpus_seconds": corpus_seconds, "terms_seconds": split_seconds,
        "build_seconds": {"bm25s_okapi": ours_build, "rank_bm25": reference_build},
        "queries": {"bm25s_okapi": len(questions), "rank_bm25": len(subset)},
        "queries_per_second": {"bm25s_okapi": ours_qps, "rank_bm25": reference_qps},
        "ms_per_query": {"bm25s_okapi": 1000 / ours_qps, "rank_bm25": 1000 / reference_qps},
        "speedup": speedup, "speedup_target": SPEEDUP_TARGET, "speedup_met": speedup >= SPEEDUP_TARGET,
        "top10_agreement": float(np.mean(agreement)), "top10_exact_set_equal": float(np.mean(exact)),
    }
    md = "\n".join([
        f"## BM25 speed: {N_DOCS:,} synthetic chunks (mean {payload['mean_words']:.0f} words, "
        f"{payload['mean_terms']:.0f} terms after stemming/stop words)", "",
        _report.table(["engine", "build s", "queries timed", "queries/s", "ms/query"], [
            ["ours: bm25s okapi (incl. query terms + top-10)", ours_build, len(questions), ours_qps, 1000 / ours_qps],
            ["peer: rank_bm25 BM25Okapi get_scores + argsort", reference_build, len(subset), reference_qps,
             1000 / reference_qps],
        ]), "",
        _report.table(["target", "value", "pass"], [
            [f"speedup ≥ {SPEEDUP_TARGET:.0f}×", f"{speedup:,.0f}×", payload["speedup_met"]],
            [f"top-10 agreement ({len(subset)} queries, ties allowed)", f"{payload['top10_agreement']:.2f}",
             payload["top10_agreement"] == 1.0],
        ]), "",
        f"Shared cost, not in either build time: corpus generation {corpus_seconds:.1f} s, "
        f"Terms.split_many over the corpus {split_seconds:.1f} s. Exact top-10 set equality "
        f"(no tie allowance): {payload['top10_exact_set_equal']:.2f}.",
    ])
    _report.write(NAME, payload, md)
    return payload


if __name__ == "__main__":
    main()
