"""The in-process engine ("transformers"): the model loaded in this process with transformers
(and PEFT for adapters), which is what adapters on a laptop need, and which sees the logits, so
that a small model can be held to copying from its sources (`SpanCopy`, the copy bias).

    loaded = load_model("smollm2-135m-instruct")
    result = generate(loaded, [{"role": "user", "content": "Hi"}], GenerationConfig(),
                      on_token=lambda text: print(text, end=""))
    result.new_tokens, result.first_token_seconds       # (12, 0.21)
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from lm.models import LoadedModel, check_model, find_adapter, generation_dtype, load_model, model_size
from lm.shipped import shipped_adapter

from .types import Generation, OnToken

if TYPE_CHECKING:
    from ..config import GenerationConfig, ModelConfig


def render_prompt(loaded: LoadedModel, messages: list[dict]) -> str:
    """The chat template applied to `messages`, ending where the assistant's answer starts."""
    return loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def count_prompt_tokens(loaded: LoadedModel, messages: list[dict]) -> int:
    return len(loaded.tokenizer(render_prompt(loaded, messages), add_special_tokens=False)["input_ids"])


def _streamer(tokenizer, on_token: OnToken | None, marks: dict):
    from transformers import TextStreamer

    class Streamer(TextStreamer):
        # TextStreamer holds text back until a word is complete, so callers never see half a
        # multi-byte character; it calls on_finalized_text with each complete piece.
        def put(self, value):
            if not self.next_tokens_are_prompt and "first" not in marks:
                marks["first"] = time.perf_counter()
            super().put(value)

        def on_finalized_text(self, text: str, stream_end: bool = False):
            if text and on_token is not None:
                on_token(text)

    return Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def _stop_criteria(stop: threading.Event):
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopOnEvent(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            import torch

            return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopOnEvent()])


def source_tokens(tokenizer, text: str) -> list[int]:
    """The token ids a copy of `text` can be written with: as it stands, and each word with and
    without a leading space (a word that starts a sentence in the source may sit mid-answer)."""
    words = sorted(set(text.split()))
    pieces = [text] + words + [f" {w}" for w in words]
    encoded = tokenizer(pieces, add_special_tokens=False)["input_ids"]  # one batched call
    return sorted({i for ids in encoded for i in ids})


def _copy_bias(token_ids: list[int], bias: float, eos: int | None):
    """A logits processor that adds `bias` to the given tokens (and the end of text)."""
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList

    class CopyBias(LogitsProcessor):
        def __init__(self):
            self.ids = torch.tensor(token_ids + ([eos] if eos is not None else []), dtype=torch.long)

        def __call__(self, input_ids, scores):
            scores[:, self.ids.to(scores.device)] += bias
            return scores

    return LogitsProcessorList([CopyBias()])


class SpanCopy:
    """A logits processor that lets the model write only a stretch of one of `spans`, token for
    token, and stop where it likes: the answer is then a quote of a source sentence, never a
    made-up fact. The model still chooses which sentence, where to start and where to stop.

    One sequence at a time (chat answers); the spans are tokenized as they stand.
    """

    def __init__(self, tokenizer, spans: Sequence[str], prompt_tokens: int) -> None:
        self.sequences = [ids for ids in tokenizer(list(spans), add_special_tokens=False)["input_ids"] if ids]
        self.eos = tokenizer.eos_token_id
        self.prompt_tokens = prompt_tokens
        # (sequence, position of the next token to copy): a quote starts at the start of a word
        self.states = {(s, p) for s, ids in enumerate(self.sequences) for p in range(len(ids))
                       if p == 0 or tokenizer.decode(ids[p:p + 1])[:1].isspace()}
        self.seen = 0

    def _advance(self, token: int) -> None:
        self.states = {(s, p + 1) for s, p in self.states
                       if p < len(self.sequences[s]) and self.sequences[s][p] == token}

    def allowed(self) -> set[int]:
        ids = {self.sequences[s][p] for s, p in self.states if p < len(self.sequences[s])}
        if self.eos is not None and (self.seen or not ids):
            ids.add(self.eos)
        return ids

    def __call__(self, input_ids, scores):
        import torch

        if input_ids.shape[0] != 1:
            raise ValueError("SpanCopy decodes one sequence at a time")
        for token in input_ids[0, self.prompt_tokens + self.seen:].tolist():
            self._advance(token)
            self.seen += 1
        mask = torch.full_like(scores, float("-inf"))
        mask[:, sorted(self.allowed())] = 0.0
        return scores + mask


