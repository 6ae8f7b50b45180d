"""Training files → checked, de-duplicated `Example`s, and a reproducible train/eval split.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "qa.jsonl").write_text('{"instruction": "Port?", "output": "7431"}\\n' * 2)  # a repeat
    >>> _ = (folder / "notes.md").write_text("Zorblax listens on port 7431.\\n")
    >>> data = load_examples([folder / "qa.jsonl", folder / "notes.md"])
    >>> data.formats, len(data.examples), data.duplicates
    ({'.../qa.jsonl': 'alpaca', '.../notes.md': 'text'}, 2, 1)
    >>> train, eval = split_examples(data.examples, eval_split=0.1, seed=0)
    >>> len(train), len(eval)
    (1, 1)

File types (readers.py): .jsonl, .json, .csv, .tsv, .parquet, a folder saved with `datasets`, and
plain text (.txt, .md, .rst; a .txt of lines with no blank line between them is one sample per
line; BIO-tagged lines are NER data). Each file is read in one format, detected from its first
record that has a known format's fields, or named with `format=`. Every bad record is found before
any is reported, so one run lists them all.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

from .formats import Format, describe, detect_format, formats_with, task_of
from .formats.text import split_blocks
from .readers import READERS, bio_sentences, decode, field_names, json_kind, one_per_line, read_dataset
from .types import BadRecord, DataError, Example, LoadedData
from core.errors import ConfigError

TEXT_SUFFIXES = (".txt", ".md", ".rst")
SHOWN_BAD = 5
"""How many bad records after the first an error lists; the rest are counted."""


# ---------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class FileData:
    """One file's share of LoadedData."""

    examples: list[Example]
    bad: list[BadRecord]
    format: str


def load_file(path: Path, format: str = "auto", formats: dict[str, Format] | None = None) -> FileData:
    """One file (or saved dataset folder) → its examples and bad records, in file order.

    Raises DataError for what spoils the whole file: missing, unreadable, empty, or no known format.
    """
    formats = formats or formats_with()
    source = str(path)
    if not path.exists():
        raise DataError(f"{source}: no such file")
    if not path.is_dir() and not path.is_file():  # a FIFO, or a link to /dev/zero: never read it
        raise DataError(f"{source}: not a regular file or a folder; point --data at a data file")
    suffix = path.suffix.lower()
    if path.is_file() and suffix in (".txt", ".tsv", ".bio", ".conll"):
        sentences = bio_sentences(decode(path.read_bytes(), source))
        if sentences is not None:  # token and tag per line: never plain text, nor a TSV with a header
            if format != "ner":
                raise DataError(f"{source}: BIO-tagged lines (a token and its tag per line), not plain text; "
                                "train them with --format ner")
            return _tagged_examples(sentences, source, formats["ner"])
    if path.is_file() and suffix in TEXT_SUFFIXES:
        if format not in ("auto", "text"):
            raise DataError(f"{source}: a plain-text file is read as format 'text', not {format!r}; "
                            "put chat records in .jsonl, .json, .csv, .tsv or .parquet")
        text = decode(path.read_bytes(), source)
        lines = one_per_line(text) if suffix == ".txt" else None
        examples = [Example(kind="text", text=line, origin=f"{source}:{n}") for n, line in lines] if lines \
            else split_blocks(text, source)
        if not examples:
            raise DataError(f"{source}: no text")
        return FileData(examples, [], "text, one per line" if lines else "text")
    reader = read_dataset if path.is_dir() else READERS.get(suffix)
    if reader is None:
        known = ", ".join(list(READERS) + list(TEXT_SUFFIXES))
        raise DataError(f"{source}: unsupported file type {suffix or '(none)'!r}; use one of {known}, "
                        "or a folder saved with `datasets`")
    items = [item if isinstance(item, BadRecord) or isinstance(item[1], dict)
             else BadRecord(item[0], f"expected an object with fields, found {json_kind(item[1])}")
             for item in reader(path, source)]
    if not items:
        raise DataError(f"{source}: no records")
    name = format if format != "auto" else _detect(items, source, formats)
    if name is None:  # nothing parsed: the bad records say why
        return FileData([], [item for item in items if isinstance(item, BadRecord)], "unknown")
    examples, bad = [], []
    for item in items:
        if isinstance(item, BadRecord):
            bad.append(item)
            continue
        origin, record = item
        try:
            examples.append(formats[name].to_example(record, origin))
        except ValueError as err:
            other = detect_format(record, formats) if format == "auto" else None
            why = (f"; this record is in format {other!r}, but the file is read in one format, {name!r}, found in "
                   "its first record: put each format in its own file" if other and other != name else "")
            bad.append(BadRecord(origin, f"{err}{why}"))
    return FileData(examples, bad, name)


def _tagged_examples(sentences, source: str, ner: Format) -> FileData:
    examples, bad = [], []
    for line, tokens, tags in sentences:
        try:
            examples.append(ner.to_example({"tokens": tokens, "labels": tags}, f"{source}:{line}"))
        except ValueError as err:
            bad.append(BadRecord(f"{source}:{line}", str(err)))
    return FileData(examples, bad, "ner")


