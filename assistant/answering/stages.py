"""The path of one answer, stage by stage, in the order they run:

    the searched question → retrieve → guard (instructions out) → rank sentences → decide (abstain
    or answer) → select the sources (for an extract: the passage) → compose the prompt (when a model
    writes) → write → check and cite

The stages up to compose fill in a `Plan` (each returns a new one); `write` produces the text (an extracted
passage or sentence, a quote the model copies, or the model's own words) and `check_and_cite`
finds the evidence behind it and the sources it cites. `Assistant` (assistant.py) holds the loaded models and
opened collections and calls these in turn; nothing here loads anything.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from index.config import RetrievalConfig
from index.fusion import rrf
from index.followups import Searched
from index.multilingual import MultilingualReader
from index.names import carries, code_titles, versioned_names
from index.types import Chunk, Hit
from lm.prompts import STYLES, Turn, fit_prompt

from ..config import Config, GroundingConfig, Mode
from ..engines import Engine, Generation, OnToken
from .citations import attribute, parse_citations, strip_citations
from .injection import follows, strip_instructions
from .grounding import Evidence, Sentence, SentenceScorer, excerpts, says_not_found, support_answer, unknown_names
from .choice import Neighbours, choose_passage
from .passages import Passage, passage_answer
from .sentences import with_section
from .types import Excerpt, Plan, Profile


def search_for(plan: Plan, searched: Searched) -> Plan:
    """The question as searched (index/followups.py: a follow-up that points back made
    self-contained from the conversation): what every later stage reads."""
    return dataclasses.replace(plan, searched=searched.text, searched_how=searched.how, asked=searched.asked,
                               subject=searched.subject if searched.how != "as asked" else ())


SUBJECT_POOL = 3
"""A follow-up about a subject looks this many times deeper for chunks titled with it."""
NAMED_CANDIDATES = 2
"""A question naming a model or product with its version ('Qwen3-8B') also gets the best this many
chunks of the files whose path carries it, where they were not found already (real docs zh: the
Qwen3-8B vLLM page ranked 12th behind the Qwen3.5 and Hunyuan pages). Measured on the real-docs
questions: 1 found that page for one question fewer; 3 let a third chunk of a named page win
without the answer (z021). A command written as code ("`poetry version`") gets as many of the
sections titled with it ("version"): real docs en dev +1 (p024), no other answer moved."""


def _fused(first: Sequence[Hit], second: Sequence[Hit]) -> list[Hit]:
    """Two rankings of one collection's chunks as one, by reciprocal rank fusion."""
    hits = list({hit.chunk.id: hit for hit in [*second, *first]}.values())  # rrf ranks row numbers
    row = {hit.chunk.id: n for n, hit in enumerate(hits)}
    fused = rrf({"searched": [row[h.chunk.id] for h in first], "typed": [row[h.chunk.id] for h in second]})
    return [hits[n] for n, _ in fused]


def retrieve(plan: Plan, retriever, settings: RetrievalConfig, k: int, fuse_typed: bool = False) -> Plan:
    """The `k` best chunks of the collection for the question. In a conversation about a subject
    (a product, an office, a version), the look-alike section of another one ranks as high, and
    only the title tells them apart: the same section of another subject's file gives way to this
    subject's, found beside it, and a follow-up made about the subject gets the chunks whose file
    or headings carry it first; a question searched as typed keeps its order otherwise.
    A question naming a model or product with its version gets the best chunks of the files
    titled with it too, and one writing a command as code those of the sections titled with it
    (NAMED_CANDIDATES). `fuse_typed`: the chunks found for the question as
    typed are fused with those found for the searched one."""
    if not plan.subject:
        hits = retriever.search(plan.searched, settings, k=k)
        named, titles = versioned_names(plan.searched), code_titles(plan.searched)
        found = {hit.row for hit in hits}
        for more in ((retriever.in_files_named(plan.searched, named, NAMED_CANDIDATES) if named else []) +
                     (retriever.in_sections_titled(plan.searched, titles, NAMED_CANDIDATES) if titles else [])):
            if more.row not in found:
                hits.append(more)
                found.add(more.row)
        return dataclasses.replace(plan, hits=tuple(hits))
    hits = retriever.search(plan.searched, settings, k=k * SUBJECT_POOL)
    if fuse_typed and plan.searched != plan.question:  # [chat] follow_ups = "fused"
        hits = _fused(hits, retriever.search(plan.question, settings, k=k * SUBJECT_POOL))

    def about(hit: Hit) -> bool:
        return any(carries(f"{hit.chunk.source} {hit.chunk.heading()}", name) for name in plan.subject)

    # the same section of another subject's document gives way to this subject's, found beside it
    sections = {h.chunk.title_path[-1] for h in hits if about(h) and h.chunk.title_path}
    hits = [h for h in hits if about(h) or not h.chunk.title_path or h.chunk.title_path[-1] not in sections]
    if plan.searched_how == "continued":
        return dataclasses.replace(plan, hits=tuple(hits[:k]))
    first = [hit for hit in hits if about(hit)]
    return dataclasses.replace(plan, hits=tuple((first + [hit for hit in hits if not about(hit)])[:k]))


