"""Markdown-ish text → its blocks: fenced code, tables, lists, quotes, HTML, headings and prose
paragraphs, each with its character span. The chunker keeps a block whole (and a lead-in sentence
ending in ":" with the block it introduces); answering shows a block as the passage that answers.

Plain text, HTML converted to text, PDF and Word text come out as paragraphs; Markdown's
structures are recognised by their lines, as a reader sees them, without a full CommonMark parser.

    >>> text = "To install it:\\n\\n```bash\\npip install x\\n\\npip check\\n```\\n\\n- one\\n- two\\n"
    >>> [(b.kind, b.text) for b in split_blocks(text)]
    [('paragraph', 'To install it:'), ('code', '```bash\\npip install x\\n\\npip check\\n```'), ('list', '- one\\n- two')]
    >>> split_blocks(text)[0].introduces
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})\s*([\w+#.-]*)")
"""A code fence, however deep it is indented (MkDocs content tabs indent theirs by four)."""
_TABLE_ROW = re.compile(r"^\s*\|")
_ITEM = re.compile(r"^ {0,3}(?:[-*+•]|\d{1,3}[.)])\s+\S")
_QUOTE = re.compile(r"^ {0,3}>")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s")
_HTML = re.compile(r"^ {0,3}</?[a-zA-Z][\w-]*(?:\s[^>]*)?/?>?")
SITE_MARKUP = re.compile(r"^\s*(?:\{\{[<%].*[%>]\}\}|=== \".*\"|-{2}8<-{2}.*)\s*$")
"""A site generator's line of markup: a Hugo shortcode, an MkDocs content tab, a snippet include."""
_ADMONITION = re.compile(r"^ {0,3}(?:!!!|\?\?\?\+?)\s*\w+")
_RULE = re.compile(r"^ {0,3}(?:[-*_]\s*){3,}$")
_INDENTED = re.compile(r"^(?: {2,}|\t)\S")
LEAD_IN_END = re.compile(r"(?:[:：]|…|\.\.\.|\*\*|__)\s*$")
"""A paragraph that ends in a colon or an ellipsis ("like this…"), or is a bold label, introduces
what follows it."""
POINTS_ON = re.compile(r"\b(?:the following|below|as follows|like this|like so|for example|for instance)\b"
                       r"|如下|例如|以下|下面", re.IGNORECASE)
"""Words in a paragraph's last sentence that point at what comes after it."""
MARKUP = ("html", "shortcode", "rule")
"""Blocks that are page markup, never an answer."""
DIAGRAMS = ("mermaid", "dot", "plantuml")
"""Code blocks in these languages draw a picture: not text to answer with."""


@dataclass(frozen=True)
class Block:
    kind: str
    """code, table, list, quote, admonition, html, shortcode, heading, rule or paragraph."""
    start: int
    end: int
    text: str
    language: str = ""
    """A code block's info string ("bash", "mermaid")."""

    @property
    def introduces(self) -> bool:
        """A prose paragraph that leads in to the block after it: 'For example:', '**Install**',
        'This could be done like this…', 'The following command installs it.'"""
        if self.kind != "paragraph":
            return False
        last = re.split(r"(?<=[.!?。！？])\s+", self.text.strip())[-1]
        return bool(LEAD_IN_END.search(self.text) or POINTS_ON.search(last))

    @property
    def is_markup(self) -> bool:
        """Page structure or a diagram, not prose a reader wants as an answer."""
        return self.kind in MARKUP or (self.kind == "code" and self.language.lower() in DIAGRAMS)

    @property
    def is_structure(self) -> bool:
        """A block a lead-in sentence introduces: code, a table or a list."""
        return self.kind in ("code", "table", "list") and not self.is_markup

    @property
    def fences(self) -> tuple[bool, bool]:
        """A code block's: whether its text holds its opening fence, and its closing one (a
        chunk may start or end inside a long block)."""
        lines = self.text.splitlines()
        opening = bool(FENCE.match(lines[0]))
        return opening, bool(FENCE.match(lines[-1])) and (len(lines) > 1 or not opening)

    @property
    def is_open_code(self) -> bool:
        """A code block whose closing fence is not in the text: the chunk ended inside it."""
        return self.kind == "code" and not self.fences[1]


