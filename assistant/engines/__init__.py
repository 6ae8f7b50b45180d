"""Engines: where an answer's text is generated. `ENGINES` is the one table of them; the config's
`[model] engine` is a key of it, and nothing else in the project knows an engine by name.

- `transformers` (`in_process.py`): the model in this process (adapters, 4-bit, the copy
  constraints a small model needs);
- `openai` (`openai_server.py`): any OpenAI-compatible server (llama.cpp, Ollama, vLLM, a hosted API).

Each keeps the small protocol in `types.py` (`Engine`): check, load, count tokens, generate, find
an adapter.

    >>> sorted(ENGINES)
    ['openai', 'transformers']
    >>> ENGINES["openai"].constrains, ENGINES["transformers"].constrains
    (False, True)
"""

from __future__ import annotations

from .in_process import InProcess
from .openai_server import OpenAIServer
from .types import Engine, Generation, OnToken

ENGINES: dict[str, Engine] = {engine.name: engine for engine in (InProcess(), OpenAIServer())}
"""Engine name → the engine; `[model] engine` picks one."""

__all__ = ["ENGINES", "Engine", "Generation", "OnToken"]
