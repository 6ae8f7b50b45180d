"""Grounded answers to Chinese questions: how sentences are scored when the embedder cannot read
the question, and the relevance threshold below which the assistant says the documents don't
hold the answer.

The default embedder (all-MiniLM-L6-v2) knows English only and maps most Chinese characters to
its unknown token; its cosine between two such texts says little. Hybrid search already leaves
the dense ranking out for such a query (index/readable.py). Two ways of scoring sentences:

- blend (before): cosine and term overlap, half each, as for English;
- terms alone: term overlap only when the embedder cannot read the question;
- terms and the reader (default): term overlap, and the best sentences read by multilingual-e5
  (index/multilingual.py, `[grounding] reader_share`); relevance is still the term overlap.

Every question of bench/data/zh-tech is answered with the shipped `rag` defaults (the embedded
model extracts the best sentence), with abstention turned off so that every threshold can be
applied afterwards. An answer is right when its sentence lies in the expected passage. The
30 unanswerable questions (unanswerable.jsonl: near misses on the same tools, and off-topic ones)
should be abstained on. A threshold is chosen on the `plain` questions (the highest with at most
10 % false abstention) and checked on the `reworded` and unanswerable ones.

    python -m bench.zh_answers
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from pathlib import Path

from bench import _report
from bench.zh_testset import FOLDER, expected_passage, load_passages, load_questions

NAME = "zh_answers"
THRESHOLDS = (0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
FALSE_ABSTENTION_LIMIT = 0.10


def _plain(text: str) -> str:
    return re.sub(r"[\s`*_]", "", text)


def answer_rows(helper, questions, passages, unanswerable) -> dict:
    """Per question: relevance (-1 when abstained whatever the threshold: a name no document
    mentions) and, for answerable ones, whether the extracted sentence is from the expected passage."""
    rows = {"plain": [], "reworded": [], "unanswerable": []}
    for q in questions:
        answer = helper.answer(q.text, mode="rag", collection="zh")
        expected = _plain(expected_passage(q, passages).text)
        right = any(_plain(e.sentence.text)[:20] in expected for e in answer.evidence)
        rows[q.style].append({"id": q.id, "relevance": -1.0 if answer.abstained else answer.relevance, "right": right})
    for q in unanswerable:
        answer = helper.answer(q["question"], mode="rag", collection="zh")
        rows["unanswerable"].append({"id": q["id"], "relevance": -1.0 if answer.abstained else answer.relevance})
    return rows


def at(rows: dict, threshold: float) -> dict:
    out = {}
    for style in ("plain", "reworded"):
        kept = [r for r in rows[style] if r["relevance"] >= threshold]
        out[f"{style} right"] = sum(r["right"] for r in kept) / len(rows[style])
        out[f"{style} false abstention"] = 1 - len(kept) / len(rows[style])
    declined = [r["relevance"] < threshold for r in rows["unanswerable"]]
    out["unanswerable abstained"] = sum(declined) / len(declined)
    return out


def main() -> dict:
    from assistant.answering import grounding
    from assistant.answering import Assistant
    from assistant.config import ChatConfig, Config
    from index.build import build_collection
    from index.store import Collection

    passages, questions = load_passages(), load_questions()
    with open(FOLDER / "unanswerable.jsonl", encoding="utf-8") as handle:
        unanswerable = [json.loads(line) for line in handle if line.strip()]
    # name → (the cosine's share for a question, [grounding] reader_share)
    scorings = {"blend (before)": (lambda scorer, text: scorer.dense_share, 0.0),
                "terms alone when unreadable": (grounding.SentenceScorer.share_for, 0.0),
                "terms and the reader when unreadable (default)": (grounding.SentenceScorer.share_for,
                                                                   Config().grounding.reader_share)}
    shipped = Config().grounding
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-zh-answers-") as tmp:
        project = Path(tmp)
        build_collection([FOLDER / "docs"], Collection(project, "zh"))
        config = Config(project_dir=project, chat=ChatConfig(mode="rag"))
        helper = Assistant(config)
        original = grounding.SentenceScorer.share_for
        try:
            for name, (share_for, reader_share) in scorings.items():
                grounding.SentenceScorer.share_for = share_for  # the scoring under test, for every answer
                helper = helper.using(dataclasses.replace(config, grounding=dataclasses.replace(
                    config.grounding, min_relevance=0.0, min_term_relevance=0.0, reader_share=reader_share)))
                rows = answer_rows(helper, questions, passages, unanswerable)
                sweep = {t: at(rows, t) for t in THRESHOLDS}
                chosen = max(t for t, v in sweep.items() if v["plain false abstention"] <= FALSE_ABSTENTION_LIMIT)
                results[name] = {"rows": rows, "sweep": sweep, "chosen": chosen}
                print(name, "chosen", chosen, sweep[chosen], flush=True)
        finally:
            grounding.SentenceScorer.share_for = original
    before = results["blend (before)"]
    payload = {
        "questions": {s: len(v) for s, v in next(iter(results.values()))["rows"].items()},
        "shipped": {"min_relevance": shipped.min_relevance, "min_term_relevance": shipped.min_term_relevance},
        "before_at_its_default": at(before["rows"], shipped.min_relevance),
        "results": {name: {"chosen": r["chosen"], "sweep": {str(t): v for t, v in r["sweep"].items()},
                           "rows": r["rows"]} for name, r in results.items()},
    }
    _report.write(NAME, payload, markdown(payload))
    return payload


COLUMNS = ("plain right", "plain false abstention", "reworded right", "reworded false abstention",
           "unanswerable abstained")


def markdown(p: dict) -> str:
    n = p["questions"]
    lines = [
        "## Grounded answers to Chinese questions (bench/data/zh-tech, embedded models)", "",
        f"{n['plain']} plain and {n['reworded']} reworded answerable questions, {n['unanswerable']} unanswerable. "
        "Right: the extracted sentence is from the expected passage (over all answerable questions of that "
        "style). A threshold is chosen on the plain questions: the highest with false abstention ≤ 10 %.", "",
    ]
    shipped = p["shipped"]
    summary = [["blend (before), at min_relevance " + _report.cell(shipped["min_relevance"]),
                *[p["before_at_its_default"][c] for c in COLUMNS]]]
    for name, r in p["results"].items():
        summary.append([f"{name}, chosen threshold {r['chosen']}", *[r["sweep"][str(r["chosen"])][c] for c in COLUMNS]])
    lines += [_report.table(["scoring", *COLUMNS], summary), "",
              f"Shipped: min_relevance {shipped['min_relevance']} (questions the embedder reads), "
              f"min_term_relevance {shipped['min_term_relevance']} (questions it cannot read).", ""]
    for name, r in p["results"].items():
        sweep = [[t, *[v[c] for c in COLUMNS]] for t, v in r["sweep"].items()]
        lines += [f"### {name}: threshold sweep", "", _report.table(["threshold", *COLUMNS], sweep), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
