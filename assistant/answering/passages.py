"""The passage that answers: the best-matching sentence together with what it introduces or belongs
to inside its section (the code block after "For example:", the steps after "To do this:", the
table a sentence refers to, the body under an FAQ question), never the question line itself,
trimmed to a readable size. Where a sentence is the answer (a value, a name), the sentence.

    >>> chunk = Chunk("c1", "docs/faq.md", ("FAQ", "How do I center a widget?"), 0, 99,
    ...               "To center a widget, set `align` on its container:\\n\\n```css\\nScreen {\\n    align: center middle;\\n}\\n```")
    >>> passage = passage_for("To center a widget, set `align` on its container:", chunk)
    >>> print(passage.text)
    To center a widget, set `align` on its container:
    <BLANKLINE>
    ```css
    Screen {
        align: center middle;
    }
    ```
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from index.blocks import FENCE, SITE_MARKUP, Block, as_markdown, split_blocks
from index.names import carries, name_spans, versioned_names
from index.terms import Terms
from index.types import Chunk, Hit

from .grounding import Sentence, names
from .sentences import split_sentences

MAX_LINES = 25
"""A passage longer than this is cut, visibly, after its last whole block that fits."""
MAX_CODE_LINES = 40
"""A code block is kept whole up to this many lines (code cut in half misleads), else cut too."""
SENTENCES_PER_ANSWER = 3
"""A paragraph of up to this many sentences is the answer whole; a longer one gives its best sentence."""
FILL_LINES = 14
"""After the block that answers (and what it introduces), the blocks that follow it in its section
are shown up to this many lines: the example after a how-to, the fix after a symptom, an option's
default beside its description (measured against answering with less: bench/results/answer_quality.md)."""
# "How do I ...?", "问：...", "**题目：** ...", "Q: ..." : the line that asks, whose answer follows it
_QUESTION = re.compile(r"^[\W_]*(?:问题?|题目|Q|Question)\s*[:：.]|[?？][\W_]*$", re.IGNORECASE)
# Site-generator markup inside text: a Hugo link target ('[add]({{< relref "cli#add" >}})'), a shortcode
_SHORTCODE_LINK = re.compile(r"\[([^\]]+)\]\(\{\{[<%][^)]*?[%>]\}\}\)")
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}")
_IMAGE_ONLY = re.compile(r"^\s*(?:!\[[^\]]*\]\([^)]*\)\s*)+$")


@dataclass(frozen=True)
class Passage:
    """A stretch of a chunk shown as the answer, with where it sits in its file."""

    text: str
    """Markdown as the document writes it: code fences, list markers and table rows kept."""
    chunk: Chunk
    lines: tuple[int, int] | None = None
    """Its first and last line in the file, when the file's lines are known."""
    cut: bool = False
    """Trimmed to MAX_LINES: the rest is in the file."""

    def to_json(self) -> dict:
        return {"source": self.chunk.source, "locator": self.chunk.locator,
                "heading_path": list(self.chunk.title_path),
                "lines": list(self.lines) if self.lines else None, "text": self.text, "cut": self.cut}


def _shown(block: Block) -> bool:
    """Blocks a reader wants in an answer: not page markup, diagrams, headings, bare images, or a
    code block with nothing in it but a site generator's include."""
    if block.kind == "code":
        body = [line for line in block.text.splitlines()[1:] if not FENCE.match(line.strip())]
        return any(line.strip() and not SITE_MARKUP.match(line) for line in body) and not block.is_markup
    return not (block.is_markup or block.kind == "heading" or _IMAGE_ONLY.match(block.text))


def _asks(block: Block) -> bool:
    """A short paragraph that asks a question (an FAQ's question line, a 题目 line)."""
    return block.kind == "paragraph" and block.text.count("\n") < 3 and bool(_QUESTION.search(block.text.strip()))


def _prose(block: Block) -> bool:
    return block.kind in ("paragraph", "quote", "admonition") and not _asks(block)


def _anchor(sentence: str, blocks: list[Block], terms: Terms) -> int:
    """The block the sentence was taken from: by its sentences, else by the most shared terms."""
    for i, block in enumerate(blocks):
        if sentence in split_sentences(block.text) or sentence in block.text:
            return i
    wanted = set(terms.split(sentence))
    shares = [len(wanted & set(terms.split(b.text))) for b in blocks]
    return max(range(len(blocks)), key=lambda i: (shares[i], -i))


