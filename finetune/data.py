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

File types: .jsonl, .json, .csv, .tsv, .parquet, a folder saved with `datasets`, and plain text
(.txt, .md, .rst; a .txt of lines with no blank line between them is one sample per line). Each file is read in one format, detected from its first record that has a
known format's fields, or named with `format=`. Every bad record is found before any is reported,
so one run lists them all.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from .formats import Format, describe, detect_format, formats_with, task_of
from .formats.text import split_blocks
from .types import BadRecord, DataError, Example, LoadedData
from core.errors import ConfigError

TEXT_SUFFIXES = (".txt", ".md", ".rst")
SHOWN_BAD = 5
"""How many bad records after the first an error lists; the rest are counted."""

Item = tuple[str, object] | BadRecord
"""What readers yield: (origin, record) for a parsed record, BadRecord for one that did not parse."""


# ---------------------------------------------------------------------------------------- readers


def json_integer(digits: str) -> int | str:
    """A JSON integer; one too long for Python's int() (over 4,300 digits) stays as its digits."""
    return int(digits) if len(digits) < 4300 else digits


def field_names(record: dict, most: int = 8, width: int = 40) -> str:
    """A record's field names for a message, each and all of them cut short:
    {"a": 1, "b": 2} → 'a, b'; {} → 'none'."""
    names = [str(name) if len(str(name)) <= width else str(name)[: width - 1] + "…" for name in list(record)[:most]]
    more = f" and {len(record) - most} more" if len(record) > most else ""
    return ", ".join(names) + more if names else "none"


def json_kind(value) -> str:
    """The JSON name of a value's kind: [] → 'an array', None → 'null'."""
    kinds = {list: "an array", str: "a string", bool: "true or false", type(None): "null", dict: "an object"}
    return kinds.get(type(value), "a number")


def _decode(data: bytes, source: str) -> str:
    """Bytes → text; bad UTF-8 fails the whole file, naming the line (the rest cannot be trusted)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"{source}:{line}: not valid UTF-8 (byte {err.start}); re-save the file as UTF-8") from None


def _read_jsonl(path: Path, source: str) -> Iterator[Item]:
    """One record per line; a line that is not UTF-8 or not JSON is a bad record, not a dead file."""
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            yield BadRecord(f"{source}:{number}", f"not valid UTF-8 (column {err.start + 1}); re-save the file as UTF-8")
            continue
        if not line.strip():
            continue
        try:
            yield f"{source}:{number}", json.loads(line, parse_int=json_integer)
        except json.JSONDecodeError as err:
            yield BadRecord(f"{source}:{number}", f"invalid JSON ({err.msg} at column {err.colno})")
        except RecursionError:
            yield BadRecord(f"{source}:{number}", "JSON nested too deeply to read")


def _read_json(path: Path, source: str) -> Iterator[Item]:
    """A list of records, or an object holding one list of records ({"data": [...]}), or one record."""
    text = _decode(path.read_bytes(), source)
    try:
        data = json.loads(text, parse_int=json_integer)
    except RecursionError:
        raise DataError(f"{source}: JSON nested too deeply to read") from None
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":  # JSON Lines saved as .json: read it as what it is
            yield from _read_jsonl(path, source)
            return
        raise DataError(f"{source}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno}); fix the file") from None
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        if detect_format(data):
            data = [data]
        elif len(lists) == 1:
            data = lists[0]
        else:
            raise DataError(f"{source}: expected a list of records (or an object holding one list); "
                            f"found an object with fields {field_names(data)}")
    if not isinstance(data, list):
        raise DataError(f"{source}: expected a list of records, found {type(data).__name__}")
    for index, record in enumerate(data):
        yield f"{source}[#{index}]", record


def _read_csv(path: Path, source: str, delimiter: str = ",") -> Iterator[Item]:
    """Rows as {header: cell}; origin is the line the row starts on (quoted cells may span lines)."""
    text = _decode(path.read_bytes(), source)
    if delimiter == "\t" and _quote_swallows_tabs(text):
        # A TSV cell that merely starts with '"' is text: read as a quoted cell, it swallowed the
        # rows after it (5 rows → 3 examples). Such a file is read without quoting, as TSV defines.
        yield from _rows(text, source, delimiter, csv.QUOTE_NONE)
    else:
        yield from _rows(text, source, delimiter, csv.QUOTE_MINIMAL)


def _quote_swallows_tabs(text: str) -> bool:
    try:
        return any("\t" in cell for row in csv.reader(io.StringIO(text, newline=""), delimiter="\t") for cell in row)
    except csv.Error:
        return True


def _rows(text: str, source: str, delimiter: str, quoting: int) -> Iterator[Item]:
    kind = "TSV" if delimiter == "\t" else "CSV"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = [name.strip() for name in next(reader)]
        previous = reader.line_num
        for row in reader:
            origin, previous = f"{source}:{previous + 1}", reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                fix = "quote cells that hold ','" if kind == "CSV" else "a cell may not hold a tab"
                yield BadRecord(origin, f"{len(row)} cells but the header has {len(header)}; {fix}")
                continue
            if len(row) < len(header):
                yield BadRecord(origin, f"{len(row)} cell{'s' if len(row) != 1 else ''} but the header has "
                                        f"{len(header)} ({', '.join(header[len(row):])} missing)")
                continue
            yield origin, dict(zip(header, row))
    except StopIteration:
        return
    except csv.Error as err:
        raise DataError(f"{source}:{reader.line_num}: unreadable {kind} ({err})") from None


def _read_tsv(path: Path, source: str) -> Iterator[Item]:
    return _read_csv(path, source, delimiter="\t")


def _read_parquet(path: Path, source: str) -> Iterator[Item]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise DataError(f"{source}: not a readable Parquet file ({err})") from None
    for index, record in enumerate(rows):
        yield f"{source}[#{index}]", record


def _read_dataset(path: Path, source: str) -> Iterator[Item]:
    """A folder from `Dataset.save_to_disk`. A DatasetDict gives its "train" split when it has one,
    otherwise all its splits one after another (origins then name the split: "dir[test#3]")."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError:
        raise DataError(f"{source}: a folder, but not one saved with `datasets` (save_to_disk); "
                        "name the data files in it instead") from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = {"": loaded["train"]} if "train" in loaded else dict(loaded)
    else:
        splits = {"": loaded}
    for split, rows in splits.items():
        for index, record in enumerate(rows):
            yield f"{source}[{split}#{index}]", record


