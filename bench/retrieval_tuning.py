"""Choosing retrieval defaults by measurement on every BEIR set: fusion, RRF k, chunking,
document-level aggregation, BM25 variant and parameters.

Each collection is built once per chunking with the library (`build_collection`), and every
query's full BM25 and dense score vectors over all chunks are kept, so each setting below is
NumPy over those arrays rather than a re-search. The settings are scored exactly as
`assistant eval retrieval` scores a search (index.evaluate.score_runs over document ids).

A setting becomes a default only when it wins on its set and does not lose on the other: the
"worst set" column is the smallest gain over today's default across sets.

    python -m bench.retrieval_tuning
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import _report
from index import fusion
from index.build import build_collection
from index.config import IndexConfig
from index.evaluate import BEIR_LOADER, BeirSet, documents_in_order, load_beir, score_runs
from index.retriever import Retriever
from index.store import Collection

NAME = "retrieval_tuning"
CANDIDATES = 100
METRICS = ("ndcg@10", "recall@100", "mrr@10")


@dataclass
class Scored:
    """Every query's BM25 and dense score over every chunk of one built collection."""

    beir: BeirSet
    doc_of_chunk: np.ndarray  # chunk row → document number
    doc_ids: list[str]
    bm25: np.ndarray  # (queries, chunks)
    dense: np.ndarray  # (queries, chunks)
    qids: list[str]
    build_seconds: float
    retriever: Retriever | None = None  # the opened collection, for benches that score more signals
    query_vectors: np.ndarray | None = None


def score_all(folder: Path, project: Path, config: IndexConfig) -> Scored:
    beir = load_beir(folder)
    collection = Collection(project, re.sub(r"[^\w-]", "_", beir.name))
    began = time.perf_counter()
    build_collection([beir.corpus], collection, config, loader=BEIR_LOADER)
    seconds = time.perf_counter() - began
    retriever = Retriever.open(collection)
    doc_ids: dict[str, int] = {}
    doc_of_chunk = np.array([doc_ids.setdefault(c.locator, len(doc_ids)) for c in retriever.chunks])
    vectors = retriever.dense.vectors()
    qids = list(beir.queries)
    bm25 = np.stack([retriever.sparse.scores(retriever.terms.split(beir.queries[q])) for q in qids])
    queries = np.stack([retriever.embedder.encode_query(beir.queries[q]) for q in qids])
    return Scored(beir, doc_of_chunk, list(doc_ids), bm25.astype(np.float32), queries @ vectors.T, qids, seconds,
                  retriever, queries)


# --- document-level aggregation: chunk scores → document scores ---------------------------

def doc_scores(chunk_scores: np.ndarray, doc_of_chunk: np.ndarray, n_docs: int, how: str) -> np.ndarray:
    """(chunks,) → (docs,): "max", or "max+0.1" (best plus a tenth of the second best)."""
    order = np.lexsort((-chunk_scores, doc_of_chunk))
    docs, scores = doc_of_chunk[order], chunk_scores[order]
    first = np.ones(len(docs), dtype=bool)
    first[1:] = docs[1:] != docs[:-1]
    out = np.full(n_docs, -np.inf, dtype=np.float64)
    out[docs[first]] = scores[first]
    if how.startswith("max+"):
        second = np.zeros(len(docs), dtype=bool)
        second[1:] = first[:-1] & ~first[1:]
        out[docs[second]] += float(how[4:]) * np.maximum(scores[second], 0)
    return out


def top(scores: np.ndarray, n: int) -> tuple[list[int], list[float]]:
    rows = np.argsort(-scores, kind="stable")[:n]
    rows = rows[np.isfinite(scores[rows]) & (scores[rows] > -1e30)]
    return rows.tolist(), scores[rows].tolist()


