"""Check the multi-turn conversation set (stdlib only).

    python bench/conversations/validate.py       # -v also lists keys shared with look-alikes

Checks every conversation in conversations.jsonl against the documents it cites and prints the
counts per set, kind and split. Exits 1 and lists the problems when a check fails.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "conversations.jsonl"
MADE_UP_ROOT = HERE / "docs"
REAL_ROOT = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "docs").resolve()

# Sets written for this benchmark, with their general file: the one that is not a look-alike
# of the others (topic switches go there). Every other file of a set is a look-alike.
GENERAL = {
    "appliances": "support.md",
    "policies": "it-security.md",
    "versions": "faq.md",
    "geraete": "售后服务.md",
}
LANG = {"appliances": "en", "policies": "en", "versions": "en", "geraete": "zh"}
# Real documentation trees (under REAL_ROOT) that may be used as a set.
REAL_SETS = {"poetry": "en", "httpx": "en"}
FORBIDDEN_SETS = {"textual"}

KINDS = ("self-contained", "follow-up", "entity-switch", "topic-switch")
SPLITS = ("dev", "test")
CONV_FIELDS = {"id", "set", "lang", "split", "turns"}
TURN_FIELDS = {"question", "kind", "key", "source"}
TURN_OPTIONAL = {"unanswerable"}

# Minimum counts asked for when the set was written.
MIN_CONVERSATIONS = {"appliances": 14, "policies": 10, "versions": 8, "geraete": 12,
                     "poetry": 11, "httpx": 10}
MIN_TOTAL_CONVERSATIONS = 48
MIN_KIND = {"follow-up": 40, "entity-switch": 20, "topic-switch": 15}


def set_root(name: str) -> Path:
    return MADE_UP_ROOT / name if name in GENERAL else REAL_ROOT / name


_cache: dict[Path, str] = {}


def text_of(path: Path) -> str:
    if path not in _cache:
        # Markdown wraps lines anywhere: compare with runs of whitespace collapsed.
        _cache[path] = norm(path.read_text(encoding="utf-8"))
    return _cache[path]


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).casefold()


def lookalikes(name: str, sources: list[str]) -> list[Path]:
    """Files of a made-up set that look like the source but are about another subject."""
    root = set_root(name)
    return sorted(p for p in root.glob("*.md")
                  if p.name != GENERAL[name] and p.name not in sources)


def check(conversations: list[dict]) -> tuple[list[str], dict]:
    errors: list[str] = []
    stats = {"unique_keys": 0, "checked_keys": 0, "shared": []}
    seen_ids: set[str] = set()

    for n, conv in enumerate(conversations, 1):
        cid = conv.get("id", f"line {n}")
        where = f"{cid}"
        missing = CONV_FIELDS - conv.keys()
        extra = conv.keys() - CONV_FIELDS
        if missing or extra:
            errors.append(f"{where}: missing fields {sorted(missing)}, unknown {sorted(extra)}")
            continue
        if not isinstance(cid, str) or not cid:
            errors.append(f"line {n}: id must be a non-empty string")
        elif cid in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(cid)

        name = conv["set"]
        if name in FORBIDDEN_SETS or "textual" in str(name).lower():
            errors.append(f"{where}: the textual docs must not be used as a set")
            continue
        if name not in GENERAL and name not in REAL_SETS:
            errors.append(f"{where}: unknown set {name!r}")
            continue
        root = set_root(name)
        if not root.is_dir():
            errors.append(f"{where}: documents folder {root} does not exist")
            continue
        want_lang = LANG.get(name) or REAL_SETS[name]
        if conv["lang"] != want_lang:
            errors.append(f"{where}: lang {conv['lang']!r}, expected {want_lang!r}")
        if conv["split"] not in SPLITS:
            errors.append(f"{where}: split {conv['split']!r} not in {SPLITS}")

        turns = conv["turns"]
        if not isinstance(turns, list) or not 3 <= len(turns) <= 5:
            errors.append(f"{where}: needs 3 to 5 turns")
            continue
        if turns[0].get("kind") != "self-contained":
            errors.append(f"{where}: the first turn must be self-contained")
        if not any(t.get("kind") in ("follow-up", "entity-switch") for t in turns):
            errors.append(f"{where}: no follow-up or entity-switch turn")

        previous_sources: list[str] = []
        for i, turn in enumerate(turns, 1):
            tw = f"{where} turn {i}"
            missing = TURN_FIELDS - turn.keys()
            extra = turn.keys() - TURN_FIELDS - TURN_OPTIONAL
            if missing or extra:
                errors.append(f"{tw}: missing fields {sorted(missing)}, unknown {sorted(extra)}")
                continue
            q, kind, keys, sources = turn["question"], turn["kind"], turn["key"], turn["source"]
            unanswerable = turn.get("unanswerable", False)
            if not isinstance(q, str) or not q.strip():
                errors.append(f"{tw}: empty question")
            if kind not in KINDS:
                errors.append(f"{tw}: kind {kind!r} not in {KINDS}")
            if i > 1 and kind == "self-contained":
                errors.append(f"{tw}: only the first turn is self-contained")
            if not isinstance(unanswerable, bool):
                errors.append(f"{tw}: unanswerable must be true or false")
            if not (isinstance(keys, list) and all(isinstance(k, str) and k.strip() for k in keys)):
                errors.append(f"{tw}: key must be a list of non-empty strings")
                continue
            if not (isinstance(sources, list) and all(isinstance(s, str) and s for s in sources)):
                errors.append(f"{tw}: source must be a list of paths")
                continue
            if unanswerable:
                if keys or sources:
                    errors.append(f"{tw}: an unanswerable turn has empty key and source")
                continue
            if not 1 <= len(keys) <= 2:
                errors.append(f"{tw}: needs 1 or 2 keys")
            if not sources:
                errors.append(f"{tw}: needs at least one source")
                continue

            paths = []
            for s in sources:
                p = root / s
                if "textual" in s.lower():
                    errors.append(f"{tw}: source {s} points into the textual docs")
                if not p.is_file():
                    errors.append(f"{tw}: source {s} does not exist in {root}")
                else:
                    paths.append(p)
            if len(paths) != len(sources):
                continue
            for k in keys:
                if not any(norm(k) in text_of(p) for p in paths):
                    errors.append(f"{tw}: key {k!r} is not in {sources}")

            # For answers that depend on the history, answering about the wrong subject must
            # give a wrong answer: the key is missing from at least one look-alike file.
            if name in GENERAL and kind in ("follow-up", "entity-switch"):
                others = lookalikes(name, sources)
                for k in keys:
                    holders = [p.name for p in others if norm(k) in text_of(p)]
                    stats["checked_keys"] += 1
                    if not holders:
                        stats["unique_keys"] += 1
                    else:
                        stats["shared"].append(f"{tw}: {k!r} also in {', '.join(holders)}")
                    if others and len(holders) == len(others):
                        errors.append(f"{tw}: key {k!r} also occurs in every look-alike "
                                      f"({', '.join(holders)})")
                    # An entity switch must not be answerable from the previous subject.
                    if kind == "entity-switch":
                        carried = [s for s in previous_sources
                                   if s not in sources and s != GENERAL[name]]
                        bad = [s for s in carried if norm(k) in text_of(root / s)]
                        if bad:
                            errors.append(f"{tw}: key {k!r} also occurs in the previous "
                                          f"subject's file {bad}")
            previous_sources = list(sources)
    return errors, stats


def table(conversations: list[dict]) -> str:
    cols = ["conv", "dev", "test", "turns", *KINDS, "unanswerable"]
    rows: dict[str, Counter] = {}
    order = [*GENERAL, *REAL_SETS]
    for conv in conversations:
        c = rows.setdefault(conv.get("set", "?"), Counter())
        c["conv"] += 1
        c[conv.get("split", "?")] += 1
        for t in conv.get("turns", []):
            c["turns"] += 1
            c[t.get("kind", "?")] += 1
            c["unanswerable"] += bool(t.get("unanswerable"))
    total = sum(rows.values(), Counter())
    names = [n for n in order if n in rows] + sorted(set(rows) - set(order))
    head = ["set", *cols]
    lines = [head] + [[n, *(str(rows[n][c]) for c in cols)] for n in names]
    lines.append(["total", *(str(total[c]) for c in cols)])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    fmt = lambda r: "| " + " | ".join(  # noqa: E731
        v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":"
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(lines[0]), sep, *(fmt(r) for r in lines[1:])])


def main() -> int:
    conversations = []
    errors = []
    for n, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            conversations.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: not JSON ({e})")
    more, stats = check(conversations)
    errors += more

    per_set = Counter(c.get("set") for c in conversations)
    for name, least in MIN_CONVERSATIONS.items():
        if per_set[name] < least:
            errors.append(f"set {name}: {per_set[name]} conversations, want at least {least}")
    if len(conversations) < MIN_TOTAL_CONVERSATIONS:
        errors.append(f"{len(conversations)} conversations, want at least "
                      f"{MIN_TOTAL_CONVERSATIONS}")
    kinds = Counter(t.get("kind") for c in conversations for t in c.get("turns", []))
    for kind, least in MIN_KIND.items():
        if kinds[kind] < least:
            errors.append(f"{kinds[kind]} {kind} turns, want at least {least}")

    print(table(conversations))
    print(f"\nfollow-up/entity-switch keys of the made-up sets found in no look-alike file: "
          f"{stats['unique_keys']} of {stats['checked_keys']}")
    if "-v" in sys.argv[1:]:
        for line in stats["shared"]:
            print(f"  {line}")
    if errors:
        print(f"\n{len(errors)} problem(s):", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