READERS = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".json": _read_json, ".csv": _read_csv,
           ".tsv": _read_tsv, ".parquet": _read_parquet}


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
        sentences = bio_sentences(_decode(path.read_bytes(), source))
        if sentences is not None:  # token and tag per line: never plain text, nor a TSV with a header
            if format != "ner":
                raise DataError(f"{source}: BIO-tagged lines (a token and its tag per line), not plain text; "
                                "train them with --format ner")
            return _tagged_examples(sentences, source, formats["ner"])
    if path.is_file() and suffix in TEXT_SUFFIXES:
        if format not in ("auto", "text"):
            raise DataError(f"{source}: a plain-text file is read as format 'text', not {format!r}; "
                            "put chat records in .jsonl, .json, .csv, .tsv or .parquet")
        text = _decode(path.read_bytes(), source)
        lines = one_per_line(text) if suffix == ".txt" else None
        examples = [Example(kind="text", text=line, origin=f"{source}:{n}") for n, line in lines] if lines \
            else split_blocks(text, source)
        if not examples:
            raise DataError(f"{source}: no text")
        return FileData(examples, [], "text, one per line" if lines else "text")
    reader = _read_dataset if path.is_dir() else READERS.get(suffix)
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


_BIO_LINE = re.compile(r"(\S+)[ \t]+((?:[BIES]-\S+)|O)")


def bio_sentences(text: str) -> list[tuple[int, list[str], list[str]]] | None:
    """(first line, tokens, tags) per sentence of BIO lines ("张 B-PER"), sentences between blank
    lines; None when the text is not that (a line in ten may be noise, then it is not).

    >>> bio_sentences("张 B-PER\\n三 I-PER\\n\\n北京 B-LOC\\n")
    [(1, ['张', '三'], ['B-PER', 'I-PER']), (4, ['北京'], ['B-LOC'])]
    """
    lines = text.splitlines()
    tagged = [_BIO_LINE.fullmatch(line.strip()) for line in lines]
    filled = [line for line in lines if line.strip()]
    if not filled or sum(1 for m in tagged if m) < 0.9 * len(filled) or not any(m and m.group(2) != "O" for m in tagged):
        return None
    sentences, tokens, tags, start = [], [], [], 0
    for number, (line, match) in enumerate(zip(lines + [""], tagged + [None]), start=1):
        if match:
            start = start or number
            tokens.append(match.group(1))
            tags.append(match.group(2))
        elif not line.strip() and tokens:
            sentences.append((start, tokens, tags))
            tokens, tags, start = [], [], 0
    return sentences


def _tagged_examples(sentences, source: str, ner: Format) -> FileData:
    examples, bad = [], []
    for line, tokens, tags in sentences:
        try:
            examples.append(ner.to_example({"tokens": tokens, "labels": tags}, f"{source}:{line}"))
        except ValueError as err:
            bad.append(BadRecord(f"{source}:{line}", str(err)))
    return FileData(examples, bad, "ner")


ONE_PER_LINE_MIN = 3
"""A .txt of at least this many lines and no blank line between them holds one sample per line."""
WRAP_WIDTH = 40
"""A line this long that stops mid-sentence, the next going on in lower case, is wrapped prose."""


def one_per_line(text: str) -> list[tuple[int, str]] | None:
    """(line number, text) of each line, when the file is one sample per line (no blank line between
    its lines, several of them); None for prose in paragraphs. Read as one block, such a file became
    one example cut at max_length: 60 lines kept 69 % of their tokens, 2,000 lines 1 %.

    >>> one_per_line("first sample\\nsecond sample\\nthird sample\\n")
    [(1, 'first sample'), (2, 'second sample'), (3, 'third sample')]
    >>> one_per_line("A paragraph\\nwrapped.\\n\\nAnother one.\\n") is None
    True
    """
    lines = text.strip("\n").split("\n")
    if len(lines) < ONE_PER_LINE_MIN or any(not line.strip() for line in lines):
        return None
    # one paragraph wrapped over lines: a line that stops mid-sentence, the next going on in lower case
    wrapped = sum(1 for line, after in zip(lines, lines[1:]) if len(line) >= WRAP_WIDTH
                  and not re.search(r"[.!?:;。！？\"')\]]\s*$", line) and re.match(r"\s*[a-z]", after))
    if wrapped * 3 > len(lines) - 1:
        return None
    start = len(text) - len(text.lstrip("\n"))
    first = text[:start].count("\n") + 1
    return [(first + n, line.strip()) for n, line in enumerate(lines)]


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
