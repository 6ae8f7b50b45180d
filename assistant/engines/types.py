"""What every engine hands back, and the small protocol an engine keeps: load a model, count a
prompt's tokens, generate, and find an adapter. `assistant.engines.ENGINES` names the engines."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

if TYPE_CHECKING:  # types only: the config names its engine from the registry, which imports this
    from ..config import GenerationConfig, ModelConfig

OnToken = Callable[[str], None]
"""Called with each new piece of an answer's text as it is written."""


@dataclass(frozen=True)
class Generation:
    """What one call to generate wrote, and how fast."""

    text: str
    prompt_tokens: int
    new_tokens: int
    first_token_seconds: float
    seconds: float
    stopped: bool = False
    """True when the caller's stop event ended generation early."""

    @property
    def tokens_per_second(self) -> float:
        decode = self.seconds - self.first_token_seconds
        return (self.new_tokens - 1) / decode if self.new_tokens > 1 and decode > 0 else 0.0

    @classmethod
    def unwritten(cls, text: str) -> "Generation":
        """An answer no model wrote (an extracted passage, "not found"): no tokens, no time."""
        return cls(text, 0, 0, 0.0, 0.0)


class Engine(Protocol):
    """One way of turning a prompt into text."""

    name: str
    constrains: bool
    """Whether the engine sees the model's logits, so that a copy bias or a quote constraint can
    steer decoding (a server's API does not)."""

    def check(self, config: ModelConfig, progress: Callable[[str], None] | None = None) -> None:
        """Raise ModelError now when `config` names a model that cannot be loaded."""

    def cache_key(self, config: ModelConfig, adapter: str | None) -> tuple:
        """Loaded models under the same key are one model (an adapter may be switched on it)."""

    def serves(self, loaded, adapter: str | None) -> bool:
        """Whether `loaded` can answer with `adapter` (None: without one)."""

    def load(self, config: ModelConfig, adapter: str | None, progress: Callable[[str], None] | None = None):
        """The model, with `adapter` on top."""

    def adapter_path(self, adapter: str, project_dir: Path) -> str:
        """What the engine loads `adapter` (a run name or folder) from."""

    def shipped_adapter(self, config: ModelConfig) -> Path | None:
        """An adapter that ships for this model (grounded answering), if the engine can load one."""

    def parameters(self, config: ModelConfig, loaded=None) -> int | None:
        """The model's parameter count, None when unknown (a server's model)."""

    def count_tokens(self, loaded, messages: list[dict]) -> int:
        """Tokens of `messages` as a prompt."""

    def generate(self, loaded, messages: list[dict], settings: GenerationConfig, *, use_adapter: bool = True,
                 on_token: OnToken | None = None, stop: threading.Event | None = None, copy_from: str | None = None,
                 copy_bias: float = 0.0, quote_from: Sequence[str] | None = None) -> Generation:
        """Complete `messages`, streaming text to `on_token`."""


__all__ = ["Engine", "Generation", "OnToken"]