def _span(blocks: list[Block], anchor: int, faq: bool) -> tuple[int, int]:
    """The blocks [first, last] that answer: from the anchor (or, under an FAQ question, from the
    top of its body; before a code block, list or table, from its lead-in), with what it introduces
    or explains, and what follows it in its section up to FILL_LINES: docs explain first and
    show after."""
    first = 0 if faq and anchor <= 2 and not any(b.is_structure for b in blocks[:anchor]) else anchor
    while first < len(blocks) - 1 and _asks(blocks[first]):
        first += 1  # never the question line itself: its answer follows
    if blocks[first].is_structure and first > 0 and _prose(blocks[first - 1]) and (
            blocks[first - 1].introduces or len(split_sentences(blocks[first - 1].text)) <= 2):
        first -= 1  # the lead-in of a code block, list or table
    last, used = first, _height(blocks[first])
    while last + 1 < len(blocks) and not _asks(blocks[last + 1]):
        current, after = blocks[last], blocks[last + 1]
        shows = current.introduces or (_prose(current) and after.is_structure)  # what it introduces or explains
        shows = shows or _uses_options_of(after, current)
        if not shows and used + _height(after) > FILL_LINES:
            break
        last, used = last + 1, used + _height(after)
    return first, last


_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")


def _uses_options_of(code: Block, options: Block) -> bool:
    """A command after the list that explains its options ('- `--port` sets the port'): kept
    with the list, whatever the lines (the option list alone does not say how to start it)."""
    return options.kind == "list" and code.kind == "code" and not code.is_markup and bool(
        set(_OPTION.findall(options.text)) & set(_OPTION.findall(code.text)))


def _height(block: Block) -> int:
    """Lines a block takes in a passage, with the blank line after it."""
    return block.text.count("\n") + 2


def _trim(blocks: list[Block]) -> tuple[list[str], bool]:
    """The blocks' texts within MAX_LINES (a code block whole up to MAX_CODE_LINES): cut visibly."""
    kept, used = [], 0
    for block in blocks:
        lines = block.text.splitlines()
        room = MAX_LINES - used
        if len(lines) <= room or (block.kind == "code" and len(lines) <= MAX_CODE_LINES and used <= 3):
            kept.append(block.text)
            used += len(lines) + 1
            continue
        if not kept or room >= 4:  # a part of the block, marked as cut
            if block.kind == "code":
                part = lines[: max(min(room, MAX_CODE_LINES), 4) - 1] + ["# …"]
                part += [FENCE.match(lines[0]).group(1)]  # blocks come fenced
            else:
                part = lines[: max(room, 3)] + ["…"]
            kept.append("\n".join(part))
        return kept, True
    return kept, False


def joined(chunk: Chunk, following: Chunk | None) -> Chunk:
    """`chunk` with the rest of the section's next chunk after it (chunks of a section overlap,
    or leave whitespace between them): one stretch of the document."""
    if following is None:
        return chunk
    if following.start <= chunk.end:
        text = chunk.text + following.text[chunk.end - following.start:]
    else:
        gap = following.lines[0] - chunk.lines[1] if chunk.lines and following.lines else 2
        text = chunk.text + "\n" * max(gap, 1) + following.text
    lines = (chunk.lines[0], following.lines[1]) if chunk.lines and following.lines else None
    return Chunk(chunk.id, chunk.source, chunk.title_path, chunk.start, max(chunk.end, following.end), text,
                 chunk.locator, lines)