_STARTS = ((FENCE, "code"), (SITE_MARKUP, "shortcode"), (_HEADING, "heading"), (_TABLE_ROW, "table"),
           (_ITEM, "list"), (_QUOTE, "quote"), (_ADMONITION, "admonition"))
"""Line patterns that start a block wherever they stand, first match wins."""


def _kind(line: str, previous: str | None) -> str:
    """The block a line starts, given the kind of the block it follows (None: after a blank line)."""
    for pattern, kind in _STARTS:
        if pattern.match(line):
            return kind
    if _RULE.match(line) and previous is None:
        return "rule"
    if _HTML.match(line) and previous in (None, "html"):
        return "html"
    return "paragraph"


def _continues(kind: str, line: str) -> bool:
    """Whether a non-blank line right after a line of a `kind` block belongs to that block."""
    if kind == "table":
        return bool(_TABLE_ROW.match(line))
    if kind == "list":
        return not (_HEADING.match(line) or FENCE.match(line) or _TABLE_ROW.match(line) or SITE_MARKUP.match(line))
    if kind == "quote":
        return not (_HEADING.match(line) or FENCE.match(line))
    if kind == "admonition":
        return bool(_INDENTED.match(line))
    if kind in ("heading", "rule", "shortcode"):
        return False
    if kind == "html":
        return not SITE_MARKUP.match(line)
    # a paragraph runs on until a blank line or a line that opens another block
    return _kind(line, kind) in ("paragraph", "html") or _INDENTED.match(line) is not None


def _after_blank(kind: str, line: str) -> bool:
    """Whether a block of `kind` goes on after a blank line with `line`: a list's next item or an
    indented continuation, an admonition's indented body."""
    if kind == "list":
        return bool(_ITEM.match(line) or _INDENTED.match(line))
    if kind == "admonition":
        return bool(_INDENTED.match(line))
    return False


def _opens_inside_code(lines: list[tuple[int, str]]) -> int | None:
    """The index of the fence that closes a code block begun before the text (a chunk cut inside
    a long code block): the first fence is bare, and either read from outside a fence naming a
    language would close a block (only an opening fence names one: a chunk cut inside code at
    both ends), or fences are odd in number and code precedes the first."""
    fences = [i for i, (_, line) in enumerate(lines) if FENCE.match(line)]
    if not fences or FENCE.match(lines[fences[0]][1]).group(2):
        return None
    if any(FENCE.match(lines[i][1]).group(2) for i in fences[1::2]):
        return fences[0]
    if len(fences) % 2 == 0:
        return None
    before = [line for _, line in lines[: fences[0]] if line.strip()]
    return fences[0] if before and not before[-1].rstrip().endswith((":", "：")) else None


def split_blocks(text: str, start: int = 0, end: int | None = None, cut: bool = False) -> list[Block]:
    """The blocks of text[start:end], in order, each trimmed of surrounding blank lines. `cut`:
    the text is a chunk, which may begin inside a code block (a chunk of a long one); it then
    starts with that block's end.

    >>> [b.kind for b in split_blocks("x = 1\\ny = 2\\n```\\n\\nDone.", cut=True)]
    ['code', 'paragraph']
    """
    end = len(text) if end is None else end
    lines, offset = [], start
    for line in text[start:end].splitlines(keepends=True):
        lines.append((offset, line.rstrip("\n")))
        offset += len(line)
    blocks: list[Block] = []
    i = 0
    closing = _opens_inside_code(lines) if cut and lines else None
    if closing is not None:
        first = next(k for k, (_, line) in enumerate(lines) if line.strip())
        finish = lines[closing][0] + len(lines[closing][1].rstrip())
        begin = lines[first][0] + len(lines[first][1]) - len(lines[first][1].lstrip())
        blocks.append(Block("code", begin, finish, text[begin:finish]))
        i = closing + 1
    while i < len(lines):
        begin, line = lines[i]
        if not line.strip():
            i += 1
            continue
        kind = _kind(line, None)
        language = ""
        j = i + 1
        if kind == "code":
            fence = FENCE.match(line)
            marker, language = fence.group(1), fence.group(2)
            while j < len(lines) and not lines[j][1].strip().startswith(marker[0] * len(marker)):
                j += 1
            j = min(j + 1, len(lines))  # the closing fence belongs to the block
        else:
            while j < len(lines):
                following = lines[j][1]
                if following.strip():
                    if not _continues(kind, following):
                        break
                    j += 1
                    continue
                after = next((k for k in range(j, len(lines)) if lines[k][1].strip()), None)
                if after is None or not _after_blank(kind, lines[after][1]):
                    break
                j = after
        begin += len(line) - len(line.lstrip())
        finish = lines[j - 1][0] + len(lines[j - 1][1].rstrip())
        blocks.append(Block(kind, begin, finish, text[begin:finish], language))
        i = j
    return blocks


