"""Grounding: which sentences of the retrieved sources answer a question, whether an answer is
backed by them, and when the documents hold no answer at all. The collection's embedder (cosine)
and BM25-style term weights, blended; for a question the embedder cannot read, a multilingual
reader (index/multilingual.py) in the embedder's place.

    >>> scorer = SentenceScorer(embedder=None, reads=lambda text: False)   # term overlap alone, no embedder
    >>> pool = scorer.rank("How long is the warranty?", ["The warranty lasts 30 months. Keep the box."])
    >>> pool[0].text, round(pool[0].score, 2)
    ('The warranty lasts 30 months.', 0.25)
    >>> support_answer("It lasts 30 months [1].", "How long is the warranty?", pool, scorer).supported
    True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from index.multilingual import MultilingualReader
from index.names import alternatives, file_names, name_spans, names
from index.readable import embedder_reads
from index.terms import Terms

from ..config import GroundingConfig
from .citations import strip_citations
from .sentences import split_sentences

_DONT_KNOW = re.compile(
    r"\b(?:i\s+(?:do\s+not|don't|cannot|can't|could\s+not|couldn't)\s+(?:know|find|say|tell|answer)"
    r"|(?:sources?|documents?|context|text)\s+(?:do(?:es)?\s+not|don't|doesn't)\s+(?:say|mention|contain|"
    r"provide|include|state|specify|answer|give)"
    r"|not\s+(?:mentioned|stated|specified|provided|given|found)\s+in\s+the\s+(?:sources?|documents?|context)"
    r"|no\s+information\s+(?:about|on))\b",
    re.IGNORECASE,
)

NOT_FOUND = "I could not find the answer in the documents."

_ASKING = re.compile(
    r"^\s*(?:how\s+(?:do|can|should|does)\s+(?:i|we|you|one)|how\s+to|what\s+(?:is|are|does)|"
    r"why\s+(?:is|are|does|do)(?:\s+(?:i|we|you))?|can\s+(?:i|we|you)|is\s+(?:it|there)|should\s+i)\b\s*",
    re.IGNORECASE,
)
"""How an FAQ heading asks ("How do I migrate …?", "Why is …"): words every how-to question shares."""


def heading_topic(heading: str) -> str:
    """A heading path ("FAQ > How do I migrate a project?") as what each heading is about
    ("FAQ > migrate a project?"): scored as the context of its sentences, an FAQ's "How do I …"
    matched every how-to question, and its entries won over the sections that answer (real docs:
    Poetry's FAQ for "how do I add a private index?"; English dev +1, real-docs chat follow-ups
    +4 of 66; Chinese question words measured worse, zh −1, and are kept).

    >>> heading_topic("FAQ > How do I migrate a project? > Why is it slow?")
    'FAQ > migrate a project? > it slow?'
    """
    return " > ".join(topic for part in heading.split(" > ") if (topic := _ASKING.sub("", part)))


@dataclass(frozen=True)
class Sentence:
    """One sentence of a source given to the model; `source` is its number in the prompt (1, 2 ...)."""

    source: int
    text: str
    score: float = 0.0
    """Relevance to the question, 0..1: the blend of cosine and term overlap."""
    position: int = 0
    """Order within its source, so excerpts keep the document's order."""
    overlap: float = 0.0
    """The share of the question's IDF-weighted terms it holds (0..1), part of `score`."""


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


def unknown_names(question: str, mentions: Callable[[str], bool]) -> list[str]:
    """The names in `question` (see `names`) that no document mentions, by `mentions(word)`: a
    question about Italy over documents that never name Italy is not answered from them. Of names
    written as alternatives ("a Starlette/FastAPI app"), one mentioned is enough. A file the
    question names ("a Conda environment.yml") counts as a name, but the asker's own file ("my
    Pipfile.lock") does not."""
    unknown, own = [], set(file_names(question, own=True))
    for group in alternatives(question) + alternatives(question, files=True):
        missing = [word for word in group if word not in own and not mentions(word)]
        unknown += missing if len(missing) == len(group) else []
    return list(dict.fromkeys(unknown))


def not_found_text(unknown: Sequence[str] = ()) -> str:
    """'I could not find the answer in the documents.', with the names they never mention."""
    if not unknown:
        return NOT_FOUND
    return f"{NOT_FOUND} They never mention {', '.join(unknown)}."


def says_not_found(text: str) -> bool:
    """True when an answer says the sources don't hold the answer ("I don't know", "the sources do
    not mention ...")."""
    return bool(_DONT_KNOW.search(text)) or text.strip().startswith(NOT_FOUND)


IDENTIFIER_SHARE = 0.5
"""The cosine's weight for a text that names a code identifier (`virtualenvs.create`, `--output`,
`E4`): an embedder reads look-alike identifiers as one, their terms tell them apart."""
_IDENTIFIER = re.compile(r"[._/`-]|\d|^[a-z]")