def passage_for(sentence: str, chunk: Chunk, terms: Terms | None = None, following: Chunk | None = None,
                whole_section: bool = False, also: Sequence[str] = (), further: Chunk | None = None) -> "Passage | None":
    """The passage of `chunk` (with `following`, the next chunk of its section) that `sentence`, one
    of its ranked sentences, answers from; None when the chunk holds nothing a reader wants.
    `whole_section`: the chunk (and `following`) hold their section from its heading to its end.
    `also`: other well-ranked sentences of the chunk, whose blocks join the passage when it stays
    readable (the option a question names may sit a paragraph away from the sentence most like it).
    `further`: the chunk after `following`, read when the passage would stop where `following`
    ends, on prose (a lead-in whose block is further on) or inside a code block."""
    if following is not None and following.title_path != chunk.title_path:  # its first subsection
        following = _under_lead_in(chunk, following)
    first_chunk, chunk = chunk, joined(chunk, following)
    blocks = [b for b in split_blocks(chunk.text, cut=True) if _shown(b)]
    if not blocks:
        return None
    terms = terms or Terms()
    anchor = _anchor(sentence, blocks, terms)
    heading = chunk.title_path[-1] if chunk.title_path else ""
    explains = anchor + 1 < len(blocks) and blocks[anchor + 1].is_structure
    if blocks[anchor].kind == "paragraph" and not blocks[anchor].introduces and not explains and not also:
        sentences = split_sentences(blocks[anchor].text)
        if len(sentences) > SENTENCES_PER_ANSWER and sentence in sentences:  # a fact inside a long paragraph
            return Passage(sentence, chunk, _lines(chunk, blocks[anchor].start, blocks[anchor].end))
    faq = bool(_QUESTION.search(heading)) or whole_section
    first, last = _span(blocks, anchor, faq)
    for other in also:
        more_first, more_last = _span(blocks, _anchor(other, blocks, terms), faq)
        lines = sum(_height(b) for b in blocks[min(first, more_first):max(last, more_last) + 1])
        if lines <= MAX_LINES:
            first, last = min(first, more_first), max(last, more_last)
    if (further is not None and following is not None and further.title_path == following.title_path
            and last == len(blocks) - 1 and (_prose(blocks[last]) or blocks[last].is_open_code)):
        return passage_for(sentence, first_chunk, terms, joined(following, further), whole_section, also)
    chosen = blocks[first:last + 1]
    texts, cut = _trim([as_markdown(block) for block in chosen])
    cut = cut or chosen[-1].is_open_code  # the rest of its code is in the file
    text = _SHORTCODE.sub("", _SHORTCODE_LINK.sub(r"\1", "\n\n".join(texts)))
    return Passage(text, chunk, _lines(chunk, chosen[0].start, chosen[-1].end), cut)


@dataclass(frozen=True)
class Choice:
    """The passage an extracted answer shows, the retrieved chunk it is from and the ranked
    sentence it was found by."""

    hit: int
    """The index of its hit in the retrieval order."""
    sentence: Sentence
    passage: Passage
    score: float


OVERLAP_WEIGHT = 0.2
"""Weight of the share of the question's terms a passage (with its headings) holds."""
NAME_WEIGHT = 0.1
"""Weight of the share of the question's names (a model, a product, a command) its file path or
headings carry: per-model tutorials and per-product manuals are told apart by their titles. A
name only its headings carry counts half: a tutorial copied for another model may keep the first
one's title ("04-Qwen2.5-Coder-7B-Instruct vLLM 部署调用.md" is titled "03-Qwen2.5-7B-Instruct …")."""
PER_CHUNK = 2
"""A chunk's best-ranked sentences that make its passage (the second joins when it fits)."""
ASKED_FOR = (
    (re.compile(r"\b(?:option|flag|argument|parameter|switch)s?\b", re.IGNORECASE), re.compile(r"`-{1,2}[A-Za-z]")),
    (re.compile(r"\benvironment variables?\b", re.IGNORECASE), re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]{2,}\b")),
    (re.compile(r"\bcommands?\b", re.IGNORECASE),
     re.compile(r"```(?:bash|shell|console|sh)?\n|`[a-z][\w.-]* [^`\n]+`")),
)
"""What a question asks for by name (an option, an environment variable, a command), and how a
passage shows one (`--output`, `POETRY_VIRTUALENVS_PATH`, a shell block or `poetry env use`)."""
KIND_WEIGHT = 0.2
"""Added for a passage that shows the kind of thing the question asks for: "which option of
poetry build ..." prefers the option list to the packaging prose (0.2 to 0.5 measured equal on
the real-docs dev questions, +1 there, and +1 on test; 0.05 and 0.1 helped test only)."""


