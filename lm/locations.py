"""Where things live on disk outside the project directory.

The model cache is `$ASSISTANT_CACHE_DIR`, else `$XDG_CACHE_HOME/assistant`, else
`~/.cache/assistant`; converted models go in its `models/` folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("ASSISTANT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "assistant"


def models_dir() -> Path:
    return cache_dir() / "models"
