"""What training files hold, before a step is trained: `assistant data inspect` and the Train
screen's check. Per file: the format and why it was chosen, counts of what cleaning would find
(cleaning.py, nothing changed), token lengths, turns and roles, labels, scripts, personal data,
overlap with eval data, and a preview of examples exactly as `finetune` renders them, the trained
tokens marked.

    >>> from finetune.data import load_file
    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "labels.tsv").write_text("text\\tlabel\\nGreat tool!\\tpositive\\n很好用\\tpositive\\nBroken.\\tnegative\\n")
    >>> report = inspect_data([folder / "labels.tsv"])[0]
    >>> report.format, report.records, report.labels, report.scripts
    ('classification', 3, {'positive': 2, 'negative': 1}, {'Latin': 0.93, 'Han': 0.07})
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .cleaning import CleanConfig, clean_files
from .data import load_file
from .formats import formats_with
from .tokenize import IGNORE, histogram, tokenize_all
from .types import Example

SHOWN = 5
"""Origins named per kind of finding."""


@dataclass(frozen=True)
class TokenStats:
    p50: int
    p95: int
    longest: int
    over: float
    """Share of examples longer than max_length (cut when trained)."""
    max_length: int
    histogram: tuple[int, ...]
    edges: tuple[int, ...]
    trained: int
    """Tokens the loss is computed on, after cutting."""
    cut: tuple[str, ...] = ()
    """Where the first few examples over max_length are (a chat is cut, a text split into blocks)."""


@dataclass(frozen=True)
class Preview:
    origin: str
    segments: tuple[tuple[str, bool], ...]
    """The example as trained: (text, trained) pieces in order, chat template applied."""


@dataclass(frozen=True)
class FileReport:
    path: str
    format: str
    why: str
    records: int
    bad: tuple[str, ...] = ()
    """"file:line: reason" of each record that cannot be read (the first few)."""
    bad_count: int = 0
    empty: int = 0
    findings: dict = field(default_factory=dict)
    """Cleaning step → {count, at: first origins}: duplicate, near duplicate, conflict, personal data ..."""
    personal: dict = field(default_factory=dict)
    """Kind → pieces found: {"EMAIL": 2}."""
    tokens: TokenStats | None = None
    turns: dict = field(default_factory=dict)
    """Messages per chat example → examples: {2: 10, 4: 3}."""
    roles: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    """Label data: label (or entity type for NER) → count."""
    scripts: dict = field(default_factory=dict)
    """Writing systems of the text, as shares: {"Latin": 0.7, "Han": 0.3}."""
    preview: tuple[Preview, ...] = ()

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


SCRIPTS = (("Han", re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")), ("Kana", re.compile(r"[\u3040-\u30ff]")),
           ("Hangul", re.compile(r"[\uac00-\ud7af]")), ("Cyrillic", re.compile(r"[\u0400-\u04ff]")),
           ("Arabic", re.compile(r"[\u0600-\u06ff]")), ("Latin", re.compile(r"[A-Za-z\u00c0-\u024f]")))


def scripts(texts: Sequence[str]) -> dict[str, float]:
    """Shares of letters by writing system (a language guess would be wrong on short, mixed or
    code-heavy text; the script is a fact).

    >>> scripts(["Hello 你好"])
    {'Latin': 0.71, 'Han': 0.29}
    """
    counts = Counter()
    for text in texts:
        for name, pattern in SCRIPTS:
            counts[name] += len(pattern.findall(text))
    total = sum(counts.values())
    return {name: round(n / total, 2) for name, n in counts.most_common() if n} if total else {}


def labels_of(format: str, records: Sequence[dict], examples: Sequence[Example]) -> dict[str, int]:
    """Label counts for label data: the answer of a classification or pair example, the entity
    types of NER tags; {} for other formats."""
    if format in ("classification", "pair"):
        return dict(Counter(e.messages[-1]["content"] for e in examples).most_common())
    if format == "ner":
        tags = Counter(tag[2:] for record in records for tag in _tags(record) if tag[:2] in ("B-", "S-"))
        return dict(tags.most_common())
    return {}


def _tags(record: dict) -> list[str]:
    values = next((v for k, v in record.items() if k in ("labels", "tags", "ner_tags")), [])
    return [str(v) for v in values] if isinstance(values, list) else []


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def preview(tokenized, tokenizer) -> Preview:
    """One Tokenized example as (text, trained) pieces: consecutive tokens with and without a label."""
    pieces, ids, trained = [], [], None
    for token, label in zip(tokenized.input_ids, tokenized.labels):
        if trained is not None and (label != IGNORE) != trained:
            pieces.append((tokenizer.decode(ids), trained))
            ids = []
        ids.append(token)
        trained = label != IGNORE
    if ids:
        pieces.append((tokenizer.decode(ids), bool(trained)))
    return Preview(tokenized.origin, tuple(pieces))


def token_stats(tokenized: Sequence, max_length: int) -> TokenStats:
    """Lengths per example (a long text's blocks count once); `cut`: chats cut at max_length and
    texts split into blocks there."""
    whole = [t for t in tokenized if t.block <= 1]
    lengths = sorted(t.length for t in whole)
    counts, edges = histogram(lengths)
    nearest = lambda q: lengths[min(len(lengths) - 1, round(q * (len(lengths) - 1)))] if lengths else 0
    return TokenStats(nearest(0.5), nearest(0.95), lengths[-1] if lengths else 0,
                      round(sum(t.length > max_length for t in whole) / len(whole), 3) if whole else 0.0,
                      max_length, counts, edges, sum(label != IGNORE for t in tokenized for label in t.labels),
                      tuple(t.origin for t in whole if t.length > max_length)[:SHOWN])


def inspect_data(paths: Sequence[Path], *, format: str = "auto", columns: dict[str, str] | None = None,
                 eval_paths: Sequence[Path] = (), tokenizer=None, max_length: int = 1024, previews: int = 3,
                 text_field: str | None = None, task_prompt: str | None = None,
                 clean: CleanConfig | None = None, load_tokenizer=None) -> list[FileReport]:
    """A FileReport per path. Token lengths and previews need the base model's `tokenizer`, or
    `load_tokenizer()`, called once the files have been read (a bad file is reported at once)."""
    formats = formats_with(text_field, task_prompt)
    clean = dataclasses.replace(clean or CleanConfig(), columns=columns or {}, personal="report")
    files = [load_file(Path(p), format, formats, clean.columns, guess_tasks=True) for p in paths]
    held = [load_file(Path(p), format, formats, clean.columns, guess_tasks=True) for p in eval_paths]
    result = clean_files(files, clean, held)
    if tokenizer is None and load_tokenizer is not None:
        tokenizer = load_tokenizer()
    reports = []
    for file in files:
        mine = {e.origin for e in file.examples}
        findings: dict[str, dict] = {}
        personal: Counter = Counter()
        for change in (c for c in result.changes if c.origin in mine):
            found = findings.setdefault(change.step, {"count": 0, "at": []})
            found["count"] += 1
            if len(found["at"]) < SHOWN:
                found["at"].append(str(change))
            personal.update(change.kinds)
        chats = [e for e in file.examples if e.kind == "chat"]
        tokens, shown = None, ()
        if tokenizer is not None and file.examples:
            tokenized = tokenize_all(file.examples, tokenizer, max_length)
            tokens = token_stats(tokenized, max_length)
            shown = tuple(preview(t, tokenizer) for t in tokenized[:previews])
        texts = [text for record in file.records for text in _strings(record)]  # the data's, not a template's
        reports.append(FileReport(
            path=file.path, format=file.format, why=file.why, records=len(file.examples),
            bad=tuple(str(b) for b in file.bad[:SHOWN]), bad_count=len(file.bad),
            empty=sum("empty" in b.reason for b in file.bad), findings=findings, personal=dict(personal),
            tokens=tokens, turns=dict(sorted(Counter(len(e.messages) for e in chats).items())),
            roles=dict(Counter(m["role"] for e in chats for m in e.messages)),
            labels=labels_of(file.format, file.records, file.examples), scripts=scripts(texts), preview=shown))
    return reports

