"""Which passage answers: among the passages around each retrieved chunk's best-ranked sentences,
the one whose sentence matches the question best, with the question's terms, names and the kind
of thing it asks for (an option, a command) in it (bench/results/answer_quality.md chose the
weights on the real-docs dev questions)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

from index.names import carries, name_spans, versioned_names
from index.terms import Terms
from index.types import Chunk, Hit

from .grounding import Sentence, names
from .passages import Passage, joined, passage_for


Neighbours = Callable[[Hit], tuple[Chunk | None, Chunk | None]]
"""The chunks before and after a hit's (Retriever.neighbours)."""


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
_HOW_TO = re.compile(r"\bhow\b|怎么|怎样|如何", re.IGNORECASE)


def candidates(question: str, hits: Sequence[Hit], ranked: Sequence[Sentence], terms: Terms,
               neighbours: Neighbours | None = None) -> list[Choice]:
    """The passages around the best-ranked sentences of each retrieved chunk (`ranked`:
    Sentence.source is the hit's number from 1), in the order of their best sentences, each scored:
    the sentence's score, plus the share of the question's terms the passage and its headings hold,
    plus the share of the question's names in its file path and headings, plus KIND_WEIGHT where it
    shows the kind of thing asked for, less OVERVIEW_WEIGHT for an introduction to a how-to
    question (bench/results/answer_quality.md chose the weights on the real-docs dev questions)."""
    return [scored.choice for scored in _scored(question, hits, ranked, terms, neighbours)]


def choose_passage(question: str, hits: Sequence[Hit], ranked: Sequence[Sentence], terms: Terms,
                   neighbours: Neighbours | None = None) -> Choice | None:
    """The best-scored of the `candidates`, read back and on into the chunks beside it where
    code continues (_read_on)."""
    best = max(_scored(question, hits, ranked, terms, neighbours), key=lambda scored: scored.choice.score,
               default=None)
    if best is None:
        return None
    return _read_on(best.choice, hits[best.choice.hit], best.top, best.after, best.whole_section, terms, neighbours,
                    bool(_HOW_TO.search(question)))


class _Scored(NamedTuple):
    """A candidate and what its passage was made from, which reading it on makes it from again."""

    choice: Choice
    top: list[Sentence]
    """Its hit's PER_CHUNK best-ranked sentences."""
    after: Chunk | None
    """The chunk after its hit's (Neighbours)."""
    whole_section: bool
    """Its hit's chunk (with `after`) holds its whole section."""


def _scored(question: str, hits: Sequence[Hit], ranked: Sequence[Sentence], terms: Terms,
            neighbours: Neighbours | None) -> list[_Scored]:
    about = _about_most_named(question, hits)
    by_hit: dict[int, list[Sentence]] = {}
    for sentence in ranked:
        if about is None or sentence.source - 1 in about:
            by_hit.setdefault(sentence.source, []).append(sentence)
    wanted = set(terms.split(question))
    named = [name.lower() for name in names(question)]
    how_to = bool(_HOW_TO.search(question))
    found = []
    for number, sentences in by_hit.items():
        hit, top = hits[number - 1], sentences[:PER_CHUNK]
        before, after = neighbours(hit) if neighbours else (None, None)
        whole_section = before is None and (after is None or after.title_path != hit.chunk.title_path)
        passage = passage_for(top[0].text, hit.chunk, terms, after, whole_section, [s.text for s in top[1:]],
                              reads_on=how_to)
        if passage is None:
            continue
        where = f"{hit.chunk.source}\n{hit.chunk.heading()}"
        overlap = len(wanted & set(terms.split(f"{where}\n{passage.text}"))) / len(wanted) if wanted else 0.0
        score = top[0].score + OVERLAP_WEIGHT * overlap + NAME_WEIGHT * _named_share(named, hit.chunk)
        score += KIND_WEIGHT * shows_what_is_asked(question, passage.text)
        score -= OVERVIEW_WEIGHT * (how_to and _is_introduction(hit.chunk))
        found.append(_Scored(Choice(number - 1, top[0], passage, score), top, after, whole_section))
    return found


READ_ON_CHUNKS = 4
"""The most chunks the chosen passage reads back into while it starts inside code, and on into
past the hit's next one while it stops inside code."""


def _read_on(choice: Choice, hit: Hit, top: Sequence[Sentence], after: Chunk | None, whole_section: bool,
             terms: Terms, neighbours: Neighbours, how_to: bool) -> Choice:
    """The chosen passage, read back, chunk by chunk, to the start of a code block it begins
    inside (`lora_rank = 32` twenty lines above the `lora_alpha=lora_rank * 2` that matched);
    then read on into the chunk after the next where it stops at the end of the next
    (passage_for's `further`), and on while it ends cut where the chunks read end (inside a
    script the chunks cut in three), up to READ_ON_CHUNKS each way. Only the winner reads on: a
    longer passage holds more of the question's words, and would win for its length
    (measured: real docs en test -1)."""
    if hit.row is None:
        return choice
    also = [s.text for s in top[1:]]
    chunk, first_row = hit.chunk, hit.row
    for _ in range(READ_ON_CHUNKS):  # back, while it begins inside code
        before = neighbours(Hit(chunk, hit.score, row=first_row))[0] if choice.passage.begins_in_code else None
        if before is None:
            break
        wider = joined(before, chunk)
        passage = passage_for(top[0].text, wider, terms, after, whole_section, also, reads_on=how_to)
        if passage is None:
            break
        chunk, first_row, choice = wider, first_row - 1, dataclasses.replace(choice, passage=passage)
    if after is None:
        return choice
    following, row = after, hit.row + 1
    for _ in range(READ_ON_CHUNKS):  # on, while it ends cut where the chunks read end
        further = neighbours(Hit(following, hit.score, row=row))[1]
        if further is None or further.title_path != following.title_path:
            return choice
        passage = passage_for(top[0].text, chunk, terms, following, whole_section, also, further, how_to)
        if passage is None:
            return choice
        choice = dataclasses.replace(choice, passage=passage)
        if not (passage.cut and passage.lines and further.lines and passage.lines[1] >= further.lines[1]):
            return choice
        following, row = joined(following, further), row + 1
    return choice


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


__all__ = ["ASKED_FOR", "Choice", "Neighbours", "candidates", "choose_passage", "shows_what_is_asked"]
