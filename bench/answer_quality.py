"""Answer quality of RAG on the embedded defaults, on questions users ask: is the answer useful,
cited, short enough to read, and does the assistant say so when the documents don't hold it?

Sets, each indexed into a temporary project:
- realdocs: questions over three real documentation trees (bench/realdocs: Poetry and HTTPX in
  English, self-llm-zh in Chinese) — how-tos, look-ups, troubleshooting and unanswerable ones,
  each with the key a useful answer must show; split dev (settings were chosen on it) and test;
- devset: the made-up company of bench/devset (single facts), on which earlier defaults were chosen;
- pennarth: the other made-up company (finetune/grounding), never used to choose a setting;
- squad: SQuAD 2.0 paragraphs (../shared/data/squad), answerable and unanswerable questions of
  the article the grounding adapter never saw;
- zh: the Chinese tech notes of bench/data/zh-tech, with their unanswerable questions.

Pipelines, every question of a set answered in `rag` mode through `Assistant.answer` (the call
behind `assistant ask`), warm, in the same run:
- before passages: chunks cut at blank lines, the answer the best sentence under its heading,
  5 candidates, min_relevance 0.4 (`[index] chunk_by = "paragraphs"`, `[grounding] answer =
  "sentence"`, `candidates = 5`, `min_relevance = 0.4`, `dense_share = 0.5`): the shipped
  pipeline before passages;
- passages, cosine 0.5: the passages pipeline as it was before `[grounding] dense_share` (0.5, an
  even blend of cosine and term overlap in a sentence's score);
- passages, no reader: the passages pipeline as it was before `[grounding] reader_share` (a
  question the embedder cannot read ranked by term overlap alone);
- passages: the defaults (chunks keep a lead-in with its block; the answer is the passage that
  answers: assistant/answering/passages.py and choice.py; dense_share 0.6; a Chinese question's
  best sentences read by multilingual-e5: index/multilingual.py).

Per set and pipeline: useful (the key, or a gold answer, is in the answer's text, with one of the
second part's keys for a question asking two things, and a right file is cited), the key in the
text alone, abstention on unanswerable questions, false abstention on answerable ones, the
answer's length in lines (p50, p90) and seconds to the whole answer (p50).
Answers are given with the relevance threshold at 0 and abstention applied afterwards, so one run
serves every threshold of the sweep; the main rows are read at the configured defaults.

    python -m bench.answer_quality                 # about 12 minutes on 2 cores
    BENCH_AQ_SETS=realdocs python -m bench.answer_quality
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from bench import _report

NAME = "answer_quality"
ROOT = Path(__file__).resolve().parents[1]
REALDOCS = ROOT / "bench" / "realdocs" / "questions.jsonl"
SQUAD_QUESTIONS = int(os.environ.get("BENCH_AQ_SQUAD", "20"))
SETS = os.environ.get("BENCH_AQ_SETS", "realdocs,devset,pennarth,squad,zh").split(",")
PIPELINES = {"before passages": ("paragraphs", {"answer": "sentence", "candidates": 5, "min_relevance": 0.4,
                                                "dense_share": 0.5, "reader_share": 0.0}),
             "passages, cosine 0.5": ("blocks", {"dense_share": 0.5, "reader_share": 0.0}),
             "passages, no reader": ("blocks", {"reader_share": 0.0}),
             "passages": ("blocks", {})}
"""name → ([index] chunk_by, [grounding] settings that differ from today's defaults)."""
THRESHOLDS = [t / 100 for t in range(20, 56, 5)]


class Question(NamedTuple):
    id: str
    text: str
    keys: tuple[str, ...]
    """A useful answer shows one of these; empty for an unanswerable question."""
    sources: tuple[str, ...]
    """Files (or records) a right citation names."""
    group: str
    """The row the question is reported in: 'realdocs en dev', 'devset', ..."""
    keys_also: tuple[str, ...] = ()
    """A question asking two things: a useful answer shows one of these too."""

    @property
    def answerable(self) -> bool:
        return bool(self.keys)


REALDOCS_CORPORA = ("poetry", "httpx", "self-llm-zh")


def realdocs_sets(docs: Path) -> dict[str, tuple[list[Path], list[Question]]]:
    """One collection per docs tree, its questions reported by language and split."""
    rows = [json.loads(line) for line in REALDOCS.read_text(encoding="utf-8").splitlines() if line.strip()]
    sets = {}
    for corpus in REALDOCS_CORPORA:
        questions = [Question(r["id"], r["question"], tuple(r["key"]), tuple(r["source"]),
                              f"realdocs {r['lang']} {r['split']}", tuple(r.get("key_also", ())))
                     for r in rows if r["corpus"] == corpus]
        sets[corpus] = ([docs / corpus], questions)
    return sets


def made_up_sets() -> dict[str, tuple[list[Path], list[Question]]]:
    from lm.questions import load_questions

    sets = {}
    for name, folder in (("devset", ROOT / "bench" / "devset"), ("pennarth", ROOT / "finetune" / "grounding")):
        questions = [Question(q.id, q.question, q.answers if q.answerable else (), (q.source,) if q.source else (), name)
                     for q in load_questions(folder / "questions.jsonl")]
        sets[name] = ([folder / "docs"], questions)
    return sets


def squad_set(project: Path, path: Path, per_kind: int) -> dict[str, tuple[list[Path], list[Question]]]:
    """`per_kind` answerable and unanswerable questions of the file's last article (held out from the
    grounding adapter), spread over it; the collection holds every article's paragraphs."""
    from core.files import write_jsonl
    from lm.questions import load_questions, load_squad

    data = load_squad(path)
    held_out = data.paragraphs[-1].title
    impossible = [q for q in load_questions(path, unanswerable=True) if not q.answerable and q.source == held_out]
    answerable = [q for q in data.pairs if q.source.startswith(f"{held_out}-p")]

    def spread(items):
        return items[:: max(1, len(items) // per_kind)][:per_kind]

    records = write_jsonl(project / "squad" / "paragraphs.jsonl", (p._asdict() for p in data.paragraphs))
    questions = [Question(q.id, q.question, q.answers, (q.source,), "squad") for q in spread(answerable)]
    questions += [Question(q.id, q.question, (), (), "squad") for q in spread(impossible)]
    return {"squad": ([records], questions)}


def zh_set() -> dict[str, tuple[list[Path], list[Question]]]:
    from bench.zh_testset import FOLDER, load_questions

    questions = [Question(q.id, q.text, (q.passage,), (q.file,), "zh") for q in load_questions()]
    unanswerable = [json.loads(line) for line in (FOLDER / "unanswerable.jsonl").read_text(encoding="utf-8").splitlines()
                    if line.strip()]
    questions += [Question(u["id"], u["question"], (), (), "zh") for u in unanswerable]
    return {"zh": ([FOLDER / "docs"], questions)}


def shows_keys(question: Question, text: str) -> bool:
    """Whether `text` shows a key of `question` (and one of its `keys_also`), case aside."""
    text = text.casefold()
    return question.answerable and all(any(k.casefold() in text for k in keys)
                                       for keys in (question.keys, question.keys_also) if keys)


def answer_row(helper, collection: str, question: Question, diagnose: bool = False) -> dict:
    """One answered question. `diagnose`: also whether the retrieved chunks hold its key, and
    whether a passage the choice compared showed it, for the misses table (the plan is made again
    after the answer is timed)."""
    from assistant.answering.choice import candidates
    from index.multilingual import MultilingualReader
    from lm.questions import source_matches

    MultilingualReader.forget()  # timed as the first question of a session: nothing read before
    began = time.perf_counter()
    answer = helper.answer(question.text, mode="rag", collection=collection)
    seconds = time.perf_counter() - began
    cited = [s.chunk for s in answer.cited]
    retrieved = offered = None
    if diagnose and question.answerable:
        plan = helper.plan(question.text, "rag", collection=collection)
        retrieved = shows_keys(question, "\n".join(f"{hit.chunk.heading()}\n{hit.chunk.text}" for hit in plan.hits))
        offered = any(shows_keys(question, f"{plan.hits[c.hit].chunk.heading()}\n{c.passage.text}") for c in candidates(
            plan.searched, plan.hits, plan.ranked, plan.scorer.terms, helper.neighbours(collection)))
    return {"id": question.id, "group": question.group, "answerable": question.answerable,
            "key_in_text": shows_keys(question, answer.text), "key_retrieved": retrieved, "key_offered": offered,
            "right_file": any(source_matches(c, s) for c in cited for s in question.sources),
            "abstained_anyway": answer.abstained, "relevance": answer.relevance,
            "reads": helper.retriever(collection).embedder_reads(question.text),
            "lines": len(answer.text.splitlines()), "seconds": seconds, "style": answer.style,
            "answer": answer.text}


def abstains(row: dict, min_relevance: float, min_term_relevance: float) -> bool:
    """Whether the answer of `row` abstains at these thresholds (names no document mentions abstain anyway)."""
    threshold = min_relevance if row["reads"] else min_term_relevance
    return row["abstained_anyway"] or (row["relevance"] is not None and row["relevance"] < threshold)


def useful(row: dict, min_relevance: float, min_term_relevance: float) -> bool:
    """Whether `row` answers usefully: its key shown, a right file cited, not abstaining."""
    return row["key_in_text"] and row["right_file"] and not abstains(row, min_relevance, min_term_relevance)


def score(rows: list[dict], min_relevance: float, min_term_relevance: float) -> dict:
    """The metrics of `rows` with abstention at these thresholds."""
    def abstains_here(r):
        return abstains(r, min_relevance, min_term_relevance)

    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in answerable if not abstains_here(r)]

    def share(items, test):
        return sum(map(test, items)) / len(items) if items else None

    return {"answerable": len(answerable), "unanswerable": len(unanswerable),
            "useful": share(answerable, lambda r: useful(r, min_relevance, min_term_relevance)),
            "key in text": share(answerable, lambda r: r["key_in_text"] and not abstains_here(r)),
            "abstention": share(unanswerable, abstains_here), "false abstention": share(answerable, abstains_here),
            "lines p50": _report.pct([r["lines"] for r in answered], 0.5),
            "lines p90": _report.pct([r["lines"] for r in answered], 0.9),
            "seconds p50": _report.pct([r["seconds"] for r in rows], 0.5)}


def main() -> None:
    from assistant.answering import Assistant
    from assistant.config import ChatConfig, Config
    from index.build import build_collection
    from index.config import IndexConfig
    from index.store import Collection

    defaults = Config().grounding
    rows: dict[str, list[dict]] = {name: [] for name in PIPELINES}
    index_seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
        project = Path(tmp)
        sets = {}
        if "realdocs" in SETS:
            sets |= realdocs_sets(_report.data_dir() / "docs")
        if {"devset", "pennarth"} & set(SETS):
            sets |= {k: v for k, v in made_up_sets().items() if k in SETS}
        squad_file = _report.data_dir() / "squad" / "dev-v2.0-first5.json"
        if "squad" in SETS and squad_file.is_file():
            sets |= squad_set(project, squad_file, SQUAD_QUESTIONS)
        if "zh" in SETS:
            sets |= zh_set()
        for pipeline, (chunk_by, grounding) in PIPELINES.items():
            config = Config(project_dir=project, chat=ChatConfig(mode="rag"))
            config.grounding = dataclasses.replace(config.grounding, **{**grounding, "min_relevance": 0.0,
                                                                        "min_term_relevance": 0.0})
            helper = Assistant(config)
            for name, (paths, questions) in sets.items():
                collection = f"{name}-{chunk_by}"
                if collection not in index_seconds:  # pipelines that differ in answering share the index
                    began = time.perf_counter()
                    build_collection(paths, Collection(project, collection), IndexConfig(chunk_by=chunk_by))
                    index_seconds[collection] = round(time.perf_counter() - began, 1)
                print(f"{pipeline}: {name} ({len(questions)} questions)", file=sys.stderr, flush=True)
                helper.answer(questions[0].text, mode="rag", collection=collection)  # opens the collection
                diagnose = pipeline == "passages" and name in REALDOCS_CORPORA
                rows[pipeline] += [answer_row(helper, collection, q, diagnose) for q in questions]
    groups = list(dict.fromkeys(r["group"] for r in rows["passages"]))
    threshold = {name: settings.get("min_relevance", defaults.min_relevance) for name, (_, settings) in PIPELINES.items()}
    results = {pipeline: {group: score([r for r in rows[pipeline] if r["group"] == group], threshold[pipeline],
                                       defaults.min_term_relevance) for group in groups} for pipeline in PIPELINES}
    sweep = {pipeline: {group: {str(t): score([r for r in rows[pipeline] if r["group"] == group], t,
                                              defaults.min_term_relevance) for t in THRESHOLDS}
                        for group in groups if group.startswith("realdocs en")} for pipeline in PIPELINES}
    payload = {"defaults": {"min_relevance": defaults.min_relevance, "min_term_relevance": defaults.min_term_relevance},
               "pipelines": {name: {"chunk_by": chunk_by, **settings} for name, (chunk_by, settings) in PIPELINES.items()},
               "index_seconds": index_seconds, "results": results, "sweep": sweep, "rows": rows}
    _report.write(NAME, payload, markdown(payload, groups))


COLUMNS = ("useful", "key in text", "abstention", "false abstention", "lines p50", "lines p90", "seconds p50")


def markdown(p: dict, groups: list[str]) -> str:
    d = p["defaults"]
    lines = ["# Answer quality: RAG on the embedded defaults (SmolLM2-135M-Instruct profile, MiniLM), CPU", "",
             f"Abstention below relevance {d['min_relevance']} (before passages: 0.4; {d['min_term_relevance']} for "
             "a question the embedder cannot read) and when the question names something no document mentions. "
             "Useful: the key "
             "(or a gold answer) is in the answer's text and a right file is cited, over answerable questions "
             "(an abstention counts as not useful). Lines: of the answers given to answerable questions. Seconds: "
             "to the whole answer, warm, every question as the first of a session (the reader's kept vectors "
             "dropped before it).", ""]
    for group in groups:
        first = p["results"]["passages"][group]
        lines += [f"## {group}: {first['answerable']} answerable, {first['unanswerable']} unanswerable", "",
                  _report.table(["pipeline", *COLUMNS],
                                [[name, *[p["results"][name][group][c] for c in COLUMNS]] for name in p["results"]]), ""]
    lines += _misses(p["rows"]["passages"], p["defaults"])
    for pipeline, per_group in p["sweep"].items():
        for group, steps in per_group.items():
            lines += [f"Relevance threshold sweep, {pipeline}, {group}:", "",
                      _report.table(["min_relevance", "useful", "abstention", "false abstention"],
                                    [[t, v["useful"], v["abstention"], v["false abstention"]] for t, v in steps.items()]),
                      ""]
    return "\n".join(lines)


def _misses(rows: list[dict], defaults: dict) -> list[str]:
    """Where each real-docs question the passages pipeline did not answer usefully lost its key:
    it abstained; the retrieved chunks did not hold the key (retrieval); they held it, but no
    passage the choice compared showed it (the sentences ranked, the passages made); one did, and
    another was chosen (the choice's scores); or it was shown from no right file."""
    def abstained(r):
        return abstains(r, defaults["min_relevance"], defaults["min_term_relevance"])

    causes = {"abstained": abstained, "key not retrieved": lambda r: not r["key_in_text"] and not r["key_retrieved"],
              "retrieved, in no passage compared": lambda r: not r["key_in_text"] and not r["key_offered"],
              "in a passage compared, not chosen": lambda r: not r["key_in_text"],
              "shown, no right file cited": lambda r: True}
    table = []
    for group in dict.fromkeys(r["group"] for r in rows if r.get("key_retrieved") is not None):
        misses = [r for r in rows if r["group"] == group and r["answerable"]
                  and not useful(r, defaults["min_relevance"], defaults["min_term_relevance"])]
        by_cause = {cause: [] for cause in causes}
        for r in misses:
            by_cause[next(cause for cause, test in causes.items() if test(r))].append(r["id"])
        table.append([group, len(misses), *[f"{len(ids)} ({' '.join(ids)})" if ids else "0" for ids in by_cause.values()]])
    if not table:
        return []
    return ["Where the passages pipeline's real-docs misses lost the key (first cause that applies):", "",
            _report.table(["group", "misses", *causes], table), ""]


if __name__ == "__main__":
    main()
