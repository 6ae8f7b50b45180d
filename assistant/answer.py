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

import threading
import time
from dataclasses import dataclass
from typing import Sequence

from index.types import Chunk

from .config import MODES, Config
from .generation import Generation, OnToken, count_prompt_tokens, generate
from .models import LoadedModel, ModelError, Progress, find_adapter, load_model
from .prompts import Turn, attribute, fit_prompt, parse_citations


@dataclass(frozen=True)
class Source:
    number: int
    chunk: Chunk
    score: float
    cited: bool

    def label(self) -> str:
        """'[1] docs/guide.md > Install > Linux'"""
        heading = f" > {self.chunk.heading()}" if self.chunk.title_path else ""
        where = f" ({self.chunk.locator})" if self.chunk.locator else ""
        return f"[{self.number}] {self.chunk.source}{where}{heading}"

    def to_json(self) -> dict:
        return {"number": self.number, "cited": self.cited, "score": self.score, **self.chunk.to_json()}


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
    """True when the model wrote no [n] and the cited sources were matched by content."""

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
        }

    def to_json(self) -> dict:
        return {"question": self.question, "answer": self.text, **self.metadata(),
                "cited": [s.number for s in self.cited], "sources": [s.to_json() for s in self.sources]}


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
        key = (m.name, m.device, m.dtype, m.load_in_4bit)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None or (adapter is not None and loaded.adapter != adapter):
                self._models.pop(key, None)  # free it before loading the next one
                loaded = load_model(m.name, adapter, device=m.device, dtype=m.dtype, load_in_4bit=m.load_in_4bit,
                                    trust_remote_code=m.trust_remote_code, progress=self.progress)
                self._models[key] = loaded
            return loaded

    def retriever(self, collection: str):
        from index.retriever import open_collection

        if collection not in self._retrievers:
            self._retrievers[collection] = open_collection(self.config.project_dir, collection)
        return self._retrievers[collection]

    def forget(self, collection: str) -> None:
        """Drop the cached retriever of `collection`, so the next answer reads its rebuilt index."""
        self._retrievers.pop(collection, None)

    def adapter_path(self, adapter: str | None) -> str | None:
        if adapter is None:
            return None
        return str(find_adapter(adapter, self.config.project_dir))

    def answer(self, question: str, mode: str | None = None, history: Sequence[Turn] = (), *,
               collection: str | None = None, adapter: str | None = None, on_token: OnToken | None = None,
               stop: threading.Event | None = None) -> Answer:
        """Answer `question` in `mode` (default from the config), streaming text to `on_token`."""
        chat = self.config.chat
        mode = mode or chat.mode
        if mode not in MODES:
            raise ModelError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
        uses_adapter = mode in ("sft", "rag+sft")
        retrieves = mode in ("rag", "rag+sft")
        adapter = adapter if adapter is not None else chat.adapter
        if uses_adapter and not adapter:
            raise ModelError(f"mode {mode} needs a fine-tuned adapter: pass --adapter RUN "
                             f"(a folder from `assistant finetune`), or use mode {mode.replace('sft', '').strip('+') or 'base'}")
        adapter_dir = self.adapter_path(adapter) if uses_adapter else None
        collection = (collection or chat.collection) if retrieves else None

        hits, retrieval_seconds = [], 0.0
        if retrieves:
            began = time.perf_counter()
            hits = self.retriever(collection).search(question, self.config.retrieval, k=chat.sources)
            retrieval_seconds = time.perf_counter() - began

        loaded = self.model(adapter_dir)
        settings = self.config.generation
        window = min(loaded.context_window, settings.context_tokens or loaded.context_window)
        prompt = fit_prompt(question, [h.chunk for h in hits] if retrieves else None, history,
                            budget=window - settings.max_new_tokens,
                            count_tokens=lambda messages: count_prompt_tokens(loaded, messages),
                            system_prompt=chat.system_prompt)
        result = generate(loaded, prompt.messages, settings, use_adapter=uses_adapter, on_token=on_token, stop=stop)
        cited = parse_citations(result.text, len(prompt.sources))
        attributed = not cited and bool(prompt.sources)
        if attributed:
            cited = attribute(result.text, question, [c.text for c in prompt.sources])
        sources = tuple(Source(n, hit.chunk, hit.score, n in cited)
                        for n, hit in enumerate(hits[: len(prompt.sources)], start=1))
        return Answer(question, result.text, mode, loaded.name, adapter_dir, collection, sources, result,
                      retrieval_seconds, prompt.turns_dropped, prompt.sources_dropped, attributed and bool(cited))


class Chat:
    """A conversation: history of turns, a current mode, and the last answer's sources."""

    def __init__(self, helper: Assistant, mode: str | None = None) -> None:
        self.helper = helper
        self.mode = mode or helper.config.chat.mode
        self.history: list[Turn] = []
        self.last: Answer | None = None

    def ask(self, question: str, on_token: OnToken | None = None, stop: threading.Event | None = None) -> Answer:
        answer = self.helper.answer(question, self.mode, self.history, on_token=on_token, stop=stop)
        self.history.append(Turn(question, answer.text))
        self.last = answer
        return answer

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ModelError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
        self.mode = mode

    def reset(self) -> None:
        self.history.clear()
        self.last = None
