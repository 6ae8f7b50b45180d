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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from .formats import Format, describe, detect_format, formats_with, task_of
from .formats import text as text_format
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
    """One file's share of LoadedData, with what `data clean` and `data inspect` need besides."""

    examples: list[Example]
    bad: list[BadRecord]
    format: str
    records: list[dict] = field(default_factory=list)
    """The record each example came from, as the file holds it (before any column mapping)."""
    kind: str = ""
    """How the file is laid out, to write it back the same way: jsonl, json, csv, tsv, parquet,
    dataset, lines (one sample per line), blocks (prose), bio."""
    why: str = ""
    """How the format was chosen, for `data inspect`: "first record's fields: instruction, output"."""
    path: str = ""
    read: Callable[[dict, str], Example] | None = None
    """(record, origin) → Example, the way this file's records were read (format, columns):
    `data clean` reads a cleaned record again with it."""


def load_file(path: Path, format: str = "auto", formats: dict[str, Format] | None = None,
              columns: dict[str, str] | None = None, guess_tasks: bool = False) -> FileData:
    """One file (or saved dataset folder) → its examples and bad records, in file order.

    columns: {format's field: the file's field}, e.g. {"instruction": "question"}: the file's
    field is read as the format's. guess_tasks (`data inspect`, `data clean`): label data is read
    with its task template instead of refused, so it can be described. Raises DataError for what spoils the whole file: missing,
    unreadable, empty, or no known format.
    """
    formats = formats or formats_with()
    source = str(path)
    if format not in ("auto", "lines") and format not in formats:
        raise DataError(f"unknown format {format!r}; use auto, {', '.join(formats)}, lines")
    if not path.exists():
        raise DataError(f"{source}: no such file")
    if not path.is_dir() and not path.is_file():  # a FIFO, or a link to /dev/zero: never read it
        raise DataError(f"{source}: not a regular file or a folder; point --data at a data file")
    suffix = path.suffix.lower()
    if path.is_file() and suffix in (".txt", ".tsv", ".bio", ".conll"):
        sentences = bio_sentences(decode(path.read_bytes(), source))
        if sentences is not None:  # token and tag per line: never plain text, nor a TSV with a header
            if format != "ner" and not guess_tasks:
                raise DataError(f"{source}: BIO-tagged lines (a token and its tag per line), not plain text; "
                                "train them with --format ner")
            return _tagged_examples(sentences, source, formats["ner"])
    if path.is_file() and suffix in TEXT_SUFFIXES:
        return _text_file(path, source, format)
    if format == "lines":
        raise DataError(f"{source}: --format lines is for plain-text files (.txt, .md, .rst)")
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
    kind = "dataset" if path.is_dir() else suffix.lstrip(".").replace("ndjson", "jsonl")
    mapped = _mapping(items, columns, source)
    name, why = (format, f"chosen with --format {format}") if format != "auto" \
        else _detect(items, source, formats, mapped, guess_tasks)
    if name is None:  # nothing parsed: the bad records say why
        return FileData([], [item for item in items if isinstance(item, BadRecord)], "unknown", kind=kind, path=source)
    examples, bad, records = [], [], []

    def read(record: dict, origin: str) -> Example:
        return formats[name].to_example(mapped(record), origin)

    for item in items:
        if isinstance(item, BadRecord):
            bad.append(item)
            continue
        origin, record = item
        try:
            examples.append(read(record, origin))
            records.append(record)
        except ValueError as err:
            other = detect_format(mapped(record), formats) if format == "auto" else None
            why_bad = (f"; this record is in format {other!r}, but the file is read in one format, {name!r}, found "
                       "in its first record: put each format in its own file" if other and other != name else "")
            bad.append(BadRecord(origin, f"{err}{why_bad}"))
    return FileData(examples, bad, name, records, kind, why, source, read)


