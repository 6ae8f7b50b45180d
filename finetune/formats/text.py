"""Plain text for continued pre-training: records with a `text` field, and whole text files.

A file is cut into blocks of whole paragraphs (blank-line separated) of up to about BLOCK_CHARS
characters, so each block is a coherent piece that fits a typical training window.

    >>> [(e.origin, e.text) for e in split_blocks("One.\\n\\nTwo.\\n", "notes.txt")]
    [('notes.txt:1', 'One.\\n\\nTwo.')]
"""

from __future__ import annotations

from ..types import Example
from ._common import required_text

FIELD = "text"
FIELDS = "text"
BLOCK_CHARS = 2000


def detect(record: dict, field: str = FIELD) -> bool:
    return field in record


def to_example(record: dict, origin: str, field: str = FIELD) -> Example:
    text = required_text(record, field).strip()
    if not text:
        raise ValueError(f"field {field!r} is empty")
    return Example(kind="text", text=text, origin=origin)


def paragraphs(text: str) -> list[tuple[int, str]]:
    """Text → [(first line number, paragraph)], paragraphs separated by blank lines.

    >>> paragraphs("a\\nb\\n\\n\\nc")
    [(1, 'a\\nb'), (5, 'c')]
    """
    found, lines, start = [], [], 0
    for number, line in enumerate(text.split("\n") + [""], start=1):
        if line.strip():
            start = start or number
            lines.append(line.rstrip())
        elif lines:
            found.append((start, "\n".join(lines)))
            lines, start = [], 0
    return found


def split_blocks(text: str, source: str, block_chars: int = BLOCK_CHARS) -> list[Example]:
    """A whole file's text → text Examples of consecutive paragraphs, origin "source:line".

    A paragraph longer than `block_chars` stays whole (tokenizing truncates it): cutting inside
    a paragraph would start a block mid-thought.
    """
    blocks: list[tuple[int, list[str]]] = []
    size = 0
    for line, paragraph in paragraphs(text):
        if blocks and size + 2 + len(paragraph) <= block_chars:
            blocks[-1][1].append(paragraph)
            size += 2 + len(paragraph)
        else:
            blocks.append((line, [paragraph]))
            size = len(paragraph)
    return [Example(kind="text", text="\n\n".join(parts), origin=f"{source}:{line}") for line, parts in blocks]
