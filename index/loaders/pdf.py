"""PDF through pypdf: the text layer of each page, titled "page N"."""

from __future__ import annotations

import logging
from pathlib import Path

from ..types import Document, LoadError, Section


def load(path: Path, source: str, options) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf logs every recoverable oddity
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise LoadError(f"{source}: PDF is encrypted; save an unencrypted copy to index it")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as err:
        raise LoadError(f"{source}: corrupt or unreadable PDF ({type(err).__name__}: {err}); "
                        "re-export it or remove it") from None
    parts, sections, offset = [], [], 0
    for number, page in enumerate(pages, start=1):
        page = page.replace("\r\n", "\n").strip()
        if page:
            sections.append(Section((f"page {number}",), offset, offset + len(page)))
            parts.append(page)
            offset += len(page) + 2
    if not parts:
        raise LoadError(f"{source}: PDF has no text layer (scanned?); run OCR on it first")
    return [Document(source, "\n\n".join(parts), tuple(sections), first_line=None)]