def without_instructions(chunk: Chunk | None) -> Chunk | None:
    """`chunk` with the sentences that instruct a model taken out (injection.py)."""
    if chunk is None:
        return None
    text, _ = strip_instructions(chunk.text)
    return chunk if text == chunk.text else dataclasses.replace(chunk, text=text)


def guard(plan: Plan) -> Plan:
    """Sources are data: the sentences of the retrieved chunks that give the model an instruction
    ("ignore previous instructions and …") are taken out before anything ranks, quotes or prompts
    with them, and kept to be named under the answer."""
    hits, found = [], []
    for hit in plan.hits:
        text, instructions = strip_instructions(hit.chunk.text)
        hits.append(dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, text=text)) if instructions else hit)
        found += [(hit.chunk.source, sentence) for sentence in instructions]
    return dataclasses.replace(plan, hits=tuple(hits), instructions=tuple(dict.fromkeys(found)))


def rank(plan: Plan, retriever, dense_share: float, reader: MultilingualReader | None = None,
         reader_share: float = 0.0) -> Plan:
    """Every sentence of the retrieved chunks, scored against the question (under its heading):
    cosine by `dense_share`, term overlap the rest (grounding.SentenceScorer); a question the
    embedder cannot read is read by `reader` by `reader_share` instead. A follow-up searched after
    the question it follows is ranked mostly by itself (`Plan.asked`, FOLLOW_UP_SHARE); the
    relevance the abstention check reads stays the searched question's."""
    scorer = SentenceScorer(retriever.embedder, dense_share, terms=retriever.terms, reads=retriever.embedder_reads,
                            reader=reader, reader_share=reader_share)
    texts, headings = [h.chunk.text for h in plan.hits], [h.chunk.heading() for h in plan.hits]
    ranked = scorer.rank(plan.searched, texts, headings)
    relevance = scorer.relevance(plan.searched, ranked)
    if plan.asked:  # a follow-up searched after the question it follows
        ranked = _weighted(ranked, scorer.rank(plan.asked, texts, headings), FOLLOW_UP_SHARE)
    return dataclasses.replace(plan, scorer=scorer, ranked=tuple(ranked), relevance=relevance)


FOLLOW_UP_SHARE = 0.7
"""A follow-up searched after its thread's question ("how do I add a git dependency? and if the
package sits in a subfolder?") finds the thread's chunks, but what it asks now is its own: its
sentences are ranked by their score against the follow-up as typed by this share, and against
the joined question by the rest, so the thread's first answer is no longer the best match for
every later turn. Chosen on the dev conversations of bench/conversations (real docs: follow-ups
0.40 -> 0.60 at 0.7, 0.57 at 0.5; test 0.45 -> 0.52); 0.85 lost a Chinese dev follow-up. The
follow-up reads its own best few sentences (SentenceScorer.rank's `rescore`), not all those the
joined question read: reading 12 or 16 lost one or two dev follow-ups. How relevant the documents
are (abstention) stays the joined question's: taken from the weighted ranking, it refused 13
answerable turns for one unanswerable more."""


def _weighted(joined: Sequence[Sentence], asked: Sequence[Sentence], share: float) -> list[Sentence]:
    """`joined` (every sentence, ranked against the joined question) ranked again by `share` of
    each sentence's score in `asked` (the same sentences, ranked against the follow-up)."""
    score = {(s.source, s.position): s.score for s in asked}
    weighted = [dataclasses.replace(s, score=share * score[s.source, s.position] + (1 - share) * s.score)
                for s in joined]
    return sorted(weighted, key=lambda s: -s.score)


