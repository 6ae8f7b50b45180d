"""Adapters that ship inside the package, for the embedded models: looked up at run time by the
answering code, built by `python -m recipes.grounding_adapter`.

    >>> shipped_adapter("smollm2-135m-instruct").name
    'grounding-smollm2-135m'
    >>> shipped_adapter("some-org/another-model") is None
    True
"""

from __future__ import annotations

from pathlib import Path

from .models import canonical_name

ADAPTERS = Path(__file__).resolve().parent / "adapters"
"""The folder of shipped adapters (package data)."""
FOR_MODEL = {"smollm2-135m-instruct": "grounding-smollm2-135m"}
"""Embedded model → the folder of its shipped grounding adapter."""


def shipped_adapter(model: str) -> Path | None:
    """The shipped grounding adapter for `model` (an embedded model's name), if there is one."""
    folder = FOR_MODEL.get(canonical_name(model))
    path = ADAPTERS / folder if folder else None
    return path if path is not None and (path / "adapter_config.json").is_file() else None


__all__ = ["ADAPTERS", "FOR_MODEL", "shipped_adapter"]
