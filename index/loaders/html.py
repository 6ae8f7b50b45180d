"""HTML: the main text only. Scripts, styles, navigation, headers and footers are dropped;
<main> or <article> is preferred when the page has one; h1–h6 start sections."""

from __future__ import annotations

from pathlib import Path

from ..types import Document
from ._common import read_text, sections_from_headings

_DROP = ("script", "style", "nav", "header", "footer", "aside", "noscript", "form", "template", "svg")
_BLOCKS = ("p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6")


def load(path: Path, source: str, options) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text(path, source), "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    parts, headings, offset = [], [], 0
    for block in root.find_all(_BLOCKS):
        if block.find_parent(_BLOCKS):  # its text is already in the enclosing block
            continue
        words = block.get_text(" ", strip=True) if block.name != "pre" else block.get_text()
        if not words.strip():
            continue
        if block.name[0] == "h" and block.name[1:].isdigit():
            headings.append((offset, int(block.name[1]), " ".join(words.split())))
        parts.append(words)
        offset += len(words) + 2
    if not parts:  # a page of bare text without block elements
        parts = [root.get_text(" ", strip=True)]
    text = "\n\n".join(parts)
    if not text.strip():
        return []
    return [Document(source, text, sections_from_headings(text, headings), title=title)]
