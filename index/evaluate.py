"""Retrieval quality on a BEIR-format folder: nDCG@10, Recall@100, MRR@10 and hit@5 per mode.

A BEIR folder holds corpus.jsonl (`_id`, `title`, `text`), queries.jsonl (`_id`, `text`)
and qrels/<split>.tsv (query-id, corpus-id, score). The corpus is indexed as an ordinary
collection (one document per record, chunked like any other); a document's rank is the rank
of its best chunk.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .loaders import LoaderOptions
from core.errors import UserError
from .config import RetrievalConfig

BEIR_LOADER = LoaderOptions(text_field="text", title_field="title", id_field="_id")


class BeirError(UserError):
    pass


@dataclass(frozen=True)
class BeirSet:
    name: str
    corpus: Path
    queries: dict[str, str]  # query id → text (only queries that have judgements)
    qrels: dict[str, dict[str, int]]  # query id → {doc id: relevance}


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise BeirError(f"{path}: line {number}: invalid JSON ({err.msg})") from err
    return rows


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    corpus, queries_path, qrels_path = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for path in (corpus, queries_path, qrels_path):
        if not path.is_file():
            raise BeirError(f"{path}: missing; a BEIR folder needs corpus.jsonl, queries.jsonl, qrels/{split}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if number == 1 and fields[0] in ("query-id", "query_id", "qid"):
                continue
            if len(fields) < 3:
                raise BeirError(f"{qrels_path}: line {number}: expected query-id<TAB>corpus-id<TAB>score")
            qrels.setdefault(fields[0], {})[fields[1]] = int(float(fields[2]))
    queries = {str(q["_id"]): q["text"] for q in _read_jsonl(queries_path) if str(q["_id"]) in qrels}
    return BeirSet(folder.name, corpus, queries, {q: qrels[q] for q in queries})


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain with linear gains (as pytrec_eval / BEIR)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((r for r in relevant.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def hit_at(ranked: list[str], relevant: dict[str, int], k: int = 5) -> float:
    """1.0 when a relevant document is among the first k, else 0.0."""
    return 1.0 if any(relevant.get(doc, 0) > 0 for doc in ranked[:k]) else 0.0


def documents_in_order(locators: list[str]) -> list[str]:
    """Chunk locators best-first → document ids best-first (a document ranks at its best chunk)."""
    seen: dict[str, None] = {}
    for locator in locators:
        seen.setdefault(locator, None)
    return list(seen)


def score_runs(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """{query id: ranked doc ids} → mean nDCG@10, Recall@100, MRR@10, hit@5 over the judged queries."""
    n = len(qrels)
    return {
        "ndcg@10": sum(ndcg_at(runs.get(q, []), rel) for q, rel in qrels.items()) / n,
        "recall@100": sum(recall_at(runs.get(q, []), rel) for q, rel in qrels.items()) / n,
        "mrr@10": sum(mrr_at(runs.get(q, []), rel) for q, rel in qrels.items()) / n,
        "hit@5": sum(hit_at(runs.get(q, []), rel) for q, rel in qrels.items()) / n,
    }


def evaluate_retriever(retriever, beir: BeirSet, modes=("bm25", "dense", "hybrid"), config=None) -> dict:
    """{mode: {"ndcg@10": …, "recall@100": …, "mrr@10": …, "hit@5": …}} for an opened collection of beir's corpus."""
    base = config or RetrievalConfig()
    results = {}
    for mode in modes:
        settings = RetrievalConfig(**{**base.__dict__, "mode": mode, "k": 200, "candidates": max(base.candidates, 200)})
        runs = {}
        for qid, text in beir.queries.items():
            hits = retriever.search(text, settings)
            runs[qid] = documents_in_order([h.chunk.locator for h in hits])[:100]
        results[mode] = score_runs(runs, beir.qrels)
    return results
