"""Reading bytes as text, with the errors a user can act on."""

from __future__ import annotations

from pathlib import Path

from ..types import Document, LoadError, Section

BINARY_SNIFF_BYTES = 8192


class UnsupportedFile(Exception):
    """Not a file we can index (unknown type, binary, too big): skipped and reported, not an error."""


BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_text(data: bytes, source: str) -> str:
    """Text bytes → str with LF line ends. UTF-8, and UTF-8/16/32 with a byte-order mark, decode;
    other bytes with NULs are binary (skipped); bad bytes → LoadError naming the line.

    >>> decode_text("\\ufeffcafé\\r\\n".encode("utf-16-le"), "a.txt")
    'café\\n'
    """
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    if encoding is not None:
        data = data[len(next(bom for bom, name in BOMS if name == encoding)):]
    elif b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise UnsupportedFile("binary file (text must be UTF-8, or UTF-16/32 with a byte-order mark)")
    try:
        text = data.decode(encoding or "utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count("\n".encode(encoding or "utf-8")) + 1
        raise LoadError(f"{source}: not valid {encoding or 'UTF-8'} at line {line} (byte {err.start}); "
                        "re-save it as UTF-8") from None
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

    >>> sections = sections_from_headings("intro\\n# A\\nx\\n## B\\ny", [(6, 1, "A"), (12, 2, "B")])
    >>> [(s.title_path, s.start, s.end) for s in sections]
    [((), 0, 6), (('A',), 6, 12), (('A', 'B'), 12, 18)]
    """
    sections, stack = [], []
    starts = [offset for offset, _, _ in headings] + [len(text)]
    if not headings or starts[0] > 0:
        sections.append(Section((), 0, starts[0]))
    for (offset, level, title), end in zip(headings, starts[1:]):
        stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
        sections.append(Section(tuple(t for _, t in stack), offset, end))
    return tuple(s for s in sections if text[s.start : s.end].strip())
