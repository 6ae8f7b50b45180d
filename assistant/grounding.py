"""Grounding: which sentences of the retrieved sources answer a question, whether an answer is
backed by them, and when the documents hold no answer at all. No extra model: the collection's
embedder (cosine) and BM25-style term weights, blended.

    >>> scorer = SentenceScorer(embedder)                                          # doctest: +SKIP
    >>> pool = scorer.rank("How long is the warranty?", ["The warranty lasts 30 months. Keep the box."])
    >>> pool[0].text, round(pool[0].score, 2)
    ('The warranty lasts 30 months.', 0.71)
    >>> support_answer("It lasts 30 months [1].", "How long is the warranty?", pool, scorer).supported
    True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from index.chunking import CJK_SENTENCE_END
from index.readable import embedder_reads
from index.terms import CJK_CHARACTER, Terms

from .metrics import strip_citations

# A sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket, or where the
# chunker ends one in Chinese or Japanese text (after 。！？；, which take no space, and any closing
# quote). Lines are joined within a paragraph (prose is often hard-wrapped), except list items,
# table rows and headings, which stand alone.
_SENTENCE_END = re.compile(rf"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|{CJK_SENTENCE_END}")
_ENDS_SENTENCE_OR_NUMBER = re.compile(r"[.!?:;。！？：；\d]")
_ITEM = re.compile(r"^\s*(?:[-*+•]\s+|\d+[.)]\s+|>\s*|\|)")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_TABLE_RULE = re.compile(r"^[\s|:+-]*$")
_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_LEAD_IN = re.compile(r"^(\s*(?:[-*+•]\s+|\d+[.)]\s+)?)(\*\*|__)([^*_]+?)[.:]\2\s+(?=\S)")
_DONT_KNOW = re.compile(
    r"\b(?:i\s+(?:do\s+not|don't|cannot|can't|could\s+not|couldn't)\s+(?:know|find|say|tell|answer)"
    r"|(?:sources?|documents?|context|text)\s+(?:do(?:es)?\s+not|don't|doesn't)\s+(?:say|mention|contain|"
    r"provide|include|state|specify|answer|give)"
    r"|not\s+(?:mentioned|stated|specified|provided|given|found)\s+in\s+the\s+(?:sources?|documents?|context)"
    r"|no\s+information\s+(?:about|on))\b",
    re.IGNORECASE,
)

NOT_FOUND = "I could not find the answer in the documents."


@dataclass(frozen=True)
class Sentence:
    """One sentence of a source given to the model; `source` is its number in the prompt (1, 2 ...)."""

    source: int
    text: str
    score: float = 0.0
    """Relevance to the question, 0..1: the blend of cosine and term overlap."""
    position: int = 0
    """Order within its source, so excerpts keep the document's order."""


@dataclass(frozen=True)
class Evidence:
    """A sentence of the sources that backs a claim of the answer, and how strongly (0..1)."""

    claim: str
    sentence: Sentence
    support: float

    def to_json(self) -> dict:
        return {"source": self.sentence.source, "sentence": self.sentence.text, "claim": self.claim,
                "support": round(self.support, 3)}


@dataclass(frozen=True)
class Support:
    """What backs an answer: evidence per claim, and whether every claim found some."""

    evidence: tuple[Evidence, ...]
    supported: bool
    unsupported_claims: tuple[str, ...] = ()

    @property
    def sources(self) -> list[int]:
        """Source numbers of the evidence, in order of first use."""
        return list(dict.fromkeys(e.sentence.source for e in self.evidence))


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
    for n, raw in enumerate(raw_lines):
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


_NAME = re.compile(r"[^\W_](?:[\w.\-]*[^\W_])?")


