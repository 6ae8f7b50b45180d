"""File → documents, one module per format, chosen by file suffix.

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "guide.md"
    >>> _ = path.write_text("# Guide\\n\\nInstall it.\\n")
    >>> load_file(path, "docs/guide.md")
    [Document(source='docs/guide.md', text='# Guide\\n\\nInstall it.\\n', sections=(...), ...)]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..types import Document
from . import code, docx, html, jsonl, markdown, pdf, rst, text
from .common import UnsupportedFile, read_text
from ..walk import Found, walk

LOADERS: dict[str, Callable] = {
    **{suffix: code.load for suffix in code.SUFFIXES},
    ".md": markdown.load, ".markdown": markdown.load, ".mdx": markdown.load,
    ".txt": text.load, ".text": text.load, ".log": text.load, "": text.load_unsuffixed,
    ".rst": rst.load,
    ".html": html.load, ".htm": html.load, ".xhtml": html.load,
    ".pdf": pdf.load,
    ".docx": docx.load,
    ".json": jsonl.load, ".jsonl": jsonl.load, ".ndjson": jsonl.load,
}


@dataclass(frozen=True)
class LoaderOptions:
    text_field: str | None = None
    """JSON/JSONL: the field holding the text (None: text, content, body, contents, passage)."""
    title_field: str | None = None
    """JSON/JSONL: the title field (None: "title" when present)."""
    id_field: str | None = None
    """JSON/JSONL: the record id used as locator (None: "_id" or "id", else the line number)."""
    max_file_bytes: int = 50_000_000
    """Larger files are skipped."""


def loader_for(path: Path) -> Callable | None:
    return LOADERS.get(path.suffix.lower())


def load_file(path: Path, source: str, options: LoaderOptions = LoaderOptions()) -> list[Document]:
    """Documents in `path`; raises UnsupportedFile (skip it) or LoadError (report it)."""
    loader = loader_for(path)
    if loader is None:
        raise UnsupportedFile(f"unsupported file type {path.suffix or '(none)'}")
    size = path.stat().st_size
    if size > options.max_file_bytes:
        raise UnsupportedFile(f"larger than {options.max_file_bytes // 1_000_000} MB")
    if size == 0:
        return []
    return loader(path, source, options)


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """The regular files under `paths`, as `walk` finds them (sorted; hidden ones, FIFOs, devices,
    loops and links out of the folders left out)."""
    return (entry.path for entry in walk(paths) if isinstance(entry, Found))


__all__ = ["LoaderOptions", "UnsupportedFile", "discover", "load_file", "loader_for", "read_text"]
