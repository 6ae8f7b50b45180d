"""Near-duplicate detection on real questions: precision on SQuAD, recall on planted copies.

SQuAD 2.0 (its first five dev articles) has 1,407 questions written by crowd workers about 173
paragraphs; several workers often asked the same thing, and half the questions are unanswerable
rewrites of answerable ones ("What did the Normans NOT ..."), which look alike but ask something
else. A pair `finetune.near_duplicates` flags counts as right when both questions come from the
same paragraph and share an answer (dropping one loses nothing), and wrong otherwise. Recall: 300
questions are copied with the changes users' data carries (case, spacing, a zero-width space,
full-width punctuation, a dropped letter, a word left out) and mixed back in.

Also: how many pieces of personal data `finetune.personal` finds in the real documentation trees
(none of them holds any but authors' and example addresses), to show what scrubbing would touch.

    python -m bench.near_duplicates        # about a minute on 2 cores
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter

from bench import _report
from finetune.near_duplicates import near_duplicate_pairs
from finetune.personal import find_personal

NAME = "near_duplicates"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
SHINGLES = (3, 4, 5)
PLANTED = 300
TREES = ("poetry", "httpx", "self-llm-zh", "textual")


def squad_questions() -> list[dict]:
    """[{text, paragraph, answers}] in file order."""
    data = json.loads((_report.data_dir() / "squad" / "dev-v2.0-first5.json").read_text(encoding="utf-8"))
    questions = []
    for article in data["data"]:
        for number, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answers = {" ".join(a["text"].lower().split()) for a in qa.get("answers", [])}
                questions.append({"text": qa["question"], "paragraph": f"{article['title']}#{number}",
                                  "answers": answers})
    return questions


def variant(text: str, rng: random.Random) -> str:
    """One change of the kind real data carries."""
    words = text.split()
    changes = [
        lambda: text.lower(),
        lambda: text.replace(" ", "  ", 2),
        lambda: text[: len(text) // 2] + "\u200b" + text[len(text) // 2 :],
        lambda: text.replace("?", "？").replace(",", "，"),
        lambda: re.sub(r"([a-z])([a-z])", r"\2", text, count=1) if len(text) > 12 else text + " ",
        lambda: " ".join(words[:-2] + words[-1:]) if len(words) > 5 else text.upper(),
        lambda: text.rstrip("?") + " ?",
    ]
    return rng.choice(changes)()


def same(a: dict, b: dict) -> bool:
    """Dropping one of the two loses nothing: one is a copy of the other, or both ask about the
    same paragraph and share an answer."""
    if a.get("copy_of", -1) == b.get("index") or b.get("copy_of", -1) == a.get("index"):
        return True
    return a["paragraph"] == b["paragraph"] and bool(a["answers"] & b["answers"])


def measured(records: list[dict], parts, shingle: int, threshold: float) -> dict:
    began = time.perf_counter()
    pairs = near_duplicate_pairs([parts(r) for r in records], threshold, shingle=shingle)
    seconds = time.perf_counter() - began
    wrong = [p for p in pairs if not same(records[p.first], records[p.second])]
    real = [p for p in pairs if "copy_of" not in records[p.second]]
    caught = {p.second for p in pairs if records[p.second].get("copy_of") is not None
              and same(records[p.first], records[p.second])}
    planted = sum("copy_of" in r for r in records)
    return {"shingle": shingle, "threshold": threshold, "flagged": len(pairs),
            "precision": 1 - len(wrong) / len(pairs) if pairs else None,
            "flagged among originals": len(real), "right among originals": sum(same(records[p.first], records[p.second]) for p in real),
            "planted recall": len(caught) / planted, "seconds": round(seconds, 2),
            "wrong examples": [[records[p.first]["text"], records[p.second]["text"], p.similarity] for p in wrong[:5]]}


def personal_in_docs() -> dict:
    found, files = Counter(), 0
    for tree in TREES:
        for path in (_report.data_dir() / "docs" / tree).rglob("*"):
            if path.is_file() and path.suffix in (".md", ".txt", ".rst", ".py"):
                files += 1
                found.update(item.kind for item in find_personal(path.read_text(encoding="utf-8", errors="ignore")))
    return {"files": files, "found": dict(found)}


MODES = {
    # As `data clean` compares instruction records: the question and its answer must both match.
    "question + answer": (lambda q: bool(q["answers"]), lambda r: (r["text"], sorted(r["answers"])[0])),
    # Questions alone, as a plain list of prompts would be compared.
    "question only": (lambda q: True, lambda r: (r["text"],)),
}


def main() -> None:
    questions = squad_questions()
    rows = []
    for mode, (chosen, parts) in MODES.items():
        originals = [dict(q, index=i) for i, q in enumerate(q for q in questions if chosen(q))]
        rng = random.Random(0)
        copies = [dict(originals[i], text=variant(originals[i]["text"], rng), copy_of=i, index=None)
                  for i in rng.sample(range(len(originals)), PLANTED)]
        records = originals + copies
        for shingle in SHINGLES:
            for threshold in THRESHOLDS:
                row = {"mode": mode, "records": len(originals), **measured(records, parts, shingle, threshold)}
                rows.append(row)
                print(f"{mode}, shingle {shingle}, threshold {threshold}: {row['flagged']} flagged, precision "
                      f"{_report.cell(row['precision'])}, planted recall {row['planted recall']:.3f}", flush=True)
    payload = {"questions": len(questions), "planted": PLANTED, "rows": rows, "personal_data": personal_in_docs()}
    _report.write(NAME, payload, markdown(payload))


COLUMNS = ["mode", "shingle", "threshold", "flagged", "precision", "flagged among originals",
           "right among originals", "planted recall", "seconds"]


def markdown(payload: dict) -> str:
    wrong = "\n".join(f"- {row['mode']}: {a!r} / {b!r} ({s})" for row in payload["rows"]
                      if (row["shingle"], row["threshold"]) == (4, 0.7) for a, b, s in row["wrong examples"])
    personal = payload["personal_data"]
    return "\n\n".join([
        "# Near-duplicate detection (finetune/near_duplicates.py)",
        f"SQuAD 2.0 dev, first five articles: {payload['questions']} questions (705 answerable); in each mode "
        f"{payload['planted']} planted copies with one realistic change each (case, spacing, zero-width space, "
        "full-width punctuation, a dropped letter, a word left out). A flagged pair is right when one is a "
        "copy of the other, or both come from the same paragraph and share an answer. `data clean` compares "
        "records the first way (question + answer); its default is shingle 4, threshold 0.7.",
        _report.table(COLUMNS, [[r[c] for c in COLUMNS] for r in payload["rows"]]),
        f"Wrong pairs at shingle 4, threshold 0.7 (up to five per mode):\n{wrong or '- none'}",
        f"Personal data found by `finetune.personal` in {personal['files']} real documentation files: "
        f"{personal['found'] or 'none'} (authors' and example addresses in the docs).",
    ]) + "\n"


if __name__ == "__main__":
    main()
