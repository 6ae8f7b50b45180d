"""The engine named "openai": any OpenAI-compatible server the user already runs (llama.cpp's
server, Ollama, vLLM, TGI, a hosted API), through the official `openai` client.

    [model]
    engine = "openai"
    base_url = "http://127.0.0.1:11434/v1"     # Ollama; llama.cpp: :8080/v1; vLLM: :8000/v1
    name = "qwen2.5:3b"                        # the server's model name
    api_key_env = "OPENAI_API_KEY"             # read from the environment; servers on loopback ignore it

Retrieval, citations, evidence, chat history, `compare` and `experiment` are the same on every
engine: only the call that turns a prompt into text differs. In the sft modes the adapter is the
server's LoRA name (vLLM `--lora-modules faq=...`, an Ollama model built with `ADAPTER`).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.logs import quiet_transformers
from lm.models import ModelError, resolve_model

from .types import Generation, OnToken

if TYPE_CHECKING:
    from ..config import GenerationConfig, ModelConfig

DEFAULT_REMOTE_CONTEXT = 4096
"""Context window assumed for a server model when the config names none."""


@dataclass
class RemoteModel:
    """A model behind an OpenAI-compatible server, with what the prompt budget needs: a token
    count (a local tokenizer named in the config, else the server's /tokenize, else an estimate)."""

    name: str
    """The model name requests are sent with: the server's model, or its LoRA for sft modes."""
    client: object
    base_url: str
    context_window: int
    tokenizer: object | None = None
    adapter: str | None = None
    device: str = "remote"
    load_in_4bit: bool = False
    info: dict = field(default_factory=dict)
    _tokenize_url: str | None = None
    _server_counts: bool | None = None

    def count(self, messages: list[dict]) -> int:
        """Tokens of `messages` as a prompt: counted by the local tokenizer or the server when
        either can, else about four characters a token plus a few for each message's framing."""
        if self.tokenizer is not None:
            rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return len(self.tokenizer(rendered, add_special_tokens=False)["input_ids"])
        text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
        if self._server_counts is not False:
            counted = self._count_on_server(text)
            if counted is not None:
                return counted + 4 * len(messages)
        return len(text) // 4 + 4 * len(messages)

    def _count_on_server(self, text: str) -> int | None:
        """llama.cpp and `assistant serve` answer POST /tokenize {"content"}; vLLM {"model", "prompt"}."""
        root = self.base_url.rstrip("/").removesuffix("/v1")
        for body in ({"content": text}, {"model": self.name, "prompt": text}):
            request = urllib.request.Request(f"{root}/tokenize", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    reply = json.loads(response.read())
            except (urllib.error.URLError, OSError, ValueError):
                continue
            tokens = reply.get("tokens") if isinstance(reply, dict) else None
            count = reply.get("count") if isinstance(reply, dict) else None
            if isinstance(tokens, list) or isinstance(count, int):
                self._server_counts = True
                return count if isinstance(count, int) else len(tokens)
        self._server_counts = False
        return None


def open_remote(config: ModelConfig, adapter: str | None = None) -> RemoteModel:
    """A RemoteModel for `config` (engine "openai"); `adapter` names the server's LoRA model."""
    from openai import OpenAI

    if not config.base_url:
        raise ModelError('[model] engine = "openai" needs base_url, e.g. http://127.0.0.1:8080/v1 (llama.cpp), '
                         "http://127.0.0.1:11434/v1 (Ollama) or http://127.0.0.1:8000/v1 (vLLM)")
    key = os.environ.get(config.api_key_env) or "not-needed"  # local servers accept any key
    client = OpenAI(base_url=config.base_url, api_key=key, timeout=config.timeout, max_retries=config.retries)
    tokenizer = None
    if config.tokenizer:
        from transformers import AutoTokenizer

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.tokenizer).location)
    return RemoteModel(adapter or config.name, client, config.base_url,
                       config.context_window or DEFAULT_REMOTE_CONTEXT, tokenizer, adapter,
                       info={"engine": "openai", "base_url": config.base_url})


def remote_generate(remote: RemoteModel, messages: list[dict], settings: GenerationConfig, *,
                    on_token: OnToken | None = None, stop: threading.Event | None = None) -> Generation:
    """Stream a chat completion from the server, calling `on_token` with each piece of text."""
    from openai import APIConnectionError, APIStatusError, APITimeoutError

    began = time.perf_counter()
    first, pieces, usage = None, [], None
    sampling = {"temperature": settings.temperature, "top_p": settings.top_p} if settings.temperature > 0 \
        else {"temperature": 0.0}
    try:
        stream = remote.client.chat.completions.create(
            model=remote.name, messages=messages, max_tokens=settings.max_new_tokens, stream=True,
            seed=settings.seed, stream_options={"include_usage": True}, **sampling)
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                first = first or time.perf_counter()
                pieces.append(delta)
                if on_token is not None:
                    on_token(delta)
            if stop is not None and stop.is_set():
                stream.close()
                break
    except (APIConnectionError, APITimeoutError) as err:
        raise ModelError(f"could not reach the model server at {remote.base_url} ({err}); is it running?") from err
    except APIStatusError as err:
        raise ModelError(f"the model server at {remote.base_url} refused the request for model {remote.name!r} "
                         f"(HTTP {err.status_code}: {err.message})") from err
    ended = time.perf_counter()
    text = "".join(pieces)
    prompt_tokens = usage.prompt_tokens if usage is not None else remote.count(messages)
    new_tokens = usage.completion_tokens if usage is not None else len(text) // 4
    return Generation(text.strip(), prompt_tokens, new_tokens, (first or ended) - began, ended - began,
                      stopped=bool(stop is not None and stop.is_set()))


class OpenAIServer:
    """The engine named "openai": see the module's docstring. Nothing is loaded: a model is a
    client for the server, and an adapter is the server's name for a LoRA."""

    name = "openai"
    constrains = False

    def check(self, config: ModelConfig, progress: Callable[[str], None] | None = None) -> None:
        return None  # the server says whether it has the model, at the first request

    def cache_key(self, config: ModelConfig, adapter: str | None) -> tuple:
        return (self.name, config.base_url, config.name, adapter)

    def serves(self, loaded: RemoteModel, adapter: str | None) -> bool:
        return True  # one client per adapter name (cache_key)

    def load(self, config: ModelConfig, adapter: str | None,
             progress: Callable[[str], None] | None = None) -> RemoteModel:
        return open_remote(config, adapter)

    def adapter_path(self, adapter: str, project_dir: Path) -> str:
        return adapter  # the server's LoRA name, not a folder here

    def shipped_adapter(self, config: ModelConfig) -> Path | None:
        return None

    def parameters(self, config: ModelConfig, loaded: RemoteModel | None = None) -> int | None:
        return None  # a server does not say how large its model is

    def count_tokens(self, loaded: RemoteModel, messages: list[dict]) -> int:
        return loaded.count(messages)

    def generate(self, loaded: RemoteModel, messages: list[dict], settings: GenerationConfig, *,
                 on_token: OnToken | None = None, stop: threading.Event | None = None, **ignored) -> Generation:
        # use_adapter, copy_from, copy_bias and quote_from steer logits, which a server's API does not expose
        return remote_generate(loaded, messages, settings, on_token=on_token, stop=stop)


__all__ = ["OpenAIServer", "RemoteModel", "open_remote", "remote_generate"]
