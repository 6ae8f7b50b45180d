"""Plain text: one untitled section."""

from __future__ import annotations

from pathlib import Path

from ._common import read_text, whole


def load(path: Path, source: str, options) -> list:
    return whole(source, read_text(path, source))
