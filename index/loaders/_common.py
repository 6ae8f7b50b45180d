"""Reading bytes as text, with the errors a user can act on."""

from __future__ import annotations

from pathlib import Path

from ..types import Document, LoadError, Section

BINARY_SNIFF_BYTES = 8192


class UnsupportedFile(Exception):
    """Not a file we can index (unknown type, binary, too big): skipped and reported, not an error."""


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM) → str with LF line ends; bad bytes → LoadError naming the line."""
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise UnsupportedFile("binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise LoadError(f"{source}: not valid UTF-8 at line {line} (byte {err.start}); re-save it as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path, source: str) -> str:
    return decode_text(path.read_bytes(), source)


def whole(source: str, text: str, title: str = "") -> list[Document]:
    """One document, one untitled section: the shape of every format without structure."""
    if not text.strip():
        return []
    return [Document(source, text, (Section((), 0, len(text)),), title=title)]


def sections_from_headings(text: str, headings: list[tuple[int, int, str]]) -> tuple[Section, ...]:
    """[(offset, level, title)] in text order → sections with heading paths.

    >>> sections_from_headings("intro\\n# A\\nx\\n## B\\ny", [(6, 1, "A"), (12, 2, "B")])
    (Section((), 0, 6), Section(('A',), 6, 12), Section(('A', 'B'), 12, 18))
    """
    sections, stack = [], []
    starts = [offset for offset, _, _ in headings] + [len(text)]
    if not headings or starts[0] > 0:
        sections.append(Section((), 0, starts[0]))
    for (offset, level, title), end in zip(headings, starts[1:]):
        stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
        sections.append(Section(tuple(t for _, t in stack), offset, end))
    return tuple(s for s in sections if text[s.start : s.end].strip())
