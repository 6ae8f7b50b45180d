"""Conversations that keep their thread: are follow-up questions answered about what was being
discussed, and does a new question start afresh?

The set (bench/conversations, see its README): conversations of 3-5 turns over documents with
look-alike sections (four product manuals, one company's travel policy per office, three major
versions of a CLI, three Chinese product manuals) and over two real docs trees (Poetry, HTTPX).
Every turn is labelled: first, self-contained, follow-up (pronoun or ellipsis), entity switch
("what about the K3?") or topic switch (a new question that must not inherit the old subject).

Methods of `[chat] follow_ups` (index/followups.py), every conversation asked turn by turn through
`Chat.ask` (what `assistant chat` and the TUI call), warm, in the same run:
- off: each question searched as typed (the pipeline before follow-ups);
- previous: the previous question joined to each later one (what many chat front ends do);
- rules: a question pointing back made self-contained from the earlier ones (the default);
- fused: the rules' question, its chunks fused (RRF) with those of the question as typed;
- model: the rules find a question that points back, the embedded model (SmolLM2-135M) rewrites it.

Per turn kind: right (the key is in the answer's text and a right file is cited, not abstained),
false carry-over (an answerable topic switch answered from an earlier turn's file that is not a
right one),
rewritten (the searched question is not the typed one), abstention (turns the documents do not
answer), seconds per turn (p50; each conversation starts with nothing read before it), and the
time making the searched question takes (p50, ms).

    python -m bench.conversation_quality            # about 3 minutes on 2 cores
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import _report

NAME = "conversation_quality"
ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "bench" / "conversations"
METHODS = os.environ.get("BENCH_CQ_METHODS", "off,previous,rules,fused,model").split(",")
KINDS = ("first", "self-contained", "follow-up", "entity-switch", "topic-switch")
REAL_SETS = ("poetry", "httpx")


def load_conversations() -> list[dict]:
    return [json.loads(line) for line in (FOLDER / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


def docs_of(name: str) -> Path:
    return _report.data_dir() / "docs" / name if name in REAL_SETS else FOLDER / "docs" / name


def turn_rows(chat, conversation: dict) -> list[dict]:
    """Ask the conversation turn by turn; one row per turn."""
    from index.multilingual import MultilingualReader
    from lm.questions import source_matches

    chat.reset()
    MultilingualReader.forget()  # a new chat: the reader has kept nothing from the last one
    rows, earlier_sources = [], []
    for n, turn in enumerate(conversation["turns"]):
        began = time.perf_counter()
        chat.searched(turn["question"])  # the rewrite alone (kept: ask reuses it, as `assistant chat` does)
        rewrite_ms = (time.perf_counter() - began) * 1000
        answer = chat.ask(turn["question"])
        seconds = time.perf_counter() - began
        cited = [s.chunk for s in answer.cited]
        text = " ".join(answer.text.casefold().split())  # a key may wrap over a line of the passage
        answerable = not turn.get("unanswerable")
        right_file = any(source_matches(c, s) for c in cited for s in turn["source"])
        stale = [c for c in cited if any(source_matches(c, s) for s in earlier_sources)
                 and not any(source_matches(c, s) for s in turn["source"])]
        rows.append({"conversation": conversation["id"], "turn": n, "set": conversation["set"],
                     "lang": conversation["lang"], "split": conversation["split"],
                     "kind": "first" if n == 0 else turn["kind"], "answerable": answerable,
                     "right": answerable and not answer.abstained and right_file
                     and any(" ".join(k.casefold().split()) in text for k in turn["key"]),
                     "abstained": answer.abstained, "carried_over": bool(stale) and not right_file,
                     "rewritten": answer.searched is not None, "searched": answer.searched or turn["question"], "question": turn["question"],
                     "seconds": seconds, "rewrite_ms": rewrite_ms, "answer": answer.text[:300],
                     "cited": [c.source for c in cited]})
        earlier_sources += turn["source"]
    return rows


def score(rows: list[dict]) -> dict:
    def share(items, test):
        return sum(map(test, items)) / len(items) if items else None

    out = {}
    for kind in KINDS:
        answerable = [r for r in rows if r["kind"] == kind and r["answerable"]]
        out[kind] = share(answerable, lambda r: r["right"])
        out[f"{kind} n"] = len(answerable)
    follow = [r for r in rows if r["kind"] in ("follow-up", "entity-switch") and r["answerable"]]
    switches = [r for r in rows if r["kind"] == "topic-switch" and r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out |= {"follow-ups": share(follow, lambda r: r["right"]), "follow-ups n": len(follow),
            "false carry-over": share(switches, lambda r: r["carried_over"]),
            "topic switch rewritten": share(switches, lambda r: r["rewritten"]),
            "abstention": share(unanswerable, lambda r: r["abstained"]), "unanswerable n": len(unanswerable),
            "seconds p50": _report.pct([r["seconds"] for r in rows], 0.5),
            "rewrite ms p50": _report.pct([r["rewrite_ms"] for r in rows], 0.5),
            "rewrite ms p90": _report.pct([r["rewrite_ms"] for r in rows], 0.9)}
    return out


GROUPS = {"English, dev": lambda r: r["lang"] == "en" and r["split"] == "dev",
          "English, test": lambda r: r["lang"] == "en" and r["split"] == "test",
          "Chinese, dev": lambda r: r["lang"] == "zh" and r["split"] == "dev",
          "Chinese, test": lambda r: r["lang"] == "zh" and r["split"] == "test",
          "real docs (Poetry, HTTPX), dev": lambda r: r["set"] in REAL_SETS and r["split"] == "dev",
          "real docs (Poetry, HTTPX), test": lambda r: r["set"] in REAL_SETS and r["split"] == "test"}
"""English holds the real docs' conversations too; they are also shown apart."""


