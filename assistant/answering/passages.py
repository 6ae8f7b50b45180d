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

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from index.blocks import FENCE, SITE_MARKUP, Block, as_markdown, split_blocks, unbolded
from index.terms import Terms
from index.types import Chunk

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
    begins_in_code: bool = False
    """It opens inside a code block its chunk's start cut: the code's start is in the chunk before."""

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


def _shown_blocks(chunk: Chunk) -> list[Block]:
    """The blocks of a chunk (which may begin or end inside code) that a reader wants shown."""
    return [block for block in split_blocks(chunk.text, cut=True) if _shown(block)]


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


def _trim(blocks: list[Block], focus: Callable[[str], int] | None = None) -> tuple[list[str], bool]:
    """The blocks' texts within MAX_LINES (a code block whole up to MAX_CODE_LINES): cut visibly.
    `focus` scores a line of code (_focus): a long code block is cut around the line it scores
    highest, where that is below the part shown."""
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
                kept.append("\n".join(_code_part(lines, max(min(room, MAX_CODE_LINES), 4), focus)))
            else:
                kept.append("\n".join(lines[: max(room, 3)] + ["…"]))
        return kept, True
    return kept, False


def _focus(sentence: str, also: Sequence[str], terms: Terms) -> Callable[[str], int]:
    """How much a line of code is what answers: a line of the ranked sentence itself (a code
    line can be the best match) before all; else the words it shares with it and `also`."""
    wanted = set(terms.split(" ".join([sentence, *also])))

    def score(line: str) -> int:
        code = line.strip()
        own = code == sentence.strip() or len(code) >= 6 and code in sentence
        return 100 * own + len(wanted & set(terms.split(line)))

    return score


def _code_part(lines: list[str], height: int, focus: Callable[[str], int] | None) -> list[str]:
    """`height` lines of a fenced code block too long to show whole, with `# …` where lines are
    left out: its top, or the stretch around the line `focus` scores highest (two shared words
    at least) when the top would leave that line out: `enable_thinking=False` 30 lines into the
    script that "set enable_thinking to False, for example:" introduces."""
    fence = FENCE.match(lines[0]).group(1)  # blocks come fenced
    body = lines[1:-1] if len(lines) > 1 and FENCE.match(lines[-1].strip()) else lines[1:]
    scores = [focus(line) for line in body] if focus else []
    best = max(range(len(scores)), key=lambda i: (scores[i], -i)) if scores else 0
    shown = height - 2  # with its opening fence, as many lines as `height` allows
    if not scores or scores[best] < 2 or best < shown:
        return lines[:1] + body[:shown] + ["# …", fence]
    start = min(best - shown // 3, len(body) - shown + 1)  # the line a third of the way down
    part = body[start:start + shown - 1]
    return lines[:1] + ["# …"] + part + (["# …"] if start + len(part) < len(body) else []) + [fence]


def joined(chunk: Chunk, following: Chunk | None) -> Chunk:
    """`chunk` with the rest of the chunk after it in its document (chunks of a section overlap,
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
                whole_section: bool = False, also: Sequence[str] = (), further: Chunk | None = None,
                reads_on: bool = False) -> "Passage | None":
    """The passage of `chunk` (with `following`, the next chunk of its section) that `sentence`, one
    of its ranked sentences, answers from; None when the chunk holds nothing a reader wants.
    `whole_section`: the chunk (and `following`) hold their section from its heading to its end.
    `also`: other well-ranked sentences of the chunk, whose blocks join the passage when it stays
    readable (the option a question names may sit a paragraph away from the sentence most like it).
    `further`: the chunk after `following`, read when the passage would stop where `following`
    ends, on prose (a lead-in whose block is further on) or inside a code block.
    `reads_on` (a how-to question): a passage with no code, list or table that ends its section
    goes on into the next section when that opens with code ("改完 config.json 之后怎么把服务跑起来？"
    matches "修改完成以后，按:wq保存配置文件。", the last line of one step; the command is the next's)."""
    next_section = None
    if following is not None and following.title_path != chunk.title_path:  # the next section
        below = bool(chunk.title_path) and following.title_path[:-1] == chunk.title_path  # its first subsection
        next_section, following = following, _under_lead_in(chunk, following) if below else None
    first_chunk, chunk = chunk, joined(chunk, following)
    blocks = _shown_blocks(chunk)
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
        return passage_for(sentence, first_chunk, terms, joined(following, further), whole_section, also,
                           reads_on=reads_on)
    if (reads_on and next_section is not None and following is None and last == len(blocks) - 1
            and not any(block.is_structure for block in blocks[first:last + 1]) and _opens_with_code(next_section)):
        # nothing to run in it, and its section ends: the next step's command is the answer's rest
        return passage_for(sentence, joined(first_chunk, _headed(next_section)), terms, None, whole_section, also)
    chosen = blocks[first:last + 1]
    texts, cut = _trim([as_markdown(block) for block in chosen], _focus(sentence, also, terms))
    cut = cut or chosen[-1].is_open_code  # the rest of its code is in the file
    text = _SHORTCODE.sub("", _SHORTCODE_LINK.sub(r"\1", "\n\n".join(texts)))
    return Passage(text, chunk, _lines(chunk, chosen[0].start, chosen[-1].end), cut,
                   chosen[0].kind == "code" and not chosen[0].fences[0])

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
    section = unbolded(section)  # a heading written "**Serving**" is bolded once
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
    shown = _shown_blocks(chunk)
    if len(shown) != 1 or not _prose(shown[0]) or len(split_sentences(shown[0].text)) > LEAD_IN_SENTENCES:
        return None
    return _headed(subsection)


def _opens_with_code(section: Chunk) -> bool:
    """Whether the first block a reader sees in `section` (after its heading) is code."""
    shown = _shown_blocks(section)
    return bool(shown) and shown[0].kind == "code"


def _headed(section: Chunk) -> Chunk:
    """`section` with its heading as a bold line."""
    return Chunk(section.id, section.source, section.title_path, section.start, section.end,
                 _HEADING_LINE.sub(r"**\1**", section.text, count=1), section.locator, section.lines)


def _lines(chunk: Chunk, start: int, end: int) -> tuple[int, int] | None:
    """The file lines of chunk.text[start:end], when the chunk knows where its own lines start."""
    if chunk.lines is None:
        return None
    first = chunk.lines[0] + chunk.text.count("\n", 0, start)
    return first, first + chunk.text.count("\n", start, end)


__all__ = ["MAX_CODE_LINES", "MAX_LINES", "Passage", "joined", "passage_answer", "passage_for"]