def decide(plan: Plan, grounding: GroundingConfig, mentions: Callable[[str], bool]) -> Plan:
    """Abstain when the best sentence is below the relevance threshold, or the question names
    something no document mentions; else answer."""
    # a question the embedder cannot read was scored by term overlap alone, on its own scale
    threshold = grounding.min_relevance if plan.scorer.share_for(plan.searched) else grounding.min_term_relevance
    unknown = tuple(unknown_names(plan.searched, mentions)) if grounding.check_names else ()
    return dataclasses.replace(plan, unknown=unknown, not_found=plan.relevance < threshold or bool(unknown))


def nearest(plan: Plan, sources: int) -> Plan:
    """For an abstention: the nearest passages, to show under "not found"."""
    return dataclasses.replace(plan, excerpts=tuple(Excerpt(n, hit) for n, hit in enumerate(plan.hits[:sources], 1)))


WRITES_ITSELF = ("extract", "sentence")
"""Answer styles the model is not asked for: the answer is taken from the sources as they stand."""


def select(plan: Plan, profile: Profile, sources: int,
           neighbours: Neighbours | None = None) -> Plan:
    """The sources an answer is written from, numbered: whole chunks, or the best sentences of the
    best chunks (the profile's `sentences`). An extract chooses its passage among the retrieved
    chunks (choice.choose_passage, with each chunk's place in its section from `neighbours`);
    its chunk is source 1, the next best retrieved ones follow."""
    if plan.grounded and profile.answer == "extract":
        choice = choose_passage(plan.searched, plan.hits, plan.ranked, plan.scorer.terms, neighbours)
        if choice is not None:
            order = [choice.hit] + [i for i in range(len(plan.hits)) if i != choice.hit][: sources - 1]
            chosen = dataclasses.replace(choice, sentence=dataclasses.replace(choice.sentence, source=1))
            return dataclasses.replace(plan, profile=profile, choice=chosen,
                                       excerpts=tuple(Excerpt(n, plan.hits[i]) for n, i in enumerate(order, start=1)))
        profile = dataclasses.replace(profile, answer="sentence")  # nothing but markup: the best sentence
    if plan.grounded and profile.sentences:
        groups = excerpts(plan.ranked, profile.sentences, sources)
        shown = tuple(Excerpt(number, plan.hits[hit - 1], tuple(dataclasses.replace(s, source=number) for s in group))
                      for number, (hit, group) in enumerate(groups.items(), start=1))
    else:
        shown = tuple(Excerpt(n, hit) for n, hit in enumerate(plan.hits[:sources], start=1))
    return dataclasses.replace(plan, profile=profile, excerpts=shown)


def compose(plan: Plan, loaded, engine: Engine, history: Sequence[Turn], config: Config) -> Plan:
    """The prompt for the model, its selected sources in it, fitted to the model's context window."""
    shown, profile = plan.excerpts, plan.profile
    settings = config.generation
    window = min(loaded.context_window, settings.context_tokens or loaded.context_window)
    retrieves = Mode.named(plan.mode).retrieves
    prompt = fit_prompt(plan.searched, [e.shown for e in shown] if retrieves else None, history,
                        budget=window - settings.max_new_tokens,
                        count_tokens=lambda messages: engine.count_tokens(loaded, messages),
                        system_prompt=config.chat.system_prompt, style=STYLES[profile.style])
    return dataclasses.replace(plan, loaded=loaded, prompt=prompt)


@dataclass(frozen=True)
class Written:
    """The answer's text as written, before its evidence is checked."""

    generation: Generation
    style: str
    """extract, sentence, quote or generate (Answer.style)."""
    best: Sentence | None = None
    """The sentence an extract or a quote was taken from; its source is the citation."""
    passage: Passage | None = None
    """What an extract shows: the passage around `best`."""

    @property
    def text(self) -> str:
        return self.generation.text


def best_sentence(plan: Plan, pool: list[Sentence]) -> Sentence:
    """The best-ranked sentence the model was shown, numbered as its source is in the prompt."""
    if pool and plan.excerpts[0].sentences is not None:
        return max(pool, key=lambda s: s.score)
    numbers = {id(e.hit): e.number for e in plan.excerpts}  # whole chunks: find the ranked one
    shown = {(s.source, s.text): s for s in pool}
    for sentence in plan.ranked:
        found = shown.get((numbers.get(id(plan.hits[sentence.source - 1])), sentence.text))
        if found is not None:
            return found
    return pool[0]


