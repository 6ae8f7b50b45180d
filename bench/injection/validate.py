"""Check bench/injection/questions.jsonl against bench/injection/docs/.

    python bench/injection/validate.py          # exit 0 when every check passes

Checks:
- every line is a JSON object with exactly the expected fields and value types/values;
- ids match i<digits> and are unique; questions are unique;
- the source file exists in docs/; every document in docs/ has at least one question and 15–40 lines;
- every key occurs in its source file (case-insensitive, whitespace-normalised, the way the
  project's scorers match keys) and in no other document, so each question has exactly one source;
- no key contains a payload word, and no question mentions a payload word;
- every payload occurs verbatim in its source file, and only once as a word in any case (so an
  honest answer quoting the ordinary content never contains it);
- all questions on one source agree on lang/injected/payload/form/instruction_lang;
- question lang matches the document's language (zh documents are mostly CJK text);
- control documents (injected: false) contain none of the payloads of the whole set
  (case-insensitive, as whole words) and no HTML/Markdown comments;
- minimum sizes: 24 documents, 4 controls, 30 questions, 6 forms, 4 instruction languages.
Stdlib only. Prints a summary of the counts.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.jsonl"
DOCS = HERE / "docs"

FIELDS = {"id", "question", "key", "source", "lang", "injected", "payload", "form", "instruction_lang"}
LANGS = {"en", "zh"}
FORMS = {"plain", "comment", "list", "table", "bold", "paragraph-end", "own-paragraph",
         "heading", "blockquote", "code", "footnote"}
INSTRUCTION_LANGS = {"en", "zh", "de", "fr", "es", "cs"}
MIN = {"documents": 24, "controls": 4, "questions": 30, "forms": 6, "instruction_langs": 4}
CJK = re.compile(r"[\u4e00-\u9fff]")


def norm(text: str) -> str:
    return " ".join(text.casefold().split())


def has_word(text: str, word: str) -> bool:
    """Case-insensitive whole-word search; plain substring search for CJK words."""
    if CJK.search(word):
        return word in text
    return re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text, re.IGNORECASE) is not None


def doc_lang(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    cjk = sum(1 for c in letters if CJK.match(c))
    return "zh" if letters and cjk / len(letters) > 0.3 else "en"


def main() -> int:
    errors: list[str] = []
    docs = {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}
    normed = {name: norm(text) for name, text in docs.items()}

    rows = []
    for n, line in enumerate(QUESTIONS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"line {n}: blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: bad JSON: {e}")
            continue
        if not isinstance(row, dict) or set(row) != FIELDS:
            errors.append(f"line {n}: fields {sorted(row) if isinstance(row, dict) else type(row)} != {sorted(FIELDS)}")
            continue
        rows.append(row)

    all_payloads = set()
    for r in rows:
        if isinstance(r["payload"], list):
            all_payloads.update(p for p in r["payload"] if isinstance(p, str))

    ids = Counter(r["id"] for r in rows)
    questions = Counter(r["question"] for r in rows)
    per_source: dict[str, tuple] = {}
    for r in rows:
        rid = r["id"]
        where = f"{rid}"
        if not isinstance(rid, str) or not re.fullmatch(r"i\d{2,}", rid):
            errors.append(f"{where}: bad id")
        if ids[rid] > 1:
            errors.append(f"{where}: duplicate id")
        q = r["question"]
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{where}: empty question")
            continue
        if questions[q] > 1:
            errors.append(f"{where}: duplicate question")
        if r["lang"] not in LANGS:
            errors.append(f"{where}: lang {r['lang']!r} not in {sorted(LANGS)}")
        elif (r["lang"] == "zh") != bool(CJK.search(q)):
            errors.append(f"{where}: question text does not match lang {r['lang']}")
        if not isinstance(r["injected"], bool):
            errors.append(f"{where}: injected must be true/false")
        payload = r["payload"]
        if not isinstance(payload, list) or not all(isinstance(p, str) and p.strip() for p in payload):
            errors.append(f"{where}: payload must be a list of non-empty strings")
            payload = []
        if r["injected"] is True:
            if r["form"] not in FORMS:
                errors.append(f"{where}: form {r['form']!r} not in {sorted(FORMS)}")
            if r["instruction_lang"] not in INSTRUCTION_LANGS:
                errors.append(f"{where}: instruction_lang {r['instruction_lang']!r} not in {sorted(INSTRUCTION_LANGS)}")
        elif r["injected"] is False:
            if payload or r["form"] is not None or r["instruction_lang"] is not None:
                errors.append(f"{where}: control question must have payload [], form null, instruction_lang null")
        key = r["key"]
        if not isinstance(key, list) or not key or not all(isinstance(k, str) and k.strip() for k in key):
            errors.append(f"{where}: key must be a non-empty list of non-empty strings")
            key = []
        for p in all_payloads:
            if has_word(q, p):
                errors.append(f"{where}: question mentions payload {p!r}")
            for k in key:
                if has_word(k, p):
                    errors.append(f"{where}: key {k!r} contains payload {p!r}")

        src = r["source"]
        if not isinstance(src, str) or src not in docs:
            errors.append(f"{where}: source {src!r} not found in {DOCS}")
            continue
        text = docs[src]
        if r["lang"] in LANGS and doc_lang(text) != r["lang"]:
            errors.append(f"{where}: lang {r['lang']} but {src} looks {doc_lang(text)}")
        for k in key:
            if norm(k) not in normed[src]:
                errors.append(f"{where}: key {k!r} not in {src}")
            others = [name for name, t in normed.items() if name != src and norm(k) in t]
            if others:
                errors.append(f"{where}: key {k!r} also occurs in {', '.join(others)}")
        for p in payload:
            if p not in text:
                errors.append(f"{where}: payload {p!r} not in {src}")
            hits = len(re.findall(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text, re.IGNORECASE))
            if not CJK.search(p) and hits != 1:
                errors.append(f"{where}: payload {p!r} occurs {hits} times in {src} (as a word, any case); "
                              "it must occur only in the injection")
        meta = (r["lang"], r["injected"], tuple(payload), r["form"], r["instruction_lang"])
        if per_source.setdefault(src, meta) != meta:
            errors.append(f"{where}: metadata {meta} disagrees with other questions on {src}: {per_source[src]}")

    for name, text in docs.items():
        n_lines = len(text.splitlines())
        if not 15 <= n_lines <= 40:
            errors.append(f"{name}: {n_lines} lines, expected 15-40")
        if name not in per_source:
            errors.append(f"{name}: no question uses this document")
    controls = [s for s, m in per_source.items() if m[1] is False]
    for name in controls:
        text = docs[name]
        for p in sorted(all_payloads):
            if has_word(text, p):
                errors.append(f"control {name}: contains payload {p!r}")
        if "<!--" in text or "[//]:" in text:
            errors.append(f"control {name}: contains a comment")

    injected = [m for m in per_source.values() if m[1] is True]
    counts = {
        "documents": len(docs),
        "controls": len(controls),
        "questions": len(rows),
        "forms": len({m[3] for m in injected}),
        "instruction_langs": len({m[4] for m in injected}),
    }
    for what, least in MIN.items():
        if counts[what] < least:
            errors.append(f"only {counts[what]} {what}, need at least {least}")

    doc_langs = Counter(m[0] for m in per_source.values())
    q_kind = Counter(("injected" if r["injected"] else "control") for r in rows)
    q_lang = Counter(r["lang"] for r in rows)
    print(f"documents: {len(docs)} ({len(injected)} injected, {len(controls)} controls; "
          f"{doc_langs['en']} en, {doc_langs['zh']} zh)")
    print(f"questions: {len(rows)} ({q_kind['injected']} injected, {q_kind['control']} control; "
          f"{q_lang['en']} en, {q_lang['zh']} zh)")
    print("forms (documents):", dict(sorted(Counter(m[3] for m in injected).items())))
    print("instruction languages (documents):", dict(sorted(Counter(m[4] for m in injected).items())))
    print("payloads:", sorted(all_payloads))

    for e in errors:
        print("FAIL", e, file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
