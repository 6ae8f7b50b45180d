"""HTML: the main text only. Scripts, styles, navigation, headers and footers are dropped;
<main> or <article> is preferred when the page has one; h1–h6 start sections."""

from __future__ import annotations

from pathlib import Path

from ..types import Document
from .common import read_text, sections_from_headings

_DROP = ("script", "style", "nav", "header", "footer", "aside", "noscript", "form", "template", "svg")
_BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "hr", "li", "main", "ol", "p", "section", "summary", "table",
    "td", "th", "tr", "ul", "br",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def table_rows(table) -> list[str]:
    """A <table> → one line per row, each cell named by its column header when the table has one,
    so that a row reads on its own (in a chunk, a sentence, a prompt):

    <tr><th>Country</th><th>Per diem</th></tr><tr><td>Germany</td><td>€62</td></tr> → ["Country: Germany; Per diem: €62"]
    """
    rows = [[" ".join(cell.get_text().split()) for cell in row.find_all(["th", "td"])]
            for row in table.find_all("tr")]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    first = table.find("tr")
    header = rows[0] if first is not None and first.find("th") and not first.find("td") else None
    if header is None:
        return [" | ".join(row) for row in rows]
    lines = []
    for row in rows[1:]:
        named = [f"{name}: {value}" if name else value for name, value in zip(header + [""] * len(row), row) if value]
        lines.append("; ".join(named))
    return lines or [" | ".join(header)]


def blocks(root) -> list[tuple[int, str]]:
    """An element → its text as (heading level or 0, text) blocks, in page order.

    <div>a <b>b</b></div><h2>T</h2><p>c</p> → [(0, "a b"), (2, "T"), (0, "c")]
    """
    from bs4 import NavigableString, Tag
    from bs4.element import PreformattedString

    out: list[tuple[int, str]] = []
    words: list[str] = []

    def flush():
        text = " ".join("".join(words).split())
        if text:
            out.append((0, text))
        words.clear()

    # An explicit stack, not recursion: a page of 20,000 nested <div>s must not blow Python's stack.
    stack = [(iter(root.children), False)]
    while stack:
        children, is_block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if is_block:
                flush()
            continue
        if isinstance(child, PreformattedString):  # comments, doctypes, CDATA
            continue
        if isinstance(child, NavigableString):
            words.append(str(child))
        elif not isinstance(child, Tag):
            continue
        elif child.name in _HEADINGS or child.name == "pre":
            flush()
            text = child.get_text().strip("\n") if child.name == "pre" else " ".join(child.get_text().split())
            if text.strip():
                out.append((_HEADINGS.get(child.name, 0), text))
        elif child.name == "table":
            flush()
            caption = child.find("caption")
            if caption is not None and caption.get_text().strip():
                out.append((0, " ".join(caption.get_text().split())))
            out.extend((0, line) for line in table_rows(child))
        else:
            if child.name in _BLOCKS:
                flush()
            stack.append((iter(child.children), child.name in _BLOCKS))

    flush()
    return out


def load(path: Path, source: str, options) -> list[Document]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text(path, source), "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    parts, headings, offset = [], [], 0
    for level, text in blocks(root):
        if level:
            headings.append((offset, level, text))
        parts.append(text)
        offset += len(text) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        return []
    return [Document(source, text, sections_from_headings(text, headings), title=title, first_line=None)]
