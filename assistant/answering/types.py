"""The types that pass between the answering stages: a `Plan` filled in stage by stage (each
stage returns a new one), the `Profile` of prompt settings a model gets, and the finished
`Answer` with its numbered `Source`s."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from index.types import Chunk, Hit
from lm.prompts import Prompt

from ..engines import Generation
from .grounding import Evidence, Sentence, SentenceScorer
from .choice import Choice
from .passages import Passage
from .sentences import section_title, split_sentences


@dataclass(frozen=True)
class Profile:
    """How a model is prompted and how its answer is written (bench/results/answer_quality.md)."""

    name: str
    """small, large, or the size class a config override started from."""
    style: str
    """The prompt layout: a key of lm.prompts.STYLES."""
    sentences: int
    """The best-matching sentences put in the prompt; 0 puts whole chunks."""
    copy_bias: float
    """Logits added to the sources' tokens while the model writes (0: none)."""
    answer: str
    """generate (the model writes), quote (it copies a stretch of the best sentence) or extract
    (the best passage itself; the model is not asked)."""


@dataclass(frozen=True)
class Excerpt:
    """One numbered source of the prompt: a retrieved chunk and, when the model is shown only its
    best sentences, those sentences (numbered as the source is: `number`)."""

    number: int
    hit: Hit
    sentences: tuple[Sentence, ...] | None = None
    """None: the whole chunk is shown."""

    @property
    def text(self) -> str:
        """What the model sees of the chunk; a blank line between sentences, so that table rows
        and list items are not read as wrapped prose."""
        if self.sentences is None:
            return self.hit.chunk.text
        return "\n\n".join(s.text for s in self.sentences)

    @property
    def shown(self) -> Chunk:
        """The chunk as the prompt carries it."""
        return self.hit.chunk if self.sentences is None else dataclasses.replace(self.hit.chunk, text=self.text)


@dataclass(frozen=True)
class Plan:
    """One answer up to the point of writing it, built stage by stage (`Assistant.plan`).
    RAFT-style training data is built from plans, so an adapter learns on the prompts it is asked with."""

    question: str
    mode: str
    collection: str | None
    adapter_dir: str | None
    uses_adapter: bool
    grounded: bool
    """Retrieval with grounding on: sentences ranked, evidence checked, abstention possible."""
    searched: str = ""
    """The question retrieval, ranking, the abstention check and the prompt read: the one typed,
    or a follow-up made self-contained from the conversation (stages.search_for); "" until set."""
    searched_how: str = "as asked"
    """How `searched` was made (index.followups.Searched.how)."""
    asked: str = ""
    """For a follow-up searched after the question it follows: the follow-up itself, which its
    sentences are ranked by first (index.followups.Searched.asked; stages.rank). Else ""."""
    subject: tuple[str, ...] = ()
    """For a follow-up made self-contained: the names it is about, carried from the conversation;
    the passages of files and sections titled with them come first."""
    hits: tuple[Hit, ...] = ()
    """Retrieved chunks, best first (after `guard`: without the sentences that instruct a model)."""
    instructions: tuple[tuple[str, str], ...] = ()
    """(file, sentence) of each instruction to a model found in the retrieved chunks, taken out."""
    retrieval_seconds: float = 0.0
    ranked: tuple[Sentence, ...] = ()
    """Sentences of the retrieved chunks, best match to the question first (for a follow-up
    joined to the question it follows, mostly to the follow-up: `asked`); `source` is the hit's number."""
    scorer: SentenceScorer | None = None
    relevance: float | None = None
    """Score of the best sentence against `searched` (0..1), which the abstention check reads; for
    a follow-up with `asked`, `ranked` is ordered by other scores, so this need not be its first's."""
    unknown: tuple[str, ...] = ()
    """Names in the question that no document mentions (grounding.check_names)."""
    not_found: bool = False
    """Nothing retrieved is relevant enough, or the question names something no document
    mentions: the model is not asked."""
    excerpts: tuple[Excerpt, ...] = ()
    """The numbered sources of the prompt (when not found: the nearest passages)."""
    choice: Choice | None = None
    """For an extracted answer: the passage it shows (its source is number 1) and the sentence it
    was found by."""
    profile: Profile | None = None
    loaded: object | None = None
    """The model that writes the answer (an engine's loaded model)."""
    prompt: Prompt | None = None

    def shown_sentences(self) -> list[Sentence]:
        """Every sentence the model was shown, numbered as its source is in the prompt; those of
        whole chunks score 0 (they were not ranked)."""
        given = self.excerpts[: len(self.prompt.sources)] if self.prompt else self.excerpts
        if given and given[0].sentences is not None:
            return [s for excerpt in given for s in excerpt.sentences]
        return [Sentence(e.number, text, 0.0, i) for e in given for i, text in enumerate(split_sentences(e.text))]

    def section(self, sentence: Sentence) -> str:
        """The heading a sentence sits under, in the prompt's numbering ('' when it has none; see
        sentences.section_title)."""
        return section_title(self.excerpts[sentence.source - 1].hit.chunk.title_path)


