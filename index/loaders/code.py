"""Source code: the whole file; in Python, top-level `def`/`class` lines start titled sections."""

from __future__ import annotations

import re
from pathlib import Path

from ..types import Document
from .common import read_text, sections_from_headings, whole

SUFFIXES = (".py .pyi .js .mjs .ts .tsx .jsx .java .go .rs .c .h .cpp .hpp .cc .cs .rb .php .sh .bash "
            ".zsh .sql .kt .swift .scala .lua .r .m .toml .yaml .yml .ini .cfg .css .scss .tex .proto .ipynb").split()
_PY_DEF = re.compile(r"^(?:async\s+)?(def|class)\s+(\w+)", re.M)


def load(path: Path, source: str, options) -> list[Document]:
    text = read_text(path, source)
    if path.suffix.lower() not in (".py", ".pyi") or not text.strip():
        return whole(source, text)
    headings = [(m.start(), 1, f"{m.group(1)} {m.group(2)}") for m in _PY_DEF.finditer(text)]
    return [Document(source, text, sections_from_headings(text, headings))]
