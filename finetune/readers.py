"""Reading training files: one reader per file type, each yielding (origin, record) or a
BadRecord, and the shapes of plain text (one sample per line, BIO-tagged lines) that decide how a
text file is read. `finetune.data` turns what they read into examples."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Iterator

from .formats import detect_format
from .types import BadRecord, DataError

Item = tuple[str, object] | BadRecord
"""What readers yield: (origin, record) for a parsed record, BadRecord for one that did not parse."""


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


def decode(data: bytes, source: str) -> str:
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
    text = decode(path.read_bytes(), source)
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
    text = decode(path.read_bytes(), source)
    if delimiter == "\t" and '"' in text and _quote_swallows_tabs(text):
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


def read_dataset(path: Path, source: str) -> Iterator[Item]:
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


__all__ = ["READERS", "Item", "bio_sentences", "decode", "field_names", "json_integer", "json_kind", "one_per_line",
           "read_dataset"]