@dataclass(frozen=True)
class Source:
    number: int
    chunk: Chunk
    score: float
    cited: bool
    excerpt: str | None = None
    """The sentences of the chunk that the model was shown, when it was not shown the whole chunk."""

    def label(self) -> str:
        """'[1] docs/guide.md > Install > Linux'"""
        heading = f" > {self.chunk.heading()}" if self.chunk.title_path else ""
        where = f" ({self.chunk.locator})" if self.chunk.locator else ""
        return f"[{self.number}] {self.chunk.source}{where}{heading}"

    def to_json(self) -> dict:
        return {"number": self.number, "cited": self.cited, "score": self.score, "excerpt": self.excerpt,
                **self.chunk.to_json()}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    mode: str
    model: str
    adapter: str | None
    collection: str | None
    sources: tuple[Source, ...]
    """Every chunk that was in the prompt, numbered as the model saw them."""
    generation: Generation
    retrieval_seconds: float = 0.0
    turns_dropped: int = 0
    sources_dropped: int = 0
    attributed: bool = False
    """True when the cited sources were matched by content, not taken from the [n] the model wrote."""
    evidence: tuple[Evidence, ...] = ()
    """The source sentences that back the answer's claims."""
    supported: bool | None = None
    """Every claim of the answer is backed by a source sentence; None when not checked (no retrieval,
    grounding off, or the answer says the documents don't hold it)."""
    abstained: bool = False
    """The answer says the documents don't hold it: retrieval found nothing relevant (the model was
    not asked), or the model said so."""
    relevance: float | None = None
    """Score of the best-matching source sentence (0..1), compared with grounding.min_relevance (or
    min_term_relevance, for a question the embedder cannot read)."""
    style: str = "generate"
    """How the answer was written: generate (by the model), quote (the model copied a stretch of a
    source sentence), extract (a passage of a source), sentence (a source sentence itself) or
    "not found" (retrieval found nothing relevant); the model is not asked for the last three."""
    passage: Passage | None = None
    """The stretch of a source an extracted answer shows, with its file, heading path and lines."""
    searched: str | None = None
    """The question that was searched when it is not the one typed: a follow-up made
    self-contained from the conversation ("how long is the Brewmaster K2's warranty?")."""
    instructions: tuple[tuple[str, str], ...] = ()
    """(file, sentence): instructions to a model found in the sources, which the answer ignored."""
    obeyed: str | None = None
    """What the answer says that one of those instructions asked for: the answer is marked."""

    @property
    def cited(self) -> list[Source]:
        return [s for s in self.sources if s.cited]

    def metadata(self) -> dict:
        g = self.generation
        return {
            "mode": self.mode, "model": self.model, "adapter": self.adapter, "collection": self.collection,
            "prompt_tokens": g.prompt_tokens, "new_tokens": g.new_tokens,
            "first_token_seconds": round(g.first_token_seconds, 3), "seconds": round(g.seconds, 3),
            "tokens_per_second": round(g.tokens_per_second, 1),
            "retrieval_seconds": round(self.retrieval_seconds, 3),
            "turns_dropped": self.turns_dropped, "sources_dropped": self.sources_dropped,
            "stopped": g.stopped, "citations": "matched" if self.attributed else "written",
            "supported": self.supported, "abstained": self.abstained,
            "relevance": None if self.relevance is None else round(self.relevance, 3),
            "style": self.style, "passage": self.passage.to_json() if self.passage else None,
            "searched": self.searched,
            "instructions_ignored": [{"source": source, "sentence": text} for source, text in self.instructions],
            "obeyed_instruction": self.obeyed,
        }

    def to_json(self) -> dict:
        return {"question": self.question, "answer": self.text, **self.metadata(),
                "cited": [s.number for s in self.cited], "evidence": [e.to_json() for e in self.evidence],
                "sources": [s.to_json() for s in self.sources]}


__all__ = ["Answer", "Excerpt", "Plan", "Profile", "Source"]
