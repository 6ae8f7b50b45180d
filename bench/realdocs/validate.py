"""Check bench/realdocs/questions.jsonl against the real documentation trees.

    python bench/realdocs/validate.py          # exit 0 when every check passes

Checks: every field and its type/values, unique ids, id prefix matches corpus, lang matches corpus,
every source file exists under shared/data/docs/<corpus>/, every key occurs (case-insensitive)
in at least one of its source files and not only on heading lines, dev/test balance per
corpus/kind, and for unanswerable questions that their probe terms occur nowhere in the corpus.
Stdlib only.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.jsonl"
DOCS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "docs").resolve()

CORPORA = {"poetry": ("p", "en"), "httpx": ("h", "en"), "self-llm-zh": ("z", "zh")}
KINDS = {"howto", "lookup", "troubleshooting", "unanswerable"}
SPLITS = {"dev", "test"}
FIELDS = {"id", "corpus", "lang", "kind", "question", "key", "source", "split"}
HELD_OUT = "textual"

# Terms whose absence from the whole corpus tree shows an unanswerable question is really unanswered
# (case-insensitive substring search over every .md file of that corpus).
UNANSWERABLE_PROBES = {
    "u001": ["environment.yml"],
    "u002": ["gpg"],
    "u003": [" uv ", "`uv`"],
    "u004": ["audit", "vulnerab", "CVE-"],
    "u005": ["Pipfile"],
    "u006": ["workspace"],
    "u007": ["bazel"],
    "u008": ["kubernetes", "liveness"],
    "u009": ["HTTP/3", "QUIC "],
    "u010": ["max_redirects"],
    "u011": ["rate limit", "rate-limit", "ratelimit"],
    "u012": ["pipelin"],
    "u013": ["named pipe"],
    "u014": ["SO_KEEPALIVE"],
    "u015": ["--download", "--output"],
    "u016": ["ext4", "resize2fs"],
    "u017": ["TensorRT"],
    "u018": ["ModelArts"],
    "u019": ["Jetson"],
    "u020": ["树莓派", "Raspberry"],
    "u021": ["Baichuan2-13B"],
    "u022": ["KServe"],
    "u023": ["Whisper"],
    "u024": ["个人所得税", "个税"],
}

_text_cache: dict[Path, str] = {}


def read(path: Path) -> str:
    if path not in _text_cache:
        _text_cache[path] = path.read_text(encoding="utf-8", errors="replace")
    return _text_cache[path]


def corpus_files(corpus: str) -> list[Path]:
    return sorted(p for p in (DOCS / corpus).rglob("*") if p.is_file() and p.suffix.lower() in {".md", ".markdown", ""})


def key_in_body(key: str, text: str) -> bool:
    """True when `key` occurs (case-insensitively) on at least one line that is not a Markdown heading."""
    needle = key.lower()
    if needle not in text.lower():
        return False
    if "\n" in key:
        return True
    return any(needle in line.lower() and not line.lstrip().startswith("#") for line in text.splitlines())


def check_row(row: dict, lineno: int, errors: list[str]) -> None:
    where = f"line {lineno} ({row.get('id', '?')})"

    def err(msg: str) -> None:
        errors.append(f"{where}: {msg}")

    missing = FIELDS - row.keys()
    if missing:
        err(f"missing fields {sorted(missing)}")
        return
    extra = row.keys() - FIELDS - {"unanswerable", "key_also"}
    if extra:
        err(f"unknown fields {sorted(extra)}")
    for field in ("id", "corpus", "lang", "kind", "question", "split"):
        if not isinstance(row[field], str) or not row[field].strip():
            err(f"{field} must be a non-empty string")
            return
    if not isinstance(row["key"], list) or not all(isinstance(k, str) and k.strip() for k in row["key"]):
        err("key must be a list of non-empty strings")
        return
    if not isinstance(row["source"], list) or not all(isinstance(s, str) and s.strip() for s in row["source"]):
        err("source must be a list of non-empty strings")
        return
    also = row.get("key_also", [])
    if not isinstance(also, list) or not all(isinstance(k, str) and k.strip() for k in also) or not (
            "key_also" not in row or 1 <= len(also) <= 3):
        err("key_also must be a list of 1-3 non-empty strings")
        return

    corpus, kind = row["corpus"], row["kind"]
    if corpus == HELD_OUT or HELD_OUT in row["question"].lower().split():
        err("Textual is held out and must not be used")
    if corpus not in CORPORA:
        err(f"unknown corpus {corpus!r}")
        return
    prefix, lang = CORPORA[corpus]
    if row["lang"] != lang:
        err(f"lang {row['lang']!r} should be {lang!r} for {corpus}")
    if kind not in KINDS:
        err(f"unknown kind {kind!r}")
    if row["split"] not in SPLITS:
        err(f"unknown split {row['split']!r}")
    if lang == "zh" and not any("\u4e00" <= ch <= "\u9fff" for ch in row["question"]):
        err("a zh question should be written in Chinese")

    if kind == "unanswerable":
        if not (row["id"].startswith("u") and row["id"][1:].isdigit()):
            err("unanswerable ids are u001, u002, ...")
        if row.get("unanswerable") is not True:
            err('unanswerable questions need "unanswerable": true')
        if row["key"] or row["source"] or also:
            err("unanswerable questions need empty key and source, and no key_also")
        probes = UNANSWERABLE_PROBES.get(row["id"])
        if not probes:
            err("no probe terms listed in UNANSWERABLE_PROBES")
        else:
            for term in probes:
                hits = [p.relative_to(DOCS / corpus).as_posix() for p in corpus_files(corpus)
                        if term.lower() in read(p).lower()]
                if hits:
                    err(f"probe term {term!r} occurs in {corpus}: {hits[:3]}")
        return

    if not (row["id"].startswith(prefix) and row["id"][1:].isdigit()):
        err(f"ids for {corpus} are {prefix}001, {prefix}002, ...")
    if row.get("unanswerable", False) is not False:
        err('answerable questions must not set "unanswerable": true')
    if not 1 <= len(row["key"]) <= 3:
        err("key must have 1-3 alternatives")
    if not 1 <= len(row["source"]) <= 3:
        err("source must list 1-3 files")
    if len(set(row["source"])) != len(row["source"]):
        err("duplicate source files")

    texts = []
    for rel in row["source"]:
        if rel.startswith("/") or ".." in Path(rel).parts:
            err(f"source must be relative to the corpus root: {rel!r}")
            continue
        path = DOCS / corpus / rel
        if not path.is_file():
            err(f"source file not found: {corpus}/{rel}")
            continue
        texts.append(read(path))
    if len(texts) != len(row["source"]):
        return
    for key in row["key"] + also:
        if not any(key.lower() in t.lower() for t in texts):
            err(f"key {key!r} not found in any source file")
        elif not any(key_in_body(key, t) for t in texts):
            err(f"key {key!r} only occurs in headings of its source files")


def main() -> int:
    if not DOCS.is_dir():
        print(f"docs folder not found: {DOCS}", file=sys.stderr)
        return 2
    errors: list[str] = []
    rows: list[dict] = []
    for lineno, line in enumerate(QUESTIONS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: invalid JSON ({exc})")
            continue
        if not isinstance(row, dict):
            errors.append(f"line {lineno}: not a JSON object")
            continue
        rows.append(row)
        check_row(row, lineno, errors)

    ids = Counter(r.get("id") for r in rows)
    errors += [f"duplicate id {i!r} ({n}x)" for i, n in ids.items() if n > 1]
    questions = Counter(r.get("question") for r in rows)
    errors += [f"duplicate question {q!r}" for q, n in questions.items() if n > 1]

    # dev/test should alternate: within every corpus/kind the two halves differ by at most one.
    by_cell = Counter((r.get("corpus"), r.get("kind"), r.get("split")) for r in rows)
    for corpus in CORPORA:
        for kind in KINDS:
            dev, test = by_cell[(corpus, kind, "dev")], by_cell[(corpus, kind, "test")]
            if abs(dev - test) > 1:
                errors.append(f"{corpus}/{kind}: unbalanced split (dev {dev}, test {test})")

    answerable = [r for r in rows if r.get("kind") != "unanswerable"]
    print(f"{len(rows)} questions ({len(answerable)} answerable, {len(rows) - len(answerable)} unanswerable); docs: {DOCS}")
    print()
    kinds = ["howto", "lookup", "troubleshooting", "unanswerable"]
    header = f"{'corpus':<12} " + " ".join(f"{k:>15}" for k in kinds) + f" {'total':>6} {'dev':>4} {'test':>4}"
    print(header)
    for corpus in CORPORA:
        sub = [r for r in rows if r.get("corpus") == corpus]
        kc = Counter(r.get("kind") for r in sub)
        sc = Counter(r.get("split") for r in sub)
        print(f"{corpus:<12} " + " ".join(f"{kc[k]:>15}" for k in kinds) + f" {len(sub):>6} {sc['dev']:>4} {sc['test']:>4}")
    kc = Counter(r.get("kind") for r in rows)
    sc = Counter(r.get("split") for r in rows)
    print(f"{'all':<12} " + " ".join(f"{kc[k]:>15}" for k in kinds) + f" {len(rows):>6} {sc['dev']:>4} {sc['test']:>4}")
    print()
    print("lang:", dict(Counter(r.get("lang") for r in rows)))
    if answerable:
        ak = Counter(r.get("kind") for r in answerable)
        print("answerable kind share:", ", ".join(f"{k} {ak[k] / len(answerable):.0%}" for k in kinds[:3]))

    if errors:
        print(f"\nFAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
