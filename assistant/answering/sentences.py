"""Sentences of a chunk's text, as grounding ranks them: wrapped lines joined, Markdown markers,
headings, rules and labels dropped, table rows kept whole with their column names, a question kept
with its answer; and a sentence quoted under its section's heading.

    >>> split_sentences("# Care\\n- Descale every 45\\n  days. Use vinegar!")
    ['Descale every 45 days.', 'Use vinegar!']
"""

from __future__ import annotations

import re

from index.blocks import DIAGRAMS, FENCE, SITE_MARKUP, unbolded
from index.chunking import CJK_SENTENCE_END
from index.terms import CJK_CHARACTER

# A sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket, or where the
# chunker ends one in Chinese or Japanese text (after 。！？；, which take no space, and any closing
# quote). Lines are joined within a paragraph (prose is often hard-wrapped), except list items,
# table rows and headings, which stand alone.
_SENTENCE_END = re.compile(rf"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|{CJK_SENTENCE_END}")
_ENDS_SENTENCE_OR_NUMBER = re.compile(r"[.!?:;。！？：；\d]")
_ITEM = re.compile(r"^\s*(?:[-*+•]\s+|\d+[.)]\s+|>\s*|\|)")
_HTML_LINE = re.compile(r"^\s*(?:</?[a-zA-Z][^>]*>\s*)+$")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_TABLE_RULE = re.compile(r"^[\s|:+-]*$")
_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_LEAD_IN = re.compile(r"^(\s*(?:[-*+•]\s+|\d+[.)]\s+)?)(\*\*|__)([^*_]+?)[.:]\2\s+(?=\S)")


def _cells(row: str) -> list[str]:
    """'| E7 | Float sensor |' → ['E7', 'Float sensor']"""
    return [cell.strip().rstrip(".").strip() for cell in row.strip().strip("|").split("|")]