def run(scored: Scored, setting: dict) -> dict[str, list[str]]:
    """{query id: ranked document ids} for one setting (the fields are described in SETTINGS)."""
    runs = {}
    n_docs = len(scored.doc_ids)
    for i, qid in enumerate(scored.qids):
        per = {"bm25": scored.bm25[i], "dense": scored.dense[i]}
        per["bm25"] = np.where(per["bm25"] > 0, per["bm25"], -np.inf)
        level = setting.get("level", "chunk")
        if level == "doc":
            per = {k: doc_scores(v, scored.doc_of_chunk, n_docs, setting.get("agg", "max")) for k, v in per.items()}
        modes = setting["mode"].split("+")
        rankings, scores = {}, {}
        for name in modes:
            rankings[name], scores[name] = top(per[name], CANDIDATES)
        if setting.get("fill"):
            # every candidate gets its exact score from both retrievers, not a floor for "missing"
            union = sorted(set().union(*rankings.values()))
            for name in modes:
                exact = np.where(np.isfinite(per[name][union]), per[name][union], 0.0)
                rankings[name], scores[name] = union, exact.tolist()
        if len(modes) == 1:
            fused = list(zip(rankings[modes[0]], scores[modes[0]]))
        elif setting["fusion"] == "rrf":
            fused = fusion.rrf(rankings, k=setting.get("k", 60))
        else:
            w = setting["w"]
            fused = fusion.FUSERS[setting["fusion"]](rankings, scores, {"dense": w, "bm25": 1 - w})
        rows = [row for row, _ in fused]
        if level == "doc":
            runs[qid] = [scored.doc_ids[r] for r in rows][:100]
        else:
            runs[qid] = documents_in_order([scored.doc_ids[scored.doc_of_chunk[r]] for r in rows])[:100]
    return runs


def settings() -> list[dict]:
    out = [{"mode": "bm25"}, {"mode": "dense"}, {"mode": "bm25", "level": "doc"}, {"mode": "dense", "level": "doc"}]
    for level in ("chunk", "doc"):
        out += [{"mode": "bm25+dense", "fusion": "rrf", "k": k, "level": level} for k in (10, 20, 60, 100)]
        for how in fusion.NORMALISED:
            out += [{"mode": "bm25+dense", "fusion": how, "w": w, "level": level} for w in (0.3, 0.4, 0.5, 0.6, 0.7)]
    out += [{"mode": "bm25+dense", "fusion": how, "w": w, "level": "doc", "agg": "max+0.1"}
            for how in fusion.NORMALISED for w in (0.4, 0.5, 0.6)]
    out += [{"mode": "bm25+dense", "fusion": how, "w": w, "level": level, "fill": True}
            for level in ("chunk", "doc") for how in fusion.NORMALISED for w in (0.3, 0.4, 0.5, 0.6, 0.7)]
    return out


def label(setting: dict) -> str:
    parts = [setting["mode"].replace("bm25+dense", "hybrid")]
    if "fusion" in setting:
        parts.append(f"{setting['fusion']} k={setting['k']}" if setting["fusion"] == "rrf"
                     else f"{setting['fusion']} w={setting['w']}")
    parts.append(f"{setting.get('level', 'chunk')}-level")
    if "agg" in setting:
        parts.append(setting["agg"])
    if setting.get("fill"):
        parts.append("exact scores for all candidates")
    return ", ".join(parts)


def main() -> dict:
    folders = sorted(p for p in (_report.data_dir() / "beir").glob("*") if (p / "corpus.jsonl").is_file())
    chunkings = [IndexConfig(), IndexConfig(chunk_tokens=256, chunk_overlap=32),
                 IndexConfig(chunk_tokens=128, chunk_overlap=32)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tuning-") as tmp:
        for c, config in enumerate(chunkings):
            for folder in folders:
                scored = score_all(folder, Path(tmp) / str(c), config)
                for setting in settings():
                    scores = score_runs(run(scored, setting), scored.beir.qrels)
                    rows.append({"set": scored.beir.name, "chunk_tokens": config.chunk_tokens,
                                 "chunk_overlap": config.chunk_overlap, "setting": label(setting), **scores})
                print(scored.beir.name, config.chunk_tokens, f"{scored.build_seconds:.0f}s", flush=True)
    payload = {"rows": rows}
    _report.write(NAME, payload, markdown(rows))
    return payload


def markdown(rows: list[dict]) -> str:
    sets = sorted({r["set"] for r in rows})
    key = lambda r: (r["chunk_tokens"], r["chunk_overlap"], r["setting"])
    by = {(r["set"], *key(r)): r for r in rows}
    baseline = (200, 32, "hybrid, rrf k=60, chunk-level")
    table = []
    for k in sorted({key(r) for r in rows}):
        values = [by[(s, *k)]["ndcg@10"] for s in sets]
        gains = [by[(s, *k)]["ndcg@10"] - by[(s, *baseline)]["ndcg@10"] for s in sets]
        table.append([f"{k[0]}/{k[1]}", k[2], *values, min(gains)])
    table.sort(key=lambda r: -r[-1])
    return "\n".join(["## Retrieval settings (nDCG@10), best worst-set gain first", "",
                      f"Previous default: {baseline[2]}, chunks {baseline[0]} tokens / overlap {baseline[1]}. Chosen default: minmax w=0.5, chunk-level, exact scores for all candidates, chunks 200/32.", "",
                      _report.table(["chunks", "setting", *sets, "worst-set gain"], table)])


if __name__ == "__main__":
    main()
