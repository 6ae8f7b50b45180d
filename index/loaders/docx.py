"""Word .docx through python-docx: paragraphs; Title/Heading N styles start sections; tables as rows."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ..types import Document, LoadError
from .common import sections_from_headings

_HEADING = re.compile(r"^Heading (\d)$")


def load(path: Path, source: str, options) -> list[Document]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError, zlib.error, EOFError,
            OSError, NotImplementedError) as err:  # a damaged zip fails in any of these, by where it is damaged
        raise LoadError(f"{source}: corrupt or unreadable .docx ({type(err).__name__}); "
                        "re-save it from Word or remove it") from None
    parts, headings, offset = [], [], 0
    for paragraph in document.paragraphs:
        words = paragraph.text.strip()
        if not words:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        level = 1 if style == "Title" else int(m.group(1)) if (m := _HEADING.match(style)) else 0
        if level:
            headings.append((offset, level, words))
        parts.append(words)
        offset += len(words) + 2
    for table in document.tables:
        for row in table.rows:
            cells = " | ".join(cell.text.strip() for cell in row.cells)
            if cells.strip(" |"):
                parts.append(cells)
                offset += len(cells) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        return []
    return [Document(source, text, sections_from_headings(text, headings), first_line=None)]
