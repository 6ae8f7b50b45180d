"""Answer a question in one of four modes; the CLI's `ask`/`chat` and the TUI both call this.

    base     the model alone
    rag      the model with retrieved sources from a collection, cited as [1], [2] ...
    sft      the model with a fine-tuned adapter, no retrieval
    rag+sft  the adapter and retrieval together

    >>> helper = Assistant(load_config())                                     # doctest: +SKIP
    >>> answer = helper.answer("Which port does Zorblax use?", mode="rag", collection="docs")
    >>> answer.text, [s.chunk.source for s in answer.cited]
    ('Zorblax listens on port 7431 [1].', ['docs/zorblax.md'])
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Sequence

from index.types import Chunk

from .config import MODES, Config, Mode
from .generation import Generation, OnToken, count_prompt_tokens, generate
from .grounded_adapter import shipped_adapter
from .grounding import (Evidence, Sentence, SentenceScorer, excerpts, not_found_text, says_not_found,
                        split_sentences, support_answer, unknown_names, with_section)
from lm.models import LoadedModel, ModelError, Progress, find_adapter, load_model, resolve_model
from .metrics import strip_citations
from lm.prompts import STYLES, Turn, attribute, fit_prompt, parse_citations

SMALL_MODEL = 1_000_000_000
"""Models below this many parameters get the `small` prompt profile."""
PROFILE_SETTINGS = {
    # Measured on bench/answer_quality.py with SmolLM2-135M (bench/results/answer_quality.md): the
    # best-matching sentence, quoted under its heading, is right far more often than anything the
    # model writes or copies itself; the prompt settings still serve `answer = "generate"`.
    "small": {"style": "short-unnamed", "sentences": 2, "copy_bias": 6.0, "answer": "extract"},
    # Unmeasured here (no model this size runs on this machine): the original prompt with whole
    # chunks, which larger models read well; abstention and evidence apply to both.
    "large": {"style": "long", "sentences": 0, "copy_bias": 0.0, "answer": "generate"},
}


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
    source sentence), extract (a source sentence itself) or "not found" (retrieval found nothing
    relevant); the model is not asked for the last two."""

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
            "style": self.style,
        }

    def to_json(self) -> dict:
        return {"question": self.question, "answer": self.text, **self.metadata(),
                "cited": [s.number for s in self.cited], "evidence": [e.to_json() for e in self.evidence],
                "sources": [s.to_json() for s in self.sources]}