def fenced(block: Block) -> Block:
    """A code block as Markdown can show it: with the fences a chunk's start or end cut off,
    and '# …' where its code goes on in the file; other blocks as they are.

    >>> print(fenced(split_blocks("x = 1\\n```\\n\\nDone.", cut=True)[0]).text)
    ```
    # …
    x = 1
    ```
    """
    if block.kind != "code":
        return block
    opening, closing = block.fences
    lines = block.text.splitlines()
    marker = FENCE.match(lines[0] if opening else lines[-1]).group(1) if opening or closing else "```"
    text = block.text if opening else f"{marker}\n# …\n{block.text}"
    return replace(block, text=text if closing else f"{text}\n# …\n{marker}")


_BOLD = re.compile(r"^(\*\*|__)(.+)\1$")
_CODE = re.compile(r"^(`+)(.+)\1$")


def unbolded(heading: str) -> str:
    """A heading without the bold around it ("**Serving**" → "Serving").

    >>> unbolded("**`env use`**")
    '`env use`'
    """
    text = heading.strip()
    while (bold := _BOLD.match(text)) is not None:
        text = bold.group(2).strip()
    return text


def heading_text(heading: str) -> str:
    """A heading without the bold or backticks around it; what backticks hold is kept as written.

    >>> heading_text("**`env use`**"), heading_text("`__init__`")
    ('env use', '__init__')
    """
    text = unbolded(heading)
    code = _CODE.match(text)
    return code.group(2).strip() if code else text


# mkdocstrings' link to an API page, "[add_rows][textual.widgets.DataTable.add_rows]": its target is
# defined by the site, so a terminal would show both brackets
_CROSS_REFERENCE = re.compile(r"\[([^\]`]+)\]\[[A-Za-z_]\w*(?:\.\w+)+\]")
_ADMONITION_HEAD = re.compile(r"^ {0,3}(?:!!!|\?\?\?\+?)\s*([\w-]+)(?:\s+\"([^\"]*)\")?")


def as_markdown(block: Block) -> Block:
    """A block as any Markdown renderer shows it: code with its fences (`fenced`), an MkDocs
    admonition ('!!! note' over an indented body, which a terminal would show as a code block)
    as a quote under its title, a link to an API page by its text alone.

    >>> print(as_markdown(split_blocks('!!! tip "Faster"\\n    Use `--no-root`.\\n\\n    It skips the project.')[0]).text)
    > **Faster**
    >
    > Use `--no-root`.
    >
    > It skips the project.
    """
    if block.kind == "code":
        return fenced(block)
    block = replace(block, text=_CROSS_REFERENCE.sub(r"\1", block.text))
    if block.kind != "admonition":
        return block
    head, *body = block.text.splitlines()
    match = _ADMONITION_HEAD.match(head)  # matches wherever the block was found an admonition
    title = match.group(2) or match.group(1).capitalize()
    lines = [line[4:] if line.startswith("    ") else line.lstrip("\t") for line in body]
    while lines and not lines[0].strip():  # a body may open with a blank line
        lines.pop(0)
    return replace(block, text="\n".join([f"> **{title}**", ">", *(f"> {line}".rstrip() for line in lines)]))


__all__ = ["Block", "DIAGRAMS", "FENCE", "LEAD_IN_END", "POINTS_ON", "SITE_MARKUP", "as_markdown", "fenced",
           "heading_text", "split_blocks", "unbolded"]