def names(question: str) -> list[str]:
    """The words of `question` that name a thing: capitalised (not the first word, not 'I') or
    holding a digit, in order, without repeats.

    >>> names("What is the per diem for a trip to Italy with firmware 3.3 and the T-2?")
    ['Italy', '3.3', 'T-2']
    """
    found = []
    for n, match in enumerate(_NAME.finditer(question)):
        word = match.group()
        # 'ID', 'IT', 'OK': two capitals are as often a word as a name
        capital = n > 0 and any(c.isupper() for c in word) and not (word.isupper() and len(word) <= 2)
        if (capital or any(c.isdigit() for c in word)) and word not in found:
            found.append(word)
    return found


def unknown_names(question: str, mentions: Callable[[str], bool]) -> list[str]:
    """The names in `question` (see `names`) that no document mentions, by `mentions(word)`: a
    question about Italy over documents that never name Italy is not answered from them."""
    return [word for word in names(question) if not mentions(word)]


def not_found_text(unknown: Sequence[str] = ()) -> str:
    """'I could not find the answer in the documents.', with the names they never mention."""
    if not unknown:
        return NOT_FOUND
    return f"{NOT_FOUND} They never mention {', '.join(unknown)}."


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


def says_not_found(text: str) -> bool:
    """True when an answer says the sources don't hold the answer ("I don't know", "the sources do
    not mention ...")."""
    return bool(_DONT_KNOW.search(text)) or text.strip().startswith(NOT_FOUND)


class SentenceScorer:
    """Scores sentences against a text by cosine (the embedder) blended with IDF-weighted term overlap.

    `dense_share` is the cosine's weight; term overlap gets the rest. The term weights come from the
    pool being scored, so a word every sentence shares counts for little.
    """

    def __init__(self, embedder, dense_share: float = 0.5, terms: Terms | None = None,
                 reads: Callable[[str], bool] | None = None) -> None:
        self.embedder = embedder
        self.dense_share = dense_share
        self.terms = terms or Terms()
        self.reads = reads or (lambda text: embedder_reads(embedder.tokenizer, text))
        """Whether the embedder can read a text; a search passes its retriever's own check."""

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts, batch_size=32)

    def share_for(self, text: str) -> float:
        """The cosine's weight for `text`: none when the embedder cannot read it (an English-only
        embedder and a Chinese question), as hybrid search leaves its ranking out."""
        return self.dense_share if self.reads(text) else 0.0

    def _overlap(self, query_terms: list[str], pool_terms: list[set[str]]) -> np.ndarray:
        """Share of the query's IDF weight found in each pool text (0..1)."""
        wanted = set(query_terms)
        if not wanted:
            return np.zeros(len(pool_terms), dtype=np.float32)
        n = len(pool_terms)
        idf = {t: math.log(1 + (n + 1) / (1 + sum(t in terms for terms in pool_terms))) for t in wanted}
        total = sum(idf.values())
        return np.array([sum(idf[t] for t in wanted & terms) / total for terms in pool_terms], dtype=np.float32)

    def rank(self, question: str, sources: Sequence[str], headings: Sequence[str] = (),
             rescore: int = 8) -> list[Sentence]:
        """Every sentence of `sources` (numbered from 1, best-retrieved first), best match to
        `question` first. A source's heading ("Warranty"), when given, is scored with each of its
        sentences as their context.

        Embedding every sentence of five chunks costs about 0.5 s on two cores, so sentences are
        first ranked by term overlap with a small bonus for better-retrieved sources, and only the
        top `rescore` get the blended score (selection measured equal on bench/devset).
        """
        pool = [Sentence(number, text, 0.0, i) for number, source in enumerate(sources, start=1)
                for i, text in enumerate(split_sentences(source))]
        if not pool:
            return []
        headings = list(headings) + [""] * (len(sources) - len(headings))
        texts = [f"{headings[s.source - 1]}: {s.text}" if headings[s.source - 1] else s.text for s in pool]
        overlap = self._overlap(self.terms.split(question), [set(self.terms.split(t)) for t in texts])
        first = overlap + 0.3 / (1 + np.array([s.source for s in pool]))
        order = [int(i) for i in np.argsort(-first, kind="stable")]
        share = self.share_for(question)
        top, rest = (order[:rescore], order[rescore:]) if share else ([], order)
        scored = []
        if top:
            cosine = np.clip(self._vectors([texts[i] for i in top]) @ self.embedder.encode_query(question), 0.0, 1.0)
            scored = [(float(b), i) for b, i in zip(share * cosine + (1 - share) * overlap[top], top)]
        scored += [(float((1 - share) * overlap[i]), i) for i in rest]
        scored.sort(key=lambda pair: -pair[0])
        return [Sentence(pool[i].source, pool[i].text, score, pool[i].position) for score, i in scored]