def _detect(items: list, source: str, formats: dict[str, Format]) -> str | None:
    """The format of the first record one claims; DataError when records exist but none is claimed."""
    records = [item[1] for item in items if not isinstance(item, BadRecord) and isinstance(item[1], dict)]
    name = next((found for record in records if (found := detect_format(record, formats))), None)
    task = task_of(records[0]) if records and name in (None, "text") else None
    if task is not None:  # trained as plain text, its labels would be lost without a word
        raise DataError(f"{source}: records with fields {field_names(records[0])} are {task.name} data, not plain "
                        f"text; train them as instructions with --format {task.name} (the prompt: "
                        f"{task.prompt.splitlines()[0]!r}; change it with --task-prompt)")
    if name is None and records:
        raise DataError(f"{source}: records match no training format (first record's fields: "
                        f"{field_names(records[0])}).\nFormats and the fields they need:\n"
                        f"{describe(formats)}\nRename the fields, or choose a format with --format "
                        "(--text-field for plain text)")
    return name


def load_examples(paths: str | os.PathLike | Iterable[str | os.PathLike], format: str = "auto", *,
                  text_field: str | None = None, skip_bad: bool = False, task_prompt: str | None = None) -> LoadedData:
    """Files → LoadedData: examples (exact duplicates dropped, first kept), bad records, formats.

    format: "auto" (per file), a name in FORMATS, or a task template (formats/tasks.py). text_field:
    the field plain-text records keep their text in (default "text"). task_prompt: a template's
    instruction, with the record's fields in braces. Without skip_bad, any bad record raises a DataError that starts
    with the first ("data.jsonl:7: missing field 'output'") and counts the rest; with skip_bad they
    are left out and returned in `.bad`.
    """
    formats = formats_with(text_field, task_prompt)
    if format != "auto" and format not in formats:
        raise DataError(f"unknown format {format!r}; use auto, {', '.join(formats)}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    data = LoadedData()
    examples = []
    for path in map(Path, paths):
        loaded = load_file(path, format, formats)
        examples += loaded.examples
        data.bad += loaded.bad
        data.formats[str(path)] = loaded.format
    if data.bad and not skip_bad:
        raise DataError(bad_records_message(data.bad))
    data.examples, data.duplicates = drop_duplicates(examples)
    if not data.examples:
        where = ", ".join(data.formats) or "no files"
        raise DataError(f"no training examples in {where}" + (f"; all {len(data.bad)} records were bad, "
                                                               f"the first: {data.bad[0]}" if data.bad else ""))
    return data


def bad_records_message(bad: list[BadRecord]) -> str:
    """The first bad record, a few more, how many in all, and what to do.

    >>> print(bad_records_message([BadRecord("d.jsonl:7", "missing field 'output'")]))
    d.jsonl:7: missing field 'output'
    fix them or pass --skip-bad to leave them out
    """
    lines = [str(bad[0])]
    if len(bad) > 1:
        lines.append(f"and {len(bad) - 1} more bad record{'s' if len(bad) > 2 else ''}:")
        lines += [f"  {record}" for record in bad[1 : 1 + SHOWN_BAD]]
        if len(bad) > 1 + SHOWN_BAD:
            lines.append(f"  ... ({len(bad) - 1 - SHOWN_BAD} more)")
    lines.append("fix them or pass --skip-bad to leave them out")
    return "\n".join(lines)


def drop_duplicates(examples: list[Example]) -> tuple[list[Example], int]:
    """Examples without exact repeats (same messages or text; the first is kept), and how many went."""
    seen: set[str] = set()
    kept = [e for e in examples if not (e.key() in seen or seen.add(e.key()))]
    return kept, len(examples) - len(kept)


# ---------------------------------------------------------------------------------------- split


class Split(NamedTuple):
    train: list[Example]
    eval: list[Example]


def split_examples(examples: list[Example], eval_split: float, seed: int) -> Split:
    """A random (train, eval) split, the same for the same seed on any machine and Python run.

    eval_split 0 → no eval; otherwise round(n * eval_split) eval examples, at least 1 (when n ≥ 2)
    and never all of them. Both keep the input order.

    >>> [len(part) for part in split_examples(list(range(10)), 0.2, seed=0)]
    [8, 2]
    """
    if not 0 <= eval_split < 1:
        raise ConfigError(f"eval_split must be at least 0 and below 1, got {eval_split}")
    count = 0
    if eval_split > 0 and len(examples) >= 2:
        count = min(max(1, round(len(examples) * eval_split)), len(examples) - 1)
    # random.Random with an int seed does not depend on PYTHONHASHSEED, unlike set/str ordering.
    chosen = set(random.Random(seed).sample(range(len(examples)), count))
    return Split([e for i, e in enumerate(examples) if i not in chosen],
                 [e for i, e in enumerate(examples) if i in chosen])