def generate(loaded: LoadedModel, messages: list[dict], settings: GenerationConfig, *,
             use_adapter: bool = True, on_token: OnToken | None = None,
             stop: threading.Event | None = None, copy_from: str | None = None,
             copy_bias: float = 0.0, quote_from: Sequence[str] | None = None) -> Generation:
    """Complete `messages` with the model, calling `on_token` with each new piece of text.

    `use_adapter=False` runs the base model of an adapter-carrying model (no second copy).
    Setting `stop` ends generation after the current token. With `copy_from` and a `copy_bias`,
    the tokens of that text are favoured by `copy_bias` logits: a small model then copies facts
    from its sources instead of making them up. With `quote_from`, the answer can only be a
    stretch of one of those texts (`SpanCopy`).
    """
    import torch

    tokenizer = loaded.tokenizer
    prompt = render_prompt(loaded, messages)
    inputs = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").to(loaded.device)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    sampling = settings.temperature > 0
    kwargs = dict(
        max_new_tokens=settings.max_new_tokens,
        do_sample=sampling,
        repetition_penalty=settings.repetition_penalty,
        pad_token_id=tokenizer.pad_token_id,
    )
    if sampling:
        kwargs.update(temperature=settings.temperature, top_p=settings.top_p)
        torch.manual_seed(settings.seed)
    else:  # the model's generation_config may carry sampling defaults that greedy decoding ignores
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if stop is not None:
        kwargs["stopping_criteria"] = _stop_criteria(stop)
    if quote_from:
        from transformers import LogitsProcessorList

        kwargs["logits_processor"] = LogitsProcessorList([SpanCopy(tokenizer, quote_from, prompt_tokens)])
        kwargs["repetition_penalty"] = 1.0  # a quote repeats what the prompt holds, by design
    elif copy_from and copy_bias:
        kwargs["logits_processor"] = _copy_bias(source_tokens(tokenizer, copy_from), copy_bias,
                                                tokenizer.eos_token_id)
    marks: dict = {}
    pieces: list[str] = []

    def collect(text: str) -> None:
        pieces.append(text)
        if on_token is not None:
            on_token(text)

    adapter_off = (loaded.model.disable_adapter() if (loaded.adapter and not use_adapter)
                   else contextlib.nullcontext())
    began = time.perf_counter()
    with torch.inference_mode(), adapter_off:
        output = loaded.model.generate(**inputs, streamer=_streamer(tokenizer, collect, marks), **kwargs)
    ended = time.perf_counter()
    new_ids = output[0, prompt_tokens:]
    text = tokenizer.decode(new_ids, skip_special_tokens=True)
    return Generation(
        text=text.strip(),
        prompt_tokens=prompt_tokens,
        new_tokens=int(new_ids.shape[0]),
        first_token_seconds=marks.get("first", ended) - began,
        seconds=ended - began,
        stopped=bool(stop is not None and stop.is_set()),
    )


class InProcess:
    """The engine named "transformers": see the module's docstring."""

    name = "transformers"
    constrains = True

    def check(self, config: ModelConfig, progress: Callable[[str], None] | None = None) -> None:
        check_model(config.name)

    def cache_key(self, config: ModelConfig, adapter: str | None) -> tuple:
        # one model in memory: a second adapter replaces the first rather than loading a second copy
        return (self.name, config.name, config.device, config.dtype, config.load_in_4bit)

    def serves(self, loaded: LoadedModel, adapter: str | None) -> bool:
        # a model loaded with an adapter answers adapter-free modes too, with the adapter switched off
        return adapter is None or loaded.adapter == adapter

    def load(self, config: ModelConfig, adapter: str | None,
             progress: Callable[[str], None] | None = None) -> LoadedModel:
        return load_model(config.name, adapter, device=config.device,
                          dtype=generation_dtype(config.dtype, config.device), load_in_4bit=config.load_in_4bit,
                          trust_remote_code=config.trust_remote_code, progress=progress)

    def adapter_path(self, adapter: str, project_dir: Path) -> str:
        return str(find_adapter(adapter, project_dir))

    def shipped_adapter(self, config: ModelConfig) -> Path | None:
        return shipped_adapter(config.name)

    def parameters(self, config: ModelConfig, loaded: LoadedModel | None = None) -> int | None:
        if loaded is None:
            return model_size(config.name)
        if "parameters" not in loaded.info:
            loaded.info["parameters"] = sum(p.numel() for p in loaded.model.parameters())
        return loaded.info["parameters"]

    def count_tokens(self, loaded: LoadedModel, messages: list[dict]) -> int:
        return count_prompt_tokens(loaded, messages)

    def generate(self, loaded: LoadedModel, messages: list[dict], settings: GenerationConfig, **options) -> Generation:
        return generate(loaded, messages, settings, **options)


__all__ = ["InProcess", "SpanCopy", "count_prompt_tokens", "generate", "render_prompt", "source_tokens"]