OVERVIEW_WEIGHT = 0.2
"""Taken from a passage under an introduction ("引言", "Overview") when the question asks how to
do something: an introduction says what its page will show, the sections after it show it (real
docs zh dev +1, z013; 0.1 changed nothing, 0.3 the same as 0.2; no other answer of any set moved)."""
_OVERVIEW = re.compile(r"^[\W\d_]*(?:引言|简介|概述|介绍|前言|overview|introduction|intro)[\W_]*$", re.IGNORECASE)
_EMPHASISED = re.compile(r"^(\*\*|__)(.+)\1$")
_HOW_TO = re.compile(r"\bhow\b|怎么|怎样|如何", re.IGNORECASE)


def choose_passage(question: str, hits: Sequence[Hit], ranked: Sequence[Sentence], terms: Terms,
                   neighbours: Callable[[Hit], tuple[Chunk | None, Chunk | None]] | None = None) -> Choice | None:
    """The passage that answers `question` best among those around the best-ranked sentences of
    each retrieved chunk (`ranked`: Sentence.source is the hit's number from 1): the sentence's
    score, plus the share of the question's terms the passage and its headings hold, plus the
    share of the question's names in its file path and headings, plus KIND_WEIGHT where it shows
    the kind of thing asked for, less OVERVIEW_WEIGHT for an introduction to a how-to question
    (bench/results/answer_quality.md chose the weights on the real-docs dev questions)."""
    by_hit: dict[int, list[Sentence]] = {}
    about = _about_most_named(question, hits)
    for sentence in ranked:
        if about is None or sentence.source - 1 in about:
            by_hit.setdefault(sentence.source, []).append(sentence)
    wanted = set(terms.split(question))
    named = [name.lower() for name in names(question)]
    how_to = bool(_HOW_TO.search(question))
    best = None
    for number, sentences in by_hit.items():
        hit = hits[number - 1]
        before, after = neighbours(hit) if neighbours else (None, None)
        whole_section = before is None and (after is None or after.title_path != hit.chunk.title_path)
        top = sentences[:PER_CHUNK]
        passage = passage_for(top[0].text, hit.chunk, terms, after, whole_section, [s.text for s in top[1:]])
        if passage is None:
            continue
        where = f"{hit.chunk.source}\n{hit.chunk.heading()}"
        overlap = len(wanted & set(terms.split(f"{where}\n{passage.text}"))) / len(wanted) if wanted else 0.0
        named_share = _named_share(named, hit.chunk)
        score = top[0].score + OVERLAP_WEIGHT * overlap + NAME_WEIGHT * named_share
        score += KIND_WEIGHT * shows_what_is_asked(question, passage.text)
        score -= OVERVIEW_WEIGHT * (how_to and _is_introduction(hit.chunk))
        if best is None or score > best.score:
            best, read = Choice(number - 1, top[0], passage, score), (top, after, whole_section)
    return best if best is None else _read_on(best, hits[best.hit], *read, terms, neighbours)


def _read_on(choice: Choice, hit: Hit, top: Sequence[Sentence], after: Chunk | None, whole_section: bool,
             terms: Terms, neighbours) -> Choice:
    """The chosen passage, read on into the chunk after the next where it stops at the end of
    the next (passage_for's `further`). Only the winner reads on: a longer passage holds more of
    the question's words, and would win for its length (measured: real docs en test -1)."""
    if after is None or hit.row is None:
        return choice
    further = neighbours(Hit(after, hit.score, row=hit.row + 1))[1]
    if further is None:
        return choice
    passage = passage_for(top[0].text, hit.chunk, terms, after, whole_section, [s.text for s in top[1:]], further)
    return dataclasses.replace(choice, passage=passage) if passage is not None else choice


def _about_most_named(question: str, hits: Sequence[Hit]) -> set[int] | None:
    """For a question naming a model or product with its version ('Qwen3-8B'), the hits (by
    index) whose file path carries the most of its names: the same steps in another model's
    tutorial show that model's flags (`--reasoning-parser hunyuan_a13b` for Qwen3). None when it
    names no version, or no hit's path carries any of its names."""
    if not versioned_names(question):
        return None
    spans = name_spans(question)
    counts = [sum(carries(hit.chunk.source, name) for name in spans) for hit in hits]
    most = max(counts, default=0)
    return {n for n, count in enumerate(counts) if count == most} if most else None


