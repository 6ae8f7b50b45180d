"""Markdown: ATX (`## Title`) and setext (underlined) headings give each section its path.

Lines inside fenced code blocks are never headings; YAML front matter is dropped from the
text, and its `title:` becomes the document title.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..types import Document
from .common import read_text, sections_from_headings

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")  # "# C#" keeps its "#"
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_NOT_A_TITLE = re.compile(r"^ {0,3}(?:#|```|~~~|[-*+] |\d+[.)] |>)")  # a `---` under these is a rule
_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)---[ \t]*\n", re.S)


def strip_front_matter(text: str) -> tuple[str, str]:
    """'---\\ntitle: X\\n---\\nbody' → ('body', 'X')."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, ""
    title = re.search(r"^title:\s*[\"']?(.+?)[\"']?\s*$", match.group(1), re.M)
    return text[match.end():], title.group(1) if title else ""


def find_headings(text: str) -> list[tuple[int, int, str]]:
    """[(offset, level, title)] of the headings outside code fences."""
    headings, offset, fence, previous = [], 0, None, None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\n")
        opener = _FENCE.match(bare)
        if fence:
            fence = None if opener and opener.group(1) == fence else fence
        elif opener:
            fence = opener.group(1)
        elif match := _ATX.match(bare):
            headings.append((offset, len(match.group(1)), match.group(2).strip()))
        elif _SETEXT.match(bare) and previous and previous[1].strip() and not _NOT_A_TITLE.match(previous[1]):
            headings.append((previous[0], 1 if bare.strip()[0] == "=" else 2, previous[1].strip()))
        previous = (offset, bare)
        offset += len(line)
    return headings


def load(path: Path, source: str, options) -> list[Document]:
    raw = read_text(path, source)
    text, title = strip_front_matter(raw)
    if not text.strip():
        return []
    first_line = 1 + raw[: len(raw) - len(text)].count("\n")  # the lines of the front matter dropped
    # Text before the first heading is titled by the front matter's title (see Chunker).
    return [Document(source, text, sections_from_headings(text, find_headings(text)), title=title,
                     first_line=first_line)]