def excerpts(ranked: Sequence[Sentence], sentences: int, sources: int) -> dict[int, list[Sentence]]:
    """The best `sentences` sentences, from at most `sources` sources, grouped by source in the
    order of each source's best sentence, each group in document order.

    >>> ranked = [Sentence(2, "b", .9, 0), Sentence(1, "a", .8, 3), Sentence(2, "c", .7, 1)]
    >>> {n: [s.text for s in group] for n, group in excerpts(ranked, 3, 2).items()}
    {2: ['b', 'c'], 1: ['a']}
    """
    groups: dict[int, list[Sentence]] = {}
    taken = 0
    for sentence in ranked:
        if taken == sentences:
            break
        if sentence.source not in groups and len(groups) == sources:
            continue
        groups.setdefault(sentence.source, []).append(sentence)
        taken += 1
    return {n: sorted(group, key=lambda s: s.position) for n, group in groups.items()}


def claims(answer: str) -> list[str]:
    """The answer's sentences, citations stripped: 'It lasts 30 months [1]. Ask us.' → ['It lasts 30 months .', 'Ask us.']"""
    return [s for s in split_sentences(strip_citations(answer)) if re.search(r"\w", s)]


def support_answer(answer: str, question: str, pool: Sequence[Sentence], scorer: SentenceScorer,
                   min_support: float = 0.5) -> Support:
    """Which sentences of `pool` back each claim of `answer`.

    A claim's support is its best blend of cosine and term overlap with one sentence, where the
    terms are those the claim adds to the question (the new facts: '30 months'); a claim that adds
    nothing new (a restated question, "Hope this helps") is not judged. The answer is supported when
    every judged claim reaches `min_support`, and at least one claim was judged.
    """
    if not pool:
        return Support((), False, tuple(claims(answer)))
    texts = [s.text for s in pool]
    vectors = None  # embedded on first need: a claim the embedder cannot read is judged by terms alone
    pool_terms = [set(scorer.terms.split(t)) for t in texts]
    asked = set(scorer.terms.split(question))
    evidence, unsupported, judged = [], [], 0
    for claim in claims(answer):
        new = [t for t in scorer.terms.split(claim) if t not in asked]
        if not new:
            continue
        judged += 1
        share, cosine = scorer.share_for(claim), 0.0
        if share:
            vectors = scorer._vectors(texts) if vectors is None else vectors
            cosine = np.clip(vectors @ scorer.embedder.encode_query(claim), 0.0, 1.0)
        overlap = np.array([len(set(new) & terms) / len(set(new)) for terms in pool_terms], dtype=np.float32)
        blend = share * cosine + (1 - share) * overlap
        best = int(np.argmax(blend))
        if blend[best] >= min_support:
            evidence.append(Evidence(claim, pool[best], float(blend[best])))
        else:
            unsupported.append(claim)
    return Support(tuple(evidence), judged > 0 and not unsupported, tuple(unsupported))


__all__ = ["Evidence", "NOT_FOUND", "Sentence", "SentenceScorer", "Support", "claims", "excerpts", "names",
           "not_found_text", "says_not_found", "split_sentences", "support_answer", "unknown_names",
           "with_section"]
