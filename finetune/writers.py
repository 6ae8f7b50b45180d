"""Writing records back in the layout they were read from, atomically: what `data clean` writes
is a file the user can read, diff and train on as before.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> path = write_records(folder / "pairs.tsv", "tsv", [{"text": 'He said "hi"', "label": "greeting"}])
    >>> path.read_text(encoding="utf-8").splitlines()
    ['text\\tlabel', 'He said "hi"\\tgreeting']
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from pathlib import Path
from typing import Callable

from core.files import atomic_write_text, staged_folder

from .types import DataError


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _json(records: list[dict]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=1) + "\n"


def _csv(records: list[dict]) -> str:
    header = _header(records)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(record.get(name)) for name in header] for record in records)
    return buffer.getvalue()


def _tsv(records: list[dict]) -> str:
    """TSV as the reader reads it: a tab or line end inside a cell becomes a space (TSV cannot hold
    them); a cell that starts with a quote is quoted, so it reads back as it was."""

    def cell(value) -> str:
        text = " ".join(_cell(value).replace("\t", " ").splitlines())
        return '"' + text.replace('"', '""') + '"' if text.startswith('"') else text

    header = _header(records)
    return "".join("\t".join(cell(value) for value in row) + "\n"
                   for row in [header, *([record.get(name) for name in header] for record in records)])


def _header(records: list[dict]) -> list[str]:
    return list(dict.fromkeys(name for record in records for name in record))


def _cell(value) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _lines(records: list[dict]) -> str:
    return "".join(record["text"].replace("\n", " ") + "\n" for record in records)


def _blocks(records: list[dict]) -> str:
    return "\n\n".join(record["text"] for record in records) + "\n"


def _bio(records: list[dict]) -> str:
    return "\n\n".join("\n".join(f"{token} {tag}" for token, tag in zip(r["tokens"], r["labels"]))
                       for r in records) + "\n"


TEXT_WRITERS: dict[str, Callable[[list[dict]], str]] = {
    "jsonl": _jsonl, "json": _json, "csv": _csv, "tsv": _tsv,
    "lines": _lines, "blocks": _blocks, "bio": _bio,
}
KINDS = (*TEXT_WRITERS, "parquet", "dataset")


def write_records(path: Path, kind: str, records: list[dict]) -> Path:
    """`records` written to `path` as `kind` (one of KINDS); an existing file is replaced whole."""
    path = Path(path)
    if kind in TEXT_WRITERS:
        atomic_write_text(path, TEXT_WRITERS[kind](records) if records else "")
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        pq.write_table(pa.Table.from_pylist(records), tmp)
        os.replace(tmp, path)
    elif kind == "dataset":
        import datasets

        with staged_folder(path) as staging:
            datasets.Dataset.from_list(records).save_to_disk(str(staging))
    else:
        raise DataError(f"cannot write {kind!r} files; one of {', '.join(KINDS)}")
    return path

