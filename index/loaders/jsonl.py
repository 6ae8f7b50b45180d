"""JSON and JSONL: each record with a text field becomes one document.

A JSON file may hold a list of objects or one object; JSONL holds one object per line.
The record's id (or its line/item number) is the document's locator.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..types import Document, LoadError, Section
from .common import read_text

TEXT_FIELDS = ("text", "content", "body", "contents", "passage")
ID_FIELDS = ("_id", "id")


def _number(digits: str) -> int | str:
    """A JSON integer; one too long for Python's int() (over 4,300 digits) stays as its digits."""
    return int(digits) if len(digits) < 4300 else digits


def parse_json(text: str, source: str, where: str) -> object:
    """json.loads with a clear LoadError for bad JSON, nesting too deep to parse and huge numbers."""
    try:
        return json.loads(text, parse_int=_number)
    except json.JSONDecodeError as err:
        line = f"line {err.lineno}" if where == "file" else where
        raise LoadError(f"{source}: {line}: invalid JSON ({err.msg})") from None
    except RecursionError:
        at = "" if where == "file" else f" {where}:"
        raise LoadError(f"{source}:{at} JSON nested too deeply to read") from None


def _records(text: str, source: str, is_lines: bool):
    """Yield (where, record): where is "line N" for JSONL, "item N" for a JSON list."""
    if not is_lines:
        data = parse_json(text, source, "file")
        for number, record in enumerate(data if isinstance(data, list) else [data], start=1):
            yield f"item {number}", record
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield f"line {number}", parse_json(line, source, f"line {number}")


def _pick(record: dict, wanted: str | None, fallbacks: tuple[str, ...]) -> str | None:
    if wanted:
        return wanted if wanted in record else None
    return next((f for f in fallbacks if f in record), None)


def load(path: Path, source: str, options) -> list[Document]:
    is_lines = path.suffix.lower() in (".jsonl", ".ndjson")
    documents = []
    for where, record in _records(read_text(path, source), source, is_lines):
        if not isinstance(record, dict):
            raise LoadError(f"{source}: {where}: expected a JSON object, found {type(record).__name__}")
        field = _pick(record, options.text_field, TEXT_FIELDS)
        if field is None:
            wanted = options.text_field or " or ".join(TEXT_FIELDS)
            raise LoadError(f"{source}: {where}: no field {wanted!r} (fields: {', '.join(record) or 'none'}); "
                            "choose one with --text-field")
        text = record[field]
        if not isinstance(text, str):
            raise LoadError(f"{source}: {where}: field {field!r} is {type(text).__name__}, not text")
        if not text.strip():
            continue
        id_field = _pick(record, options.id_field, ID_FIELDS)
        title_field = _pick(record, options.title_field, ("title",))
        title = record.get(title_field) if title_field else ""
        documents.append(Document(
            source, text, (Section((), 0, len(text)),),
            locator=str(record[id_field]) if id_field else where,
            title=title.strip() if isinstance(title, str) else "", first_line=None,
        ))
    return documents