def _named_share(named: Sequence[str], chunk: Chunk) -> float:
    """The share of `named` (lower case) that `chunk`'s file path carries, or only its headings (half)."""
    if not named:
        return 0.0
    path, headings = chunk.source.lower(), chunk.heading().lower()
    return sum(1.0 if name in path else 0.5 if name in headings else 0.0 for name in named) / len(named)


def _is_introduction(chunk: Chunk) -> bool:
    """A chunk under an introduction ("1.引言", "**Overview**")."""
    return bool(chunk.title_path) and bool(_OVERVIEW.match(chunk.title_path[-1]))


def shows_what_is_asked(question: str, text: str) -> bool:
    """Whether `text` shows the kind of thing `question` asks for by name (ASKED_FOR).

    >>> shows_what_is_asked("Which option sets the output folder?", "* `--output (-o)`: the folder.")
    True
    >>> shows_what_is_asked("Which option sets the output folder?", "Packages are built into dist.")
    False
    """
    return any(asks.search(question) and shows.search(text) for asks, shows in ASKED_FOR)


def passage_answer(passage: Passage, section: str, number: int) -> str:
    """The answer's text for a passage: its section's heading above it (when the passage does not
    open with it), the passage, where the rest is when it was cut, and the citation under it.

    >>> chunk = Chunk("c1", "docs/cli.md", ("add",), 0, 9, "Use it:\\n\\n```\\npoetry add x\\n```", lines=(40, 44))
    >>> print(passage_answer(Passage(chunk.text, chunk, (40, 44)), "add", 1))
    **add**
    <BLANKLINE>
    Use it:
    <BLANKLINE>
    ```
    poetry add x
    ```
    <BLANKLINE>
    [1]
    """
    text = passage.text
    if passage.cut:
        where = f", lines {passage.lines[0]}–{passage.lines[1]}" if passage.lines else ""
        text += f"\n\n(cut here: the rest is in {passage.chunk.source}{where})"
    opening = text.lstrip("#*_ ").split("\n", 1)[0]
    section = _EMPHASISED.sub(r"\2", section.strip())  # a heading written "**Serving**" is bolded once
    head = f"**{section}**\n\n" if section and not opening.startswith(section) else ""
    last = text.rstrip().splitlines()[-1].strip()
    in_block = last.startswith(("```", "~~~", "|", "-", "*", "+", ">")) or last[:1].isdigit() and last[1:3].strip()[:1] in ".)"
    return f"{head}{text}" + (f"\n\n[{number}]" if in_block else f" [{number}]")


LEAD_IN_SENTENCES = 2
"""A section whose own text is one paragraph of at most this many sentences, and nothing else,
only leads in to its subsections: its passage goes on into the first one."""
_HEADING_LINE = re.compile(r"\A[ \t]*#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _under_lead_in(chunk: Chunk, subsection: Chunk) -> Chunk | None:
    """`subsection` (the first chunk of `chunk`'s first subsection) with its heading as a bold
    line, when `chunk` only leads in to it; else None."""
    shown = [b for b in split_blocks(chunk.text, cut=True) if _shown(b)]
    if len(shown) != 1 or not _prose(shown[0]) or len(split_sentences(shown[0].text)) > LEAD_IN_SENTENCES:
        return None
    return Chunk(subsection.id, subsection.source, subsection.title_path, subsection.start, subsection.end,
                 _HEADING_LINE.sub(r"**\1**", subsection.text, count=1), subsection.locator, subsection.lines)


def _lines(chunk: Chunk, start: int, end: int) -> tuple[int, int] | None:
    """The file lines of chunk.text[start:end], when the chunk knows where its own lines start."""
    if chunk.lines is None:
        return None
    first = chunk.lines[0] + chunk.text.count("\n", 0, start)
    return first, first + chunk.text.count("\n", start, end)


__all__ = ["Choice", "MAX_CODE_LINES", "MAX_LINES", "Passage", "choose_passage", "joined", "passage_answer", "passage_for",
           "shows_what_is_asked"]
