"""Answer a question in one of four modes; the CLI's `ask`/`chat`, the TUI and the server all call this.

    base     the model alone
    rag      the model with retrieved sources from a collection, cited as [1], [2] ...
    sft      the model with a fine-tuned adapter, no retrieval
    rag+sft  the adapter and retrieval together

    helper = Assistant(load_config())
    answer = helper.answer("Which port does Zorblax use?", mode="rag", collection="docs")
    answer.text, [s.chunk.source for s in answer.cited]
    # ('Zorblax listens on port 7431 [1].', ['docs/zorblax.md'])

`Assistant` keeps what is slow to open (models, collections) between questions and runs the stages
of stages.py in order; follow `plan` and then `answer` from top to bottom.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from typing import Sequence

from core.errors import InputError
from finetune.raft import RaftAsking
from index.followups import FOLLOW_UPS, Searched, searched_question
from index.multilingual import open_reader
from index.retriever import open_collection
from index.store import Collection
from index.types import Chunk, Hit
from lm.models import ModelError, Progress
from lm.prompts import Turn

from ..config import MODES, Config, Mode
from ..engines import ENGINES, Engine, Generation, OnToken
from . import stages
from .choice import Neighbours
from .grounding import not_found_text
from .profiles import choose_profile
from .rewrite import model_rewrite
from .types import Answer, Plan, Profile, Source


class Assistant:
    """Holds loaded models and opened collections between questions (a chat, a TUI session)."""

    def __init__(self, config: Config, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress
        self._models: dict[tuple, object] = {}
        self._sizes: dict[tuple, int | None] = {}
        """Parameter counts read from a model's files, and so models found to exist: once each."""
        self._retrievers: dict[str, tuple[object, object]] = {}
        """collection → (its published version when opened, the retriever)."""
        self._last_searched: tuple[tuple, Searched] | None = None
        self._lock = threading.Lock()
        self.reader = open_reader()
        """Reads the best sentences for a question the embedder cannot read (loaded on first use)."""

    @property
    def engine(self) -> Engine:
        return ENGINES[self.config.model.engine]

    def model(self, adapter: str | None = None):
        """The configured model with `adapter` on top; a model already loaded with an adapter
        serves the adapter-free modes too (the adapter is switched off for them)."""
        engine, settings = self.engine, self.config.model
        key = engine.cache_key(settings, adapter)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None or not engine.serves(loaded, adapter):
                self._models.pop(key, None)  # free it before loading the next one
                loaded = self._models[key] = engine.load(settings, adapter, self.progress)
            return loaded

    def using(self, config: Config) -> "Assistant":
        """This assistant with other settings, sharing its loaded models and opened collections (a
        server answers each request with that request's settings, on the one model)."""
        view = copy.copy(self)
        view.config = config
        return view

    def retriever(self, collection: str):
        """The opened collection; reopened when `assistant index` has published a new version of it
        since (a running server or chat answers from the rebuilt index)."""
        published = Collection(self.config.project_dir, collection).published()
        cached = self._retrievers.get(collection)
        if cached is None or cached[0] != published:
            self._retrievers[collection] = (published, open_collection(self.config.project_dir, collection))
        return self._retrievers[collection][1]

    def adapter_path(self, adapter: str | None) -> str | None:
        """The adapter folder (a run name or folder); on a server engine, the server's LoRA name."""
        return None if adapter is None else self.engine.adapter_path(adapter, self.config.project_dir)

    def profile(self, mode: str = "rag", adapter_dir: str | None = None) -> Profile:
        """How the model answers in `mode` (profiles.py): decided by its size, read without loading
        its weights where the engine can; else the model is loaded and counted."""
        grounding, settings = self.config.grounding, self.config.model
        parameters = self._size()
        if parameters is None and grounding.profile == "auto":
            parameters = self.engine.parameters(settings, self.model(adapter_dir))
        return choose_profile(grounding, mode, parameters)

    def _size(self) -> int | None:
        """The model's parameter count without loading it (None: unknown), its existence checked
        on the way: a wrong model name is reported even when the answer needs no model."""
        engine, settings = self.engine, self.config.model
        key = engine.cache_key(settings, None)
        if key not in self._sizes:
            engine.check(settings, self.progress)
            self._sizes[key] = engine.parameters(settings)
        return self._sizes[key]

    def start(self, question: str, mode: str | None = None, *, collection: str | None = None,
              adapter: str | None = None) -> Plan:
        """The plan's first page: which mode, collection and adapter answer the question."""
        chat, grounding = self.config.chat, self.config.grounding
        mode = mode or chat.mode
        if mode not in MODES:
            raise ModelError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError:  # bytes a terminal could not decode, or a lone \ud800 from JSON
            raise InputError("the question holds characters that are not valid UTF-8: type or paste it again") from None
        uses_adapter, retrieves = Mode.named(mode).uses_adapter, Mode.named(mode).retrieves
        adapter = adapter if adapter is not None else chat.adapter
        if uses_adapter and not adapter:
            raise ModelError(f"mode {mode} needs a fine-tuned adapter: pass --adapter RUN "
                             f"(a folder from `assistant finetune`), or use mode {mode.replace('sft', '').strip('+') or 'base'}")
        adapter_dir = self.adapter_path(adapter) if uses_adapter else None
        if mode == "rag" and grounding.enabled and grounding.adapter:
            shipped = self.engine.shipped_adapter(self.config.model)
            if shipped is not None:  # the embedded model answers from sources with its grounding adapter
                adapter_dir, uses_adapter = str(shipped), True
        self._size()  # a wrong model name is reported even when nothing is found
        return Plan(question, mode, (collection or chat.collection) if retrieves else None, adapter_dir,
                    uses_adapter, grounded=retrieves and grounding.enabled, searched=question)

    def searched(self, question: str, mode: str | None = None, history: Sequence[Turn] = (), *,
                 collection: str | None = None) -> str | None:
        """The question `answer` will search after `history`, when it is not the one typed (a
        follow-up made self-contained): what a chat shows above the answer."""
        if not history or not Mode.named(mode or self.config.chat.mode).retrieves:
            return None
        searched = self.searched_after(question, [turn.question for turn in history],
                                       collection or self.config.chat.collection)
        return searched.text if searched.text != question else None

    def searched_after(self, question: str, earlier: Sequence[str], collection: str) -> Searched:
        """The question as searched after the `earlier` questions, by `[chat] follow_ups`; the last
        one is kept, so that a chat that shows it before answering asks the model (method "model") once."""
        method, earlier = self.config.chat.follow_ups, tuple(earlier)
        key = (question, earlier, collection, method)
        if self._last_searched is None or self._last_searched[0] != key:
            retriever = self.retriever(collection)
            searched = searched_question(question, earlier, retriever, method if method in FOLLOW_UPS else "rules")
            if searched.fallback and self.config.grounding.enabled:  # without grounding nothing is "not found"
                searched = self._fall_back(searched, retriever)
            if method == "model":
                searched = model_rewrite(question, earlier, searched, self.engine, self.model(None),
                                         self.config.generation)
            self._last_searched = (key, searched)
        return self._last_searched[1]

    def _fall_back(self, searched: Searched, retriever) -> Searched:
        """A question searched as typed in a thread, made self-contained after all (its fallback)
        when the documents hold nothing relevant to it as typed and its nearest passage is in the
        document the fallback finds: "how long can the milk stay out of the fridge?" after three
        questions on one coffee machine. A new topic whose nearest passage is elsewhere ("what
        number do I call for support?") is left as typed."""
        typed = self._probe(searched, retriever)
        if not typed.not_found or not typed.hits:
            return searched
        fallback = searched.fallen_back()
        found = self._probe(fallback, retriever)
        same = found.hits and found.hits[0].chunk.source == typed.hits[0].chunk.source
        return fallback if same and not found.not_found else searched

    def _probe(self, searched: Searched, retriever) -> Plan:
        """The plan's retrieval, ranking and abstention for the question as `searched`."""
        plan = stages.search_for(Plan(searched.text, "rag", None, None, False, grounded=True), searched)
        return self._retrieve_and_decide(plan, retriever)

    def _retrieve_and_decide(self, plan: Plan, retriever) -> Plan:
        """Retrieve (instructions out), and for a grounded plan rank the sentences and decide
        whether the documents hold an answer: the stages every search of `plan` shares."""
        chat, grounding = self.config.chat, self.config.grounding
        k = max(chat.sources, grounding.candidates) if plan.grounded else chat.sources
        plan = stages.retrieve(plan, retriever, self.config.retrieval, k, fuse_typed=chat.follow_ups == "fused")
        if grounding.ignore_instructions:
            plan = stages.guard(plan)
        if plan.grounded:
            plan = stages.rank(plan, retriever, grounding.dense_share, self.reader, grounding.reader_share)
            plan = stages.decide(plan, grounding, retriever.mentions)
        return plan

    def neighbours(self, collection: str) -> Neighbours:
        """The chunks beside a hit of `collection`, which a passage reads on into (Retriever.neighbours):
        instructions to a model taken out, as from the hits (grounding.ignore_instructions)."""
        return self._neighbours(self.retriever(collection))

    def _neighbours(self, retriever) -> Neighbours:
        # the retriever the hits came from: one `assistant index` published since has other rows
        if not self.config.grounding.ignore_instructions:
            return retriever.neighbours
        return lambda hit: tuple(map(stages.without_instructions, retriever.neighbours(hit)))

    def plan(self, question: str, mode: str | None = None, history: Sequence[Turn] = (), *,
             collection: str | None = None, adapter: str | None = None) -> Plan:
        """Every stage before writing: retrieve, rank sentences, decide, compose the prompt. RAFT-style
        training data is built from plans, so the adapter learns on exactly the prompts `answer` sends."""
        plan = self.start(question, mode, collection=collection, adapter=adapter)
        chat, grounding = self.config.chat, self.config.grounding
        if plan.collection is not None:
            began = time.perf_counter()
            retriever = self.retriever(plan.collection)
            if history:
                plan = stages.search_for(plan, self.searched_after(question, [t.question for t in history],
                                                                   plan.collection))
            plan = self._retrieve_and_decide(plan, retriever)
            plan = dataclasses.replace(plan, retrieval_seconds=time.perf_counter() - began)
            if plan.not_found:
                return stages.nearest(plan, chat.sources)
            neighbours = self._neighbours(retriever)
        else:
            neighbours = None
        plan = stages.select(plan, self.profile(plan.mode, plan.adapter_dir), chat.sources, neighbours)
        if plan.grounded and plan.profile.answer in stages.WRITES_ITSELF:
            return plan  # the answer is taken from the sources: no model, no prompt
        return stages.compose(plan, self.model(plan.adapter_dir), self.engine, history, self.config)

    def plan_over(self, question: str, chunks: Sequence[Chunk], collection: str, mode: str = "rag+sft") -> Plan:
        """The plan `plan` makes in `mode` when retrieval finds `chunks`, in that order: what RAFT
        examples are built from (an oracle among distractors), so that an adapter trains on the
        prompts it is sent. No abstention: a training prompt always gets its answer."""
        grounding = self.config.grounding
        plan = Plan(question, mode, collection, None, Mode.named(mode).uses_adapter,
                    grounded=grounding.enabled, searched=question,
                    hits=tuple(Hit(chunk, 1.0 / rank) for rank, chunk in enumerate(chunks, start=1)))
        if grounding.ignore_instructions:
            plan = stages.guard(plan)
        if plan.grounded:
            plan = stages.rank(plan, self.retriever(collection), grounding.dense_share, self.reader, grounding.reader_share)
        plan = stages.select(plan, self.profile(mode), self.config.chat.sources)
        return stages.compose(plan, self.model(None), self.engine, (), self.config)

    def answer(self, question: str, mode: str | None = None, history: Sequence[Turn] = (), *,
               collection: str | None = None, adapter: str | None = None, on_token: OnToken | None = None,
               stop: threading.Event | None = None) -> Answer:
        """Answer `question` in `mode` (default from the config), streaming text to `on_token`."""
        plan = self.plan(question, mode, history, collection=collection, adapter=adapter)
        if plan.not_found:
            return self._not_found(plan, on_token)
        written = stages.write(plan, self.engine, self.config, on_token, stop)
        checked = stages.check_and_cite(plan, written, self.config.grounding)
        prompt = plan.prompt
        given = plan.excerpts[: len(prompt.sources)] if prompt else plan.excerpts
        sources = tuple(Source(e.number, e.hit.chunk, e.hit.score, e.number in checked.cited,
                               None if e.sentences is None else e.text) for e in given)
        return Answer(question, written.text, plan.mode, plan.loaded.name if plan.loaded else self.config.model.name,
                      plan.adapter_dir, plan.collection, sources, written.generation, plan.retrieval_seconds,
                      prompt.turns_dropped if prompt else 0, prompt.sources_dropped if prompt else 0,
                      checked.attributed, checked.evidence, checked.supported, checked.abstained, plan.relevance,
                      written.style, written.passage, _searched(plan), plan.instructions, checked.obeyed)

    def _not_found(self, plan: Plan, on_token: OnToken | None) -> Answer:
        """The answer when retrieval found nothing relevant: say so, and give the nearest passages."""
        text = not_found_text(plan.unknown)
        if on_token is not None:
            on_token(text)
        sources = tuple(Source(e.number, e.hit.chunk, e.hit.score, False) for e in plan.excerpts)
        return Answer(plan.question, text, plan.mode, self.config.model.name, plan.adapter_dir, plan.collection,
                      sources, Generation.unwritten(text), plan.retrieval_seconds, abstained=True,
                      relevance=plan.relevance, style="not found", searched=_searched(plan),
                      instructions=plan.instructions)


def raft_asking(settings: Config, base: str, collection: str | None) -> RaftAsking | None:
    """How rag+sft asks `base` over `collection` (finetune.raft.RaftAsking), for RAFT examples to
    be asked the same way: a follow-up searched as `answer` searches it, and a small model's prompt
    of best sentences (None for a large model's whole chunks, which finetune.raft writes itself).
    None without a collection."""
    if not collection:
        return None
    helper = Assistant(dataclasses.replace(settings, model=dataclasses.replace(settings.model, name=base)))

    def searched(question: str, earlier: Sequence[str]) -> str:
        return helper.searched_after(question, earlier, collection).text

    def prompt(question: str, chunks: Sequence[Chunk]) -> tuple[list[dict], list[str]]:
        plan = helper.plan_over(question, chunks, collection)
        return plan.prompt.messages, [sentence.text for sentence in plan.shown_sentences()]

    return RaftAsking(searched, None if helper.profile("rag+sft").sentences == 0 else prompt)


def _searched(plan: Plan) -> str | None:
    """The searched question when it differs from the typed one (what a user is shown)."""
    return plan.searched if plan.searched != plan.question else None


__all__ = ["Assistant", "raft_asking"]
