"""reStructuredText: a title is a line under (and maybe over) a row of one punctuation mark;
levels follow the order in which adornment styles first appear, as in docutils."""

from __future__ import annotations

import re
from pathlib import Path

from ..types import Document
from .common import read_text, sections_from_headings

_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.!$%&,;<>?@_|/\\])\1{2,}\s*$")


def find_titles(text: str) -> list[tuple[int, int, str]]:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    styles: list[tuple[str, bool]] = []
    titles = []
    for i in range(1, len(lines)):
        under, title = lines[i].strip(), lines[i - 1].strip()
        if not _ADORNMENT.match(under) or not title or _ADORNMENT.match(title) or len(under) < len(title):
            continue
        over = i >= 2 and lines[i - 2].strip() == under
        style = (under[0], over)
        if style not in styles:
            styles.append(style)
        titles.append((offsets[i - 2] if over else offsets[i - 1], styles.index(style) + 1, title))
    return titles


def load(path: Path, source: str, options) -> list[Document]:
    text = read_text(path, source)
    if not text.strip():
        return []
    return [Document(source, text, sections_from_headings(text, find_titles(text)))]