class Assistant:
    """Holds loaded models and opened collections between questions (a chat, a TUI session)."""

    def __init__(self, config: Config, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress
        self._models: dict[tuple, LoadedModel] = {}
        self._retrievers: dict[str, object] = {}
        self._lock = threading.Lock()

    def model(self, adapter: str | None = None) -> LoadedModel:
        """The configured model with `adapter` on top; a model already loaded with an adapter
        serves the adapter-free modes too (the adapter is switched off for them)."""
        m = self.config.model
        if m.engine == "openai":  # nothing to load: a client for the server (adapter: its LoRA name)
            from .engines import open_remote

            key = ("openai", m.base_url, m.name, adapter)
            with self._lock:
                if key not in self._models:
                    self._models[key] = open_remote(m, adapter)
                return self._models[key]
        key = (m.name, m.device, m.dtype, m.load_in_4bit)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None or (adapter is not None and loaded.adapter != adapter):
                self._models.pop(key, None)  # free it before loading the next one
                loaded = load_model(m.name, adapter, device=m.device, dtype=m.dtype, load_in_4bit=m.load_in_4bit,
                                    trust_remote_code=m.trust_remote_code, progress=self.progress)
                self._models[key] = loaded
            return loaded

    def using(self, config: Config) -> "Assistant":
        """This assistant with other settings, sharing its loaded models and opened collections (a
        server answers each request with that request's settings, on the one model)."""
        view = copy.copy(self)
        view.config = config
        return view

    def retriever(self, collection: str):
        from index.retriever import open_collection

        if collection not in self._retrievers:
            self._retrievers[collection] = open_collection(self.config.project_dir, collection)
        return self._retrievers[collection]

    def forget(self, collection: str) -> None:
        """Drop the cached retriever of `collection`, so the next answer reads its rebuilt index."""
        self._retrievers.pop(collection, None)

    def adapter_path(self, adapter: str | None) -> str | None:
        """The adapter folder (a run name or folder); on a server engine, the server's LoRA name."""
        if adapter is None or self.remote:
            return adapter
        return str(find_adapter(adapter, self.config.project_dir))

    @property
    def remote(self) -> bool:
        return self.config.model.engine != "transformers"

    def plan(self, question: str, mode: str | None = None, history: Sequence[Turn] = (), *,
             collection: str | None = None, adapter: str | None = None) -> "Plan":
        """Everything before generation: retrieval, the sentences that match the question, the
        abstention check, the model and the prompt. RAFT-style training data is built from plans,
        so the adapter learns on exactly the prompts `answer` sends."""
        chat = self.config.chat
        mode = mode or chat.mode
        if mode not in MODES:
            raise ModelError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
        uses_adapter, retrieves = Mode.named(mode).uses_adapter, Mode.named(mode).retrieves
        adapter = adapter if adapter is not None else chat.adapter
        if uses_adapter and not adapter:
            raise ModelError(f"mode {mode} needs a fine-tuned adapter: pass --adapter RUN "
                             f"(a folder from `assistant finetune`), or use mode {mode.replace('sft', '').strip('+') or 'base'}")
        adapter_dir = self.adapter_path(adapter) if uses_adapter else None
        collection = (collection or chat.collection) if retrieves else None
        grounding = self.config.grounding
        if mode == "rag" and grounding.enabled and grounding.adapter and not self.remote:
            shipped = shipped_adapter(self.config.model.name)
            if shipped is not None:  # the embedded model answers from sources with its grounding adapter
                adapter_dir, uses_adapter = str(shipped), True
        if not self._models and not self.remote:  # a wrong model name is reported even when nothing is found
            resolve_model(self.config.model.name, self.progress)
        plan = Plan(question, mode, adapter_dir, collection, uses_adapter, retrieves and grounding.enabled)
        if retrieves:
            began = time.perf_counter()
            retriever = self.retriever(collection)
            k = max(chat.sources, grounding.candidates) if plan.grounded else chat.sources
            plan.hits = retriever.search(question, self.config.retrieval, k=k)
            if plan.grounded:
                plan.scorer = SentenceScorer(retriever.embedder, terms=retriever.terms, reads=retriever.embedder_reads)
                plan.ranked = plan.scorer.rank(question, [h.chunk.text for h in plan.hits],
                                               [h.chunk.heading() for h in plan.hits])
                plan.relevance = plan.ranked[0].score if plan.ranked else 0.0
                # a question the embedder cannot read was scored by term overlap alone, on its own scale
                threshold = grounding.min_relevance if plan.scorer.share_for(question) else grounding.min_term_relevance
                plan.not_found = plan.relevance < threshold
            if plan.grounded and grounding.check_names:
                plan.unknown = unknown_names(question, retriever.mentions)
            plan.retrieval_seconds = time.perf_counter() - began
            if plan.not_found or plan.unknown:
                plan.not_found = True
                plan.given = plan.hits[: chat.sources]
                return plan

        plan.loaded = loaded = self.model(adapter_dir)
        plan.profile = self.profile(loaded, mode)
        plan.given = plan.hits[: chat.sources]
        if plan.grounded and plan.profile["sentences"]:
            groups = excerpts(plan.ranked, plan.profile["sentences"], chat.sources)
            plan.given = [plan.hits[n - 1] for n in groups]
            plan.excerpts = [[dataclasses.replace(s, source=n) for s in group]
                             for n, group in enumerate(groups.values(), start=1)]
            # a blank line between sentences, so that table rows and items are not read as wrapped prose
            plan.shown = ["\n\n".join(s.text for s in group) for group in groups.values()]
        chunks = ([dataclasses.replace(h.chunk, text=text) for h, text in zip(plan.given, plan.shown)]
                  if plan.shown else [h.chunk for h in plan.given])
        settings = self.config.generation
        window = min(loaded.context_window, settings.context_tokens or loaded.context_window)
        plan.prompt = fit_prompt(question, chunks if retrieves else None, history,
                                 budget=window - settings.max_new_tokens,
                                 count_tokens=lambda messages: count_prompt_tokens(loaded, messages),
                                 system_prompt=chat.system_prompt, style=STYLES[plan.profile["style"]])
        return plan

    def answer(self, question: str, mode: str | None = None, history: Sequence[Turn] = (), *,
               collection: str | None = None, adapter: str | None = None, on_token: OnToken | None = None,
               stop: threading.Event | None = None) -> Answer:
        """Answer `question` in `mode` (default from the config), streaming text to `on_token`."""
        plan = self.plan(question, mode, history, collection=collection, adapter=adapter)
        if plan.not_found:
            return self._not_found(plan, on_token)
        prompt, grounding = plan.prompt, self.config.grounding
        pool = plan.pool() if plan.grounded else []
        style = plan.profile["answer"] if pool else "generate"
        best = self._best_sentence(plan, pool) if style != "generate" else None
        if style == "extract":  # the best sentence is the answer, under its heading; the model is not asked
            text = with_section(best.text, plan.section(best))
            result = Generation(text, 0, 0, 0.0, 0.0)
        else:  # a quote copies the sentence alone: offered its heading too, SmolLM2 stopped after the heading
            result = generate(plan.loaded, prompt.messages, self.config.generation, use_adapter=plan.uses_adapter,
                              on_token=on_token, stop=stop,
                              copy_from="\n".join(c.text for c in prompt.sources) if plan.grounded else None,
                              copy_bias=plan.profile["copy_bias"],
                              quote_from=[best.text] if style == "quote" else None)
        quoted = best is not None and bool(result.text)
        if quoted:  # a copy of one source sentence: that sentence is the evidence, its source the citation
            citation = f" [{best.source}]"
            if on_token is not None:
                on_token(result.text + citation if style == "extract" else citation)
            result = dataclasses.replace(result, text=result.text + citation)
        written = parse_citations(result.text, len(prompt.sources))
        evidence, supported, abstained = (), None, False
        if plan.grounded:
            abstained = says_not_found(result.text)
            if abstained:
                cited = []
            elif quoted:
                evidence, supported, cited = (Evidence(strip_citations(result.text), best, 1.0),), True, written
            else:
                support = support_answer(result.text, question, pool, plan.scorer, grounding.min_support)
                evidence, supported = support.evidence, support.supported
                cited = support.sources or written
            attributed = sorted(cited) != sorted(written)
        else:
            cited = written
            attributed = not cited and bool(prompt.sources)
            if attributed:
                cited = attribute(result.text, question, [c.text for c in prompt.sources])
            attributed = attributed and bool(cited)
        shown = plan.shown or [None] * len(plan.given)
        sources = tuple(Source(n, hit.chunk, hit.score, n in cited, text)
                        for n, (hit, text) in enumerate(zip(plan.given[: len(prompt.sources)], shown), start=1))
        return Answer(question, result.text, plan.mode, plan.loaded.name, plan.adapter_dir, plan.collection, sources,
                      result, plan.retrieval_seconds, prompt.turns_dropped, prompt.sources_dropped, attributed,
                      evidence, supported, abstained, plan.relevance, style)

    @staticmethod
    def _best_sentence(plan: "Plan", pool: list[Sentence]) -> Sentence:
        """The best-ranked sentence the model was shown, numbered as its source is in the prompt."""
        if plan.excerpts is not None:
            return max(pool, key=lambda s: s.score)
        numbers = {id(hit): n for n, hit in enumerate(plan.given, start=1)}  # whole chunks: find the ranked one
        shown = {(s.source, s.text): s for s in pool}
        for sentence in plan.ranked:
            found = shown.get((numbers.get(id(plan.hits[sentence.source - 1])), sentence.text))
            if found is not None:
                return found
        return pool[0]

    def profile(self, loaded: LoadedModel, mode: str = "rag") -> dict:
        """The prompt settings for this model: the size class's, with the config's overrides. In
        rag+sft the user's adapter answers, so it gets the prompt `assistant finetune --raft` trains
        on (whole chunks, the long rules)."""
        grounding = self.config.grounding
        name = "large" if mode == "rag+sft" else grounding.profile
        if name == "auto" and getattr(loaded, "client", None) is not None:
            name = "large"  # a server model of unknown size: it writes its answer from whole chunks
        if name == "auto":
            if "parameters" not in loaded.info:
                loaded.info["parameters"] = sum(p.numel() for p in loaded.model.parameters())
            name = "small" if loaded.info["parameters"] < SMALL_MODEL else "large"
        settings = dict(PROFILE_SETTINGS[name])
        for key in ("style", "sentences", "copy_bias", "answer"):
            if getattr(grounding, key) is not None:
                settings[key] = getattr(grounding, key)
        if not grounding.enabled:  # the prompt as it was before grounding
            settings = {"style": grounding.style or "long", "sentences": 0, "copy_bias": 0.0, "answer": "generate"}
        return {**settings, "profile": name}

    def _not_found(self, plan: "Plan", on_token: OnToken | None) -> Answer:
        """The answer when retrieval found nothing relevant: say so, and give the nearest passages."""
        text = not_found_text(plan.unknown)
        if on_token is not None:
            on_token(text)
        sources = tuple(Source(n, hit.chunk, hit.score, False) for n, hit in enumerate(plan.given, start=1))
        return Answer(plan.question, text, plan.mode, self.config.model.name, plan.adapter_dir, plan.collection,
                      sources, Generation(text, 0, 0, 0.0, 0.0), plan.retrieval_seconds, abstained=True,
                      relevance=plan.relevance, style="not found")


@dataclass
class Plan:
    """One answer up to the point of generation (`Assistant.plan`)."""

    question: str
    mode: str
    adapter_dir: str | None
    collection: str | None
    uses_adapter: bool
    grounded: bool
    """Retrieval with grounding on: sentences ranked, evidence checked, abstention possible."""
    hits: list = dataclasses.field(default_factory=list)
    ranked: list[Sentence] = dataclasses.field(default_factory=list)
    """Sentences of the retrieved chunks, best match to the question first."""
    relevance: float | None = None
    scorer: SentenceScorer | None = None
    retrieval_seconds: float = 0.0
    not_found: bool = False
    """Nothing retrieved is relevant enough, or the question names something no document
    mentions: the model is not asked."""
    unknown: list[str] = dataclasses.field(default_factory=list)
    """Names in the question that no document mentions (grounding.check_names)."""
    given: list = dataclasses.field(default_factory=list)
    """The hits whose text goes in the prompt (or, when not found, the nearest ones)."""
    shown: list[str] | None = None
    """The excerpt of each given hit that the model sees; None when it sees whole chunks."""
    excerpts: list[list[Sentence]] | None = None
    """The sentences of each excerpt, numbered as their source is in the prompt."""
    loaded: LoadedModel | None = None
    profile: dict = dataclasses.field(default_factory=dict)
    prompt: object = None

    def pool(self) -> list[Sentence]:
        """Every sentence the model was shown, numbered as its source is in the prompt; those of
        whole chunks score 0 (they were not ranked)."""
        sources = self.prompt.sources
        if self.excerpts is not None:
            return [s for group in self.excerpts[: len(sources)] for s in group]
        return [Sentence(n, text, 0.0, i) for n, chunk in enumerate(sources, start=1)
                for i, text in enumerate(split_sentences(chunk.text))]

    def section(self, sentence: Sentence) -> str:
        """The heading a sentence sits under, in the prompt's numbering ('' when it has none)."""
        title_path = self.given[sentence.source - 1].chunk.title_path
        return title_path[-1] if title_path else ""