def _lines(text: str) -> list[tuple[str, bool]]:
    """Text → logical lines, each with whether it may be split into sentences: wrapped prose
    joined, items apart, rules, headings and short labels ("Fixes") dropped (a chunk's headings are
    its `title_path`). A table row under a header row names its cells, as the HTML loader does
    ('Code: E7; Meaning: The float sensor is stuck'), and stays whole."""
    lines: list[tuple[str, bool]] = []
    raw_lines = text.splitlines()
    header: list[str] | None = None
    joinable = False
    diagram = None  # the fence of a diagram being skipped: its lines are drawing, not sentences
    for n, raw in enumerate(raw_lines):
        fence = FENCE.match(raw)
        if diagram is not None:
            diagram = None if fence and fence.group(1)[0] == diagram else diagram
            continue
        if fence and fence.group(2).lower() in DIAGRAMS:
            diagram, joinable = fence.group(1)[0], False
            continue
        if _HTML_LINE.match(raw) or SITE_MARKUP.match(raw):  # a lone HTML tag, a site generator's markup
            joinable = False
            continue
        # a bold lead-in names what its line is about: '**Child lock.** Hold Power' → 'Child lock: Hold Power'
        raw = _EMPHASIS.sub(r"\2", _LEAD_IN.sub(r"\1\3: ", raw))
        is_row = raw.lstrip().startswith("|")
        if not is_row:
            header = None
        if not raw.strip() or _TABLE_RULE.match(raw) or _HEADING.match(raw):
            joinable = False
            continue
        if is_row:
            cells = _cells(raw)
            following = raw_lines[n + 1] if n + 1 < len(raw_lines) else ""
            if header is None and "|" in following and _TABLE_RULE.match(following):
                header = cells  # the header row names the columns of the rows below it
            elif header is not None and len(header) == len(cells):
                lines.append(("; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells) if c), False))
            else:
                lines.append((" ; ".join(c for c in cells if c), False))
            joinable = False
        elif _ITEM.match(raw):
            lines.append((_ITEM.sub("", raw).strip(), True))
            joinable = True  # an item may wrap onto the next line
        elif joinable and lines:
            lines[-1] = (_join(lines[-1][0], raw.strip()), True)
        else:
            lines.append((raw.strip(), True))
            joinable = True
    return [(line, split) for line, split in lines if not _is_label(line)]


def _join(left: str, right: str) -> str:
    """Two pieces of one paragraph or sentence: a space between them, but none before Chinese or
    Japanese text, which is written without spaces."""
    return left + ("" if CJK_CHARACTER.match(right[:1]) else " ") + right


def _is_label(line: str) -> bool:
    """A short line with no sentence end and no number, which names what follows ('Known issues',
    '已知问题'): at most three words, or six CJK characters, which are written without spaces."""
    short = len(line.split()) <= 3 and len(CJK_CHARACTER.findall(line)) <= 6
    return short and not _ENDS_SENTENCE_OR_NUMBER.search(line)


def split_sentences(text: str) -> list[str]:
    """Text → its sentences: wrapped lines joined, Markdown markers, headings, table rules and
    labels dropped, table rows whole with their column names; a question is kept with the
    sentence after it (an FAQ's answer).

    >>> split_sentences("# Care\\n- Descale every 45\\n  days. Use vinegar!\\n|---|---|\\nWhy? Because.")
    ['Descale every 45 days.', 'Use vinegar!', 'Why? Because.']
    >>> split_sentences("| Code | Meaning |\\n|---|---|\\n| E7 | Float **stuck**. Rinse it. |")
    ['Code: E7; Meaning: Float stuck. Rinse it']
    """
    sentences: list[str] = []
    for line, splittable in _lines(text):
        for part in _SENTENCE_END.split(line) if splittable else [line]:
            part = part.strip(" ;\t")
            if len(part) < 3:
                continue
            if sentences and sentences[-1].endswith(("?", "？")) and not part.endswith(("?", "？")):
                sentences[-1] = _join(sentences[-1], part)
            else:
                sentences.append(part)
    return sentences


def with_section(sentence: str, section: str) -> str:
    """A sentence quoted with the heading it sits under, which often holds what the sentence
    leaves out (a release's version, an FAQ's question); left out when it adds no word.

    >>> with_section("Quiet Boil mode.", "Firmware 3.2.1 — 14 January 2025")
    'Firmware 3.2.1 — 14 January 2025: Quiet Boil mode.'
    >>> with_section("Only the tray may go in the dishwasher.", "Is the toaster dishwasher safe?")
    'Is the toaster dishwasher safe? Only the tray may go in the dishwasher.'
    >>> with_section("The warranty lasts 30 months.", "Warranty")
    'The warranty lasts 30 months.'
    """
    words = set(re.findall(r"\w+", sentence.lower()))
    if not section or set(re.findall(r"\w+", section.lower())) <= words:
        return sentence
    return f"{section} {sentence}" if section.rstrip().endswith("?") else f"{section}: {sentence}"


_PART_HEADING = re.compile(
    r"(?:options|arguments|parameters|usage|syntax|examples?|notes?|see also|returns|attributes|methods"
    r"|raises|properties|bindings|messages|defaults|参数|参数说明|示例|使用示例|示例代码|用法|说明|注意|注意事项)",
    re.IGNORECASE)


def section_title(title_path: tuple[str, ...] | list[str]) -> str:
    """The heading an answer is shown under: the last of `title_path`, with the one above it when
    the last names a part of something rather than a thing ("Options" of which command?).

    >>> section_title(("Commands", "version", "Options")), section_title(("Commands", "version"))
    ('version > Options', 'version')
    >>> section_title(("**部署**", "3. 参数说明"))
    '部署 > 3. 参数说明'
    """
    if not title_path:
        return ""
    last = title_path[-1]
    if len(title_path) > 1 and _PART_HEADING.fullmatch(re.sub(r"[\W\d_]+", " ", unbolded(last)).strip()):
        return f"{unbolded(title_path[-2])} > {unbolded(last)}"  # each unbolded: "**version** > Options" would break
    return last


__all__ = ["section_title", "split_sentences", "with_section"]
