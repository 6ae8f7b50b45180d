"""What `assistant serve` is told: where to listen, the key, the limits; and what a model id asks for."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError
from index.store import name_problem

from ..config import MODES, Mode

API_KEY_ENV = "ASSISTANT_API_KEY"
MIN_PUBLIC_KEY = 16
"""A key guarding a public address has at least this many characters."""


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    """Where to listen; anything but a loopback address needs `api_key`."""
    port: int = 8000
    api_key: str | None = None
    """Bearer token every request but /health must carry; None on loopback means no check."""
    queue: int = 4
    """Requests that may wait while one is answered; past that a request gets 429."""
    max_tokens: int = 1024
    """The largest max_tokens a request may ask for."""
    max_request_bytes: int = 1_000_000
    """The largest request body, counted as it is read (chunked bodies too)."""
    max_tokenize_chars: int = 100_000
    """The longest text /tokenize takes."""
    adapter_dirs: tuple[Path, ...] = ()
    """Folders besides the project's runs/ that adapter ids may name runs in."""
    api_docs: bool | None = None
    """Serve /docs and /openapi.json; None: only when no key is set."""
    shutdown_grace: float = 10.0
    """Seconds a stop waits for answers in flight before it cancels them."""

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.api_key:
            raise ConfigError(f"serving on {self.host} (not this machine only) needs an API key: "
                              f"set {API_KEY_ENV}, or serve on 127.0.0.1")
        if not is_loopback(self.host) and len(self.api_key.strip()) < MIN_PUBLIC_KEY:
            raise ConfigError(f"the API key guarding {self.host} is too short: use {MIN_PUBLIC_KEY} characters or "
                              f"more (python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if self.queue < 0 or self.max_tokens < 1:
            raise ConfigError("queue must be 0 or more and max_tokens at least 1")
        if self.shutdown_grace < 0:
            raise ConfigError("shutdown_grace must be 0 or more seconds")

    @property
    def serves_docs(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.api_key


def is_loopback(host: str) -> bool:
    """'127.0.0.1', '::1', 'localhost' → True; '0.0.0.0' → False."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Route:
    """What a model id asks for: 'rag+sft:handbook:faq' → Route('rag+sft', 'handbook', 'faq'). The
    collection and adapter are names (as `assistant index` and `assistant finetune` make them),
    never paths: a request reaches nothing outside the project's folders."""

    mode: str
    collection: str | None = None
    adapter: str | None = None

    @classmethod
    def parse(cls, model_id: str) -> "Route":
        shown = model_id if len(model_id) <= 80 else model_id[:77] + "..."
        mode, _, rest = model_id.partition(":")
        if mode not in MODES:
            raise ConfigError(f"model {shown!r}: use base, rag:COLLECTION, sft:ADAPTER or rag+sft:COLLECTION:ADAPTER")
        kind, parts = Mode.named(mode), rest.split(":") if rest else []
        wanted = int(kind.retrieves) + int(kind.uses_adapter)
        if len(parts) > wanted or (kind.uses_adapter and len(parts) < wanted):
            raise ConfigError(f"model {shown!r}: {mode} takes {wanted} name(s) after it")
        for part in parts:
            problem = name_problem(part)
            if problem:
                shown_part = part if len(part) <= 40 else part[:37] + "..."
                raise ConfigError(f"model {shown!r}: {problem.replace(repr(part), repr(shown_part))}; see GET /v1/models")
        collection = parts[0] if kind.retrieves and parts else None
        adapter = parts[-1] if kind.uses_adapter else None
        return cls(mode, collection, adapter)


__all__ = ["API_KEY_ENV", "MIN_PUBLIC_KEY", "Route", "ServeConfig", "is_loopback"]