def names_identifier(text: str) -> bool:
    """Whether `text` names a code identifier: a name with a dot, dash, slash, digit or backtick, or
    one written in lower case (index.names.name_spans with identifiers).

    >>> names_identifier("and for virtualenvs.create?"), names_identifier("How do I add Poetry to PATH?")
    (True, False)
    """
    return any(_IDENTIFIER.search(span) for span in name_spans(text, identifiers=True))


class SentenceScorer:
    """Scores sentences against a text by cosine (the embedder) blended with IDF-weighted term overlap.

    `dense_share` is the cosine's weight (IDENTIFIER_SHARE at most for a text naming a code
    identifier); term overlap gets the rest. The term weights come from the pool being scored, so a
    word every sentence shares counts for little.
    """

    def __init__(self, embedder, dense_share: float = GroundingConfig.dense_share, terms: Terms | None = None,
                 reads: Callable[[str], bool] | None = None, reader: MultilingualReader | None = None,
                 reader_share: float = GroundingConfig.reader_share) -> None:
        self.embedder = embedder
        self.dense_share = dense_share
        self.terms = terms or Terms()
        self.reads = reads or (lambda text: embedder_reads(embedder.tokenizer, text))
        """Whether the embedder can read a text; a search passes its retriever's own check."""
        self.reader = reader if reader_share else None
        """Reads, by `reader_share`, the best sentences for a question the embedder cannot read."""
        self.reader_share = reader_share

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts, batch_size=32)

    def share_for(self, text: str) -> float:
        """The cosine's weight for `text`: none when the embedder cannot read it (an English-only
        embedder and a Chinese question), as hybrid search leaves its ranking out."""
        if not self.reads(text):
            return 0.0
        return min(self.dense_share, IDENTIFIER_SHARE) if names_identifier(text) else self.dense_share

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
        sentences as their context (what it is about: heading_topic).

        Embedding every sentence of five chunks costs about 0.5 s on two cores, so sentences are
        first ranked by term overlap with a small bonus for better-retrieved sources, and only the
        top `rescore` distinct texts get the blended score, every copy of one alike (selection
        measured equal on bench/devset). For a question the embedder cannot read, the reader
        (when given) reads those instead.
        """
        pool = [Sentence(number, text, 0.0, i) for number, source in enumerate(sources, start=1)
                for i, text in enumerate(split_sentences(source))]
        if not pool:
            return []
        headings = list(headings) + [""] * (len(sources) - len(headings))
        headings = [heading_topic(heading) for heading in headings]
        texts = [f"{headings[s.source - 1]}: {s.text}" if headings[s.source - 1] else s.text for s in pool]
        overlap = self._overlap(self.terms.split(question), [set(self.terms.split(t)) for t in texts])
        first = overlap + 0.3 / (1 + np.array([s.source for s in pool]))
        order = [int(i) for i in np.argsort(-first, kind="stable")]
        share = self.share_for(question)
        # the same sentence in several chunks (a tutorial copied per model) is read once, and every
        # copy gets its score: the copies then differ by where they are, not by rank order
        unique = list(dict.fromkeys(texts[i] for i in order))[:rescore]
        if share:
            read = np.clip(self._vectors(unique) @ self.embedder.encode_query(question), 0.0, 1.0)
        elif self.reader is not None:
            read, share = self._read(question, unique), self.reader_share
        else:
            unique = []  # term overlap alone
        place = {text: n for n, text in enumerate(unique)}
        top, rest = [i for i in order if texts[i] in place], [i for i in order if texts[i] not in place]
        scored = [(float(share * read[place[texts[i]]] + (1 - share) * overlap[i]), i) for i in top]
        scored += [(float((1 - share) * overlap[i]), i) for i in rest]
        scored.sort(key=lambda pair: -pair[0])
        return [Sentence(pool[i].source, pool[i].text, score, pool[i].position, float(overlap[i])) for score, i in scored]

    def _read(self, question: str, texts: list[str]) -> np.ndarray:
        """The reader's cosines, stretched to 0..1 over `texts`: multilingual-e5 puts nearly every
        text between 0.7 and 0.95, so only the order among them says anything."""
        cosine = self.reader.similarities(question, texts)
        low, high = float(cosine.min()), float(cosine.max())
        return (cosine - low) / (high - low) if high > low else np.zeros_like(cosine)

    def relevance(self, question: str, ranked: Sequence[Sentence]) -> float:
        """How well the best sentence answers: its score, or for a question the embedder cannot
        read its term overlap (the reader's stretched cosine says which sentence is best, not how
        good it is), on min_term_relevance's scale."""
        if not ranked:
            return 0.0
        return ranked[0].score if self.share_for(question) else max(s.overlap for s in ranked)


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


__all__ = ["Evidence", "IDENTIFIER_SHARE", "NOT_FOUND", "Sentence", "SentenceScorer", "Support", "claims",
           "excerpts", "names", "names_identifier", "not_found_text", "says_not_found", "support_answer", "unknown_names"]