def write(plan: Plan, engine: Engine, config: Config, on_token: OnToken | None = None,
          stop: threading.Event | None = None) -> Written:
    """The answer's text: the passage that answers (extract) or the best sentence alone (sentence),
    under its heading, the model not asked; a stretch of the best sentence the model copies token
    for token (quote); or the model's own words, nudged towards the sources' tokens (generate).
    An extract or a quote cites its sentence's source."""
    if plan.choice is not None:
        passage, best = plan.choice.passage, plan.choice.sentence
        # a fact inside a long paragraph is the sentence alone, as a value or a name reads best
        text = passage_answer(passage, plan.section(best), best.source) if passage.text != best.text \
            else _sentence_answer(plan, best)
        return _unwritten(text, "extract", best, passage, on_token)
    pool = plan.shown_sentences() if plan.grounded else []
    style = plan.profile.answer if pool else "generate"
    if style == "quote" and not engine.constrains:
        style = "generate"  # a server's API cannot hold the model to a quote
    best = best_sentence(plan, pool) if style != "generate" else None
    if style in WRITES_ITSELF:
        return _unwritten(_sentence_answer(plan, best), "sentence", best, None, on_token)
    # a quote copies the sentence alone: offered its heading too, SmolLM2 stopped after the heading
    sources = plan.prompt.sources
    result = engine.generate(plan.loaded, plan.prompt.messages, config.generation, use_adapter=plan.uses_adapter,
                             on_token=on_token, stop=stop,
                             copy_from="\n".join(c.text for c in sources) if plan.grounded else None,
                             copy_bias=plan.profile.copy_bias, quote_from=[best.text] if style == "quote" else None)
    if best is not None and result.text:  # a copy of one source sentence: its source is the citation
        citation = f" [{best.source}]"
        if on_token is not None:
            on_token(citation)
        result = dataclasses.replace(result, text=result.text + citation)
    else:
        best = None
    return Written(result, style, best)


def _sentence_answer(plan: Plan, best: Sentence) -> str:
    """A source sentence as the answer: under its heading, cited."""
    return f"{with_section(best.text, plan.section(best))} [{best.source}]"


def _unwritten(text: str, style: str, best: Sentence, passage: Passage | None, on_token: OnToken | None) -> Written:
    """An answer taken from the sources as they stand, streamed in one piece."""
    if on_token is not None:
        on_token(text)
    return Written(Generation.unwritten(text), style, best, passage)


@dataclass(frozen=True)
class Checked:
    """What backs the written answer and which sources it cites."""

    cited: tuple[int, ...]
    evidence: tuple[Evidence, ...] = ()
    supported: bool | None = None
    abstained: bool = False
    attributed: bool = False
    """The cited sources were found by content, not read from the [n] the answer wrote."""
    obeyed: str | None = None
    """What the answer says that an instruction inside a source asked it to say."""


def check_and_cite(plan: Plan, written: Written, grounding: GroundingConfig) -> Checked:
    """Grounded: each claim of the answer matched to the source sentence that backs it (an extract
    or a quote is its own evidence), and the answer's citations taken from that evidence. Not
    grounded: the [n] the model wrote, or the sources that hold its words when it wrote none."""
    text = written.text
    sources = plan.prompt.sources if plan.prompt else [e.shown for e in plan.excerpts]
    written_numbers = parse_citations(text, len(sources))
    if not plan.grounded:
        if written_numbers or not sources:
            return Checked(tuple(written_numbers))
        matched = attribute(text, plan.searched, [c.text for c in sources])
        return Checked(tuple(matched), attributed=bool(matched))
    if written.best is None and says_not_found(text):  # the model's words, not a copy of a document's
        return Checked((), abstained=True, attributed=bool(written_numbers))
    if written.best is not None:
        evidence = (Evidence(strip_citations(text), written.best, 1.0),)
        return Checked(tuple(written_numbers), evidence, supported=True)
    support = support_answer(text, plan.searched, plan.shown_sentences(), plan.scorer, grounding.min_support)
    cited = support.sources or written_numbers
    obeyed = follows(text, tuple(sentence for _, sentence in plan.instructions))
    return Checked(tuple(cited), support.evidence, support.supported and obeyed is None,
                   attributed=sorted(cited) != sorted(written_numbers), obeyed=obeyed)


__all__ = ["Checked", "Written", "best_sentence", "check_and_cite", "compose", "decide", "guard", "nearest", "rank",
           "retrieve", "without_instructions", "write"]