def main() -> None:
    from assistant.answering import Assistant, Chat
    from assistant.config import ChatConfig, Config
    from index.build import build_collection
    from index.store import Collection

    conversations = load_conversations()
    sets = sorted({c["set"] for c in conversations})
    rows: dict[str, list[dict]] = {method: [] for method in METHODS}
    with tempfile.TemporaryDirectory(prefix="bench-conversations-") as tmp:
        project = Path(tmp)
        for name in sets:
            build_collection([docs_of(name)], Collection(project, name))
        for method in METHODS:
            helper = Assistant(Config(project_dir=project, chat=ChatConfig(mode="rag", follow_ups=method)))
            chat = Chat(helper, mode="rag")
            if method == "model":
                helper.model(None)  # loaded before the clock starts, as in a running chat
            for name in sets:
                chat.collection = name
                chat.ask("warm up")  # opens the collection
            for n, conversation in enumerate(conversations, 1):
                chat.collection = conversation["set"]
                rows[method] += turn_rows(chat, conversation)
                print(f"\r{method}: {n}/{len(conversations)} conversations", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
    results = {method: {group: score([r for r in rows[method] if test(r)]) for group, test in GROUPS.items()}
               for method in METHODS}
    config = Config().grounding
    payload = {"methods": METHODS, "defaults": dataclasses.asdict(config), "results": results, "rows": rows,
               "load": os.getloadavg()}
    _report.write(NAME, payload, markdown(payload))


COLUMNS = ("first", "follow-up", "entity-switch", "follow-ups", "self-contained", "topic-switch",
           "false carry-over", "abstention", "seconds p50", "rewrite ms p50")


def markdown(p: dict) -> str:
    lines = ["# Conversation quality: follow-up questions on the embedded defaults, CPU", "",
             "Each conversation asked turn by turn through `Chat.ask` (what `assistant chat` calls), warm. "
             "A turn is right when its key is in the answer's text and a right file is cited. Follow-ups: "
             "the follow-up and entity-switch turns together. False carry-over: topic switches answered "
             "(answerable ones) from an earlier turn's file that is not a right one. Abstention: of the turns the documents "
             "do not answer. Rewrite ms: the time to make the searched question.", "",
             f"Load average at the end: {', '.join(f'{x:.2f}' for x in p['load'])}.", ""]
    for group in GROUPS:
        first = p["results"][p["methods"][0]][group]
        counts = ", ".join(f"{k} {first[f'{k} n']}" for k in KINDS)
        lines += [f"## {group}", "", f"Answerable turns: {counts}; topic switches score carry-over; "
                  f"{first['unanswerable n']} unanswerable.", "",
                  _report.table(["follow_ups", *COLUMNS],
                                [[m, *[p["results"][m][group][c] for c in COLUMNS]] for m in p["methods"]]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
