"""Plain text: one untitled section."""

from __future__ import annotations

from pathlib import Path

from ..types import LoadError
from .common import UnsupportedFile, read_text, whole


def load(path: Path, source: str, options) -> list:
    return whole(source, read_text(path, source))


def load_unsuffixed(path: Path, source: str, options) -> list:
    """README, LICENSE, Makefile...: text when they decode as UTF-8, otherwise skipped, not failed."""
    try:
        return load(path, source, options)
    except LoadError:
        raise UnsupportedFile("no suffix and not UTF-8 text") from None
