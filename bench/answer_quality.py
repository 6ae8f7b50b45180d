"""Answer quality of RAG on the embedded model: right answers, right citations, abstention.

Three question sets, each against its own collection built in a temporary project:
- devset: the made-up company documents in bench/devset (answerable and unanswerable questions),
  on which the defaults were chosen;
- pennarth: the other made-up company in finetune/grounding, never used to choose a setting (it
  trained the grounding adapter, so the adapter is not run on it): a check that the defaults were
  not tuned to the devset;
- squad: SQuAD 2.0 paragraphs from ../shared/data/squad, answerable questions and the
  `is_impossible` ones of the article the adapter never saw (SQUAD_QUESTIONS per kind).

Pipelines, every one answering every question of a set in `rag` mode through `Assistant.answer`
(the call behind `assistant ask`), warm, greedy unless named otherwise:
- today: grounding off, which is the pipeline as it shipped before grounding (whole chunks, the
  long rules, citations as written or matched by content, no abstention);
- grounded: the shipped small-model defaults (the answer is the best sentence under its heading);
- how the answer is written, each on the same retrieval, excerpts and abstention: the model copies
  a stretch of that sentence (quote), or writes the answer itself with the copy bias (generate),
  with and without the shipped grounding adapter;
- on the devset only, the prompt and decoding variants of `generate`.
Grounded pipelines are run with the relevance threshold at 0 and the threshold applied afterwards:
an answer above it is the same answer either way, so one run serves every threshold of the sweep,
and the main rows are read at the configured default.

Per pipeline: accuracy (a gold answer contained in the reply) and token F1 on answerable
questions, citation correct (every cited source is the gold document, of the answered answerable
ones), abstention on unanswerable, false abstention on answerable, supported share, time to
first token end to end (p50 over the answers written) and decode tokens/s.

    python -m bench.answer_quality              # everything (about 40 minutes on 2 cores)
    BENCH_AQ_VARIANTS=0 python -m bench.answer_quality   # without the prompt variants
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import _report

NAME = "answer_quality"
ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "bench" / "devset"
HELD_OUT = ROOT / "finetune" / "grounding"
SQUAD_QUESTIONS = int(os.environ.get("BENCH_AQ_SQUAD", "20"))
RUN_VARIANTS = os.environ.get("BENCH_AQ_VARIANTS", "1") != "0"
LIMIT = int(os.environ.get("BENCH_AQ_LIMIT", "0"))  # questions per set, for a quick look; 0: all
MAX_NEW_TOKENS = 48
FALSE_ABSTENTION_LIMIT = 0.10
SHIPPED = "grounded"

# name → (grounding overrides, chat overrides, generation overrides)
PIPELINES = {
    "today": ({"enabled": False}, {}, {}),
    SHIPPED: ({}, {}, {}),
    "quote: the model copies a stretch": ({"answer": "quote"}, {}, {}),
    "generate: the model writes": ({"answer": "generate"}, {}, {}),
    "generate + grounding adapter": ({"answer": "generate", "adapter": True}, {}, {}),
}
ADAPTER_PIPELINES = {"generate + grounding adapter"}
# Prompt and decoding variants of `generate`, each one change away from its prompt (2 unnamed
# sentences, short rules, copy bias 6), all without the adapter (they compare prompts, not training).
GENERATE = {"answer": "generate"}
VARIANTS = {
    "generate · no copy bias": ({**GENERATE, "copy_bias": 0.0}, {}, {}),
    "generate · long rules": ({**GENERATE, "style": "long"}, {}, {}),
    "generate · question first": ({**GENERATE, "style": "short-question-first"}, {}, {}),
    "generate · worked example": ({**GENERATE, "style": "short-example"}, {}, {}),
    "generate · 4 sentences": ({**GENERATE, "sentences": 4}, {}, {}),
    "generate · sampled (T 0.7)": (GENERATE, {}, {"temperature": 0.7}),
}
VARIANT_EVERY = int(os.environ.get("BENCH_AQ_VARIANT_EVERY", "3"))
"""Variants answer every n-th devset question (answerable and not), to fit the run in ~40 minutes."""
TODAY_EVERY = int(os.environ.get("BENCH_AQ_TODAY_EVERY", "2"))
"""`today` answers every n-th question of the made-up sets: its 600-token prompts are slow here."""


def squad_questions(path: Path, per_kind: int):
    """`per_kind` answerable and `per_kind` unanswerable questions of the file's last article (held
    out from the grounding adapter's training), spread over it (every n-th); the collection holds
    the paragraphs of every article, so the others are distractors."""
    from lm.questions import load_squad
    from lm.questions import load_questions

    data = load_squad(path)
    held_out = data.paragraphs[-1].title  # the article the grounding adapter never saw
    every = load_questions(path, unanswerable=True)
    impossible = [q for q in every if not q.answerable and q.source == held_out]
    answerable = [q for q in data.pairs if q.source.startswith(f"{held_out}-p")]

    def spread(items):
        step = max(1, len(items) // per_kind)
        return items[::step][:per_kind]

    return data.paragraphs, spread(answerable) + spread(impossible)


def build_sets(project: Path):
    """{set name: (collection, questions)}, collections indexed into `project`."""
    from assistant.config import Config
    from assistant.evaluation.experiment import index_paragraphs
    from core.files import write_jsonl
    from lm.questions import load_questions
    from index.build import build_collection
    from index.store import Collection

    sets = {}
    for name, folder in (("devset", DEVSET), ("pennarth", HELD_OUT)):
        build_collection([folder / "docs"], Collection(project, name))
        sets[name] = (name, list(load_questions(folder / "questions.jsonl"))[: LIMIT or None])
    squad_file = _report.data_dir() / "squad" / "dev-v2.0-first5.json"
    if squad_file.is_file() and SQUAD_QUESTIONS:
        paragraphs, questions = squad_questions(squad_file, SQUAD_QUESTIONS)
        records = write_jsonl(project / "paragraphs.jsonl", (p._asdict() for p in paragraphs))
        index_paragraphs(records, project, "squad", Config(project_dir=project))
        sets["squad"] = ("squad", questions[: LIMIT or None] if not LIMIT else questions[:LIMIT // 2] + questions[-LIMIT // 2:])
    return sets


def configure(base, grounding: dict, chat: dict, generation: dict):
    grounded = {"min_relevance": 0.0, **grounding} if grounding.get("enabled", True) else grounding
    return dataclasses.replace(
        base, grounding=dataclasses.replace(base.grounding, **grounded),
        chat=dataclasses.replace(base.chat, **chat), generation=dataclasses.replace(base.generation, **generation))


def answer_all(helper, collection: str, questions) -> list[dict]:
    """One record per question: what the pipeline said and what that scores."""
    from assistant.answering.grounding import says_not_found
    from assistant.evaluation.metrics import contains_answer, token_f1
    from lm.questions import source_matches

    rows = []
    for pair in questions:
        answer = helper.answer(pair.question, mode="rag", collection=collection)
        cited = [s.chunk for s in answer.cited]
        row = {"id": pair.id, "answerable": pair.answerable, "answer": answer.text,
               "model_abstained": answer.abstained or says_not_found(answer.text), "relevance": answer.relevance, "supported": answer.supported,
               "cited": [c.source for c in cited], "ttft": answer.retrieval_seconds + answer.generation.first_token_seconds,
               "tokens_per_second": answer.generation.tokens_per_second, "new_tokens": answer.generation.new_tokens}
        if pair.answerable:
            row["contained"] = contains_answer(answer.text, pair.answers)
            row["f1"] = token_f1(answer.text, pair.answers)
            row["citation_correct"] = bool(cited) and all(source_matches(c, pair.source) for c in cited)
        rows.append(row)
    return rows


def score(rows: list[dict], threshold: float) -> dict:
    """The metrics of `rows` with questions below `threshold` relevance abstained before generation."""
    def abstains(row):
        return row["model_abstained"] or (row["relevance"] is not None and row["relevance"] < threshold)

    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in answerable if not abstains(r)]
    generated = [r for r in rows if not abstains(r) or (r["model_abstained"] and r["new_tokens"])]

    def share(items, test):
        return sum(map(test, items)) / len(items) if items else None

    judged = [r for r in rows if not abstains(r) and r["supported"] is not None]
    return {
        "answerable": len(answerable), "unanswerable": len(unanswerable),
        "accuracy": share(answerable, lambda r: r["contained"] and not abstains(r)),
        "f1": share(answerable, lambda r: 0.0 if abstains(r) else r["f1"]),
        "citation_correct": share(answered, lambda r: r["citation_correct"]),
        "abstention": share(unanswerable, abstains),
        "false_abstention": share(answerable, abstains),
        "supported": share(judged, lambda r: r["supported"]),
        "ttft_p50": _report.pct([r["ttft"] for r in generated], 0.5),
        "tokens_per_second": statistics.mean(decoded) if (decoded := [r["tokens_per_second"] for r in generated
                                                                       if r["new_tokens"] > 1]) else None,
    }


def best_threshold(rows: list[dict], limit: float = FALSE_ABSTENTION_LIMIT) -> float:
    """The highest relevance threshold whose false abstention stays within `limit` (on a 0.01 grid)."""
    chosen = 0.0
    for step in range(0, 100):
        threshold = step / 100
        if score(rows, threshold)["false_abstention"] <= limit:
            chosen = threshold
    return chosen


def runs(set_name: str) -> dict:
    """The pipelines run on a set, with every n-th question each one answers."""
    chosen = {}
    for name, settings in {**PIPELINES, **(VARIANTS if RUN_VARIANTS and set_name == "devset" else {})}.items():
        if set_name == "pennarth" and name in ADAPTER_PIPELINES:
            continue  # the adapter was trained on this set
        every = VARIANT_EVERY if name in VARIANTS else TODAY_EVERY if name == "today" and set_name != "squad" else 1
        chosen[name] = (settings, every)
    return chosen


def main() -> None:
    from assistant.answering import Assistant
    from assistant.config import ChatConfig, Config, GenerationConfig

    results, records = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        began = time.perf_counter()
        sets = build_sets(project)
        index_seconds = time.perf_counter() - began
        base = Config(project_dir=project, chat=ChatConfig(mode="rag"),
                      generation=GenerationConfig(max_new_tokens=MAX_NEW_TOKENS))
        default_threshold = base.grounding.min_relevance
        helper = Assistant(base)
        helper.answer("warm-up question?", mode="rag", collection="devset")  # load the models, once
        for set_name, (collection, questions) in sets.items():
            for name, ((grounding, chat, generation), every) in runs(set_name).items():
                asked = questions[::every]
                helper.config = configure(base, grounding, chat, generation)
                print(f"{set_name}: {name} ({len(asked)} questions)", file=sys.stderr, flush=True)
                rows = answer_all(helper, collection, asked)
                records[(set_name, name)] = rows
                threshold = default_threshold if grounding.get("enabled", True) else 0.0
                results[(set_name, name)] = {"threshold": threshold, **score(rows, threshold)}

    swept = (SHIPPED, "generate: the model writes")
    sweep = {s: {p: [{"threshold": t / 100, **score(records[(s, p)], t / 100)} for t in range(20, 71, 5)]
                 for p in swept} for s in sets}
    measured = {s: {p: best_threshold(records[(s, p)]) for p in swept} for s in sets}
    payload = {
        "model": base.model.name, "max_new_tokens": MAX_NEW_TOKENS, "index_seconds": round(index_seconds, 1),
        "default_threshold": default_threshold, "measured_threshold": measured,
        "results": [{"set": s, "pipeline": p, **v} for (s, p), v in results.items()],
        "sweep": sweep, "rows": {f"{s}/{p}": rows for (s, p), rows in records.items()},
    }
    _report.write(NAME, payload, markdown(results, records, sweep, measured, default_threshold, sets))


HEADERS = ["pipeline", "accuracy", "F1", "citation correct", "abstention", "false abstention", "supported",
           "TTFT p50 (s)", "tokens/s"]


def _row(name, values):
    return [name, values["accuracy"], values["f1"], values["citation_correct"], values["abstention"],
            values["false_abstention"], values["supported"], values["ttft_p50"], values["tokens_per_second"]]


def markdown(results, records, sweep, measured, default_threshold, sets) -> str:
    parts = ["# Answer quality: RAG on the embedded model (SmolLM2-135M-Instruct, CPU)", "",
             f"Greedy unless named, at most {MAX_NEW_TOKENS} new tokens, abstention below relevance "
             f"{default_threshold} and when the question names something no document mentions. `today`: grounding "
             "off (the pipeline before grounding: 3 whole chunks, long rules, no abstention). `grounded`: the "
             "shipped small-model defaults: the 2 best sentences from up to 3 sources, and the answer is the "
             "best one quoted under its heading. `quote`: the model copies a stretch of that sentence, "
             "token for token, and picks where it starts and stops. `generate`: the model writes the answer "
             "from the 2 sentences with short rules and a copy bias of 6 (the default before this table). "
             "Accuracy: a gold answer contained in the reply, over answerable questions (an abstention counts "
             "wrong). Citation correct: every cited source is the gold document, over answered answerable "
             "questions. Abstention: share of unanswerable questions answered with 'not found' (by retrieval "
             "or by the model); false abstention: the same over answerable ones. Supported: answers whose every "
             "claim a source sentence backs. TTFT: end to end, retrieval included, p50 over the answers written "
             "(`grounded` writes no token: its TTFT is the time to its whole answer).", ""]
    for set_name, (_, questions) in sets.items():
        answerable = sum(q.answerable for q in questions)
        parts += [f"## {set_name}: {answerable} answerable, {len(questions) - answerable} unanswerable", ""]
        if set_name == "pennarth":
            parts += ["Never used to choose a setting: a check that the defaults were not tuned to the devset. "
                      "The grounding adapter was trained on it, so it is not run here.", ""]
        main = [name for (s, name) in results if s == set_name and name in PIPELINES]
        today_ids = {r["id"] for r in records[(set_name, "today")]}
        if len(today_ids) < len(questions):  # today ran on a subset: the others on the same questions too
            same = [_row(f"{name} (same {len(today_ids)})" if name != "today" else f"today ({len(today_ids)})",
                         score([r for r in records[(set_name, name)] if r["id"] in today_ids],
                               results[(set_name, name)]["threshold"])) for name in main]
            parts += [f"Every {TODAY_EVERY}nd question, beside `today`:", "", _report.table(HEADERS, same), "",
                      "All questions:", ""]
            main = [name for name in main if name != "today"]
        parts += [_report.table(HEADERS, [_row(name, results[(set_name, name)]) for name in main]), ""]
        variants = [name for (s, name) in results if s == set_name and name in VARIANTS]
        if variants:
            subset = {q.id for q in questions[::VARIANT_EVERY]}
            reference = "generate: the model writes"
            rows = [r for r in records[(set_name, reference)] if r["id"] in subset]
            table = [_row(f"{reference} (same questions)", score(rows, results[(set_name, reference)]["threshold"]))]
            table += [_row(name, results[(set_name, name)]) for name in variants]
            parts += [f"Prompt and decoding variants of `generate`, on every {VARIANT_EVERY}rd question "
                      f"({len(subset)}), each one change from it:", "", _report.table(HEADERS, table), ""]
        for pipeline, steps in sweep[set_name].items():
            parts += [f"Relevance threshold sweep of `{pipeline}` (the highest with false abstention ≤ "
                      f"{FALSE_ABSTENTION_LIMIT:.0%}: {measured[set_name][pipeline]:.2f}):", ""]
            parts += [_report.table(["threshold", "accuracy", "abstention", "false abstention", "citation correct"],
                                    [[v["threshold"], v["accuracy"], v["abstention"], v["false_abstention"],
                                      v["citation_correct"]] for v in steps]), ""]
    return "\n".join(parts)


if __name__ == "__main__":
    main()