def _text_file(path: Path, source: str, format: str) -> FileData:
    """A text file as one sample per line (detected in a .txt, or chosen with format "lines") or
    as prose in blocks (detected, or chosen with format "text")."""
    if format not in ("auto", "text", "lines"):
        raise DataError(f"{source}: a plain-text file is read as format 'text' or 'lines', not {format!r}; "
                        "put chat records in .jsonl, .json, .csv, .tsv or .parquet")
    text = decode(path.read_bytes(), source)
    if format == "lines":
        lines = [(n, line.strip()) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
        why = "chosen with --format lines: one sample per line"
    else:
        lines = one_per_line(text) if path.suffix.lower() == ".txt" and format == "auto" else None
        why = f"{len(lines)} lines and no blank line between them: one sample per line" if lines else \
            "chosen with --format text: paragraphs joined into blocks" if format == "text" else \
            "prose: paragraphs (between blank lines) joined into blocks"
    if lines:
        examples = [Example(kind="text", text=line, origin=f"{source}:{n}") for n, line in lines]
    else:
        examples = split_blocks(text, source)
    if not examples:
        raise DataError(f"{source}: no text")
    return FileData(examples, [], "text, one per line" if lines else "text", [{"text": e.text} for e in examples],
                    "lines" if lines else "blocks", why, source, text_format.to_example)


def _mapping(items: list, columns: dict[str, str] | None, source: str):
    """record → the record with the file's fields renamed to the format's (columns). A file with
    none of the named fields is read as it is (one mapping serves several files); one with some
    but not all is an error naming the missing field, rather than a mapping half applied."""
    first = next((item[1] for item in items if not isinstance(item, BadRecord)), None)
    if not columns or first is None or not any(theirs in first for theirs in columns.values()):
        return lambda record: record
    missing = [theirs for theirs in columns.values() if theirs not in first]
    if missing:
        raise DataError(f"{source}: --columns names field {missing[0]!r}, which its first record does not have "
                        f"(fields: {field_names(first)})")
    renamed = {theirs: ours for ours, theirs in columns.items()}

    def mapped(record: dict) -> dict:
        return {renamed.get(name, name): value for name, value in record.items()
                if name in renamed or name not in columns}  # a field a mapped one replaces is dropped

    return mapped


def _tagged_examples(sentences, source: str, ner: Format) -> FileData:
    examples, bad, records = [], [], []
    for line, tokens, tags in sentences:
        try:
            examples.append(ner.to_example({"tokens": tokens, "labels": tags}, f"{source}:{line}"))
            records.append({"tokens": tokens, "labels": tags})
        except ValueError as err:
            bad.append(BadRecord(f"{source}:{line}", str(err)))
    return FileData(examples, bad, "ner", records, "bio", "a token and its BIO tag per line", source, ner.to_example)


def _detect(items: list, source: str, formats: dict[str, Format], mapped,
            guess_tasks: bool = False) -> tuple[str | None, str]:
    """The format of the first record one claims, and why; DataError when records exist but none is claimed."""
    records = [mapped(item[1]) for item in items if not isinstance(item, BadRecord) and isinstance(item[1], dict)]
    found = next(((name, record) for record in records if (name := detect_format(record, formats))), None)
    name = found[0] if found else None
    task = task_of(records[0]) if records and name in (None, "text") else None
    if task is not None and guess_tasks:
        return task.name, (f"label data (fields {field_names(records[0])}): finetune reads it with "
                           f"--format {task.name}")
    if task is not None:  # trained as plain text, its labels would be lost without a word
        raise DataError(f"{source}: records with fields {field_names(records[0])} are {task.name} data, not plain "
                        f"text; train them as instructions with --format {task.name} (the prompt: "
                        f"{task.prompt.splitlines()[0]!r}; change it with --task-prompt)")
    if name is None and records:
        raise DataError(f"{source}: records match no training format (first record's fields: "
                        f"{field_names(records[0])}).\nFormats and the fields they need:\n"
                        f"{describe(formats)}\nRename the fields, map them with --columns "
                        "(instruction=question,output=answer), or choose a format with --format "
                        "(--text-field for plain text)")
    return name, f"its first record with a known format's fields has {field_names(found[1])}" if found else ""


def load_examples(paths: str | os.PathLike | Iterable[str | os.PathLike], format: str = "auto", *,
                  text_field: str | None = None, skip_bad: bool = False, task_prompt: str | None = None,
                  columns: dict[str, str] | None = None) -> LoadedData:
    """Files → LoadedData: examples (exact duplicates dropped, first kept), bad records, formats.

    format: "auto" (per file), a name in FORMATS, or a task template (formats/tasks.py). text_field:
    the field plain-text records keep their text in (default "text"). task_prompt: a template's
    instruction, with the record's fields in braces. columns: {format's field: file's field}.
    Without skip_bad, any bad record raises a DataError that starts
    with the first ("data.jsonl:7: missing field 'output'") and counts the rest; with skip_bad they
    are left out and returned in `.bad`.
    """
    formats = formats_with(text_field, task_prompt)
    if format not in ("auto", "lines") and format not in formats:
        raise DataError(f"unknown format {format!r}; use auto, {', '.join(formats)}, lines")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    data = LoadedData()
    examples = []
    for path in map(Path, paths):
        loaded = load_file(path, format, formats, columns)
        data.files.append(loaded)
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
