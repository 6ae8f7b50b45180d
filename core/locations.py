"""Where things live on disk outside the project directory.

The model cache is `$ASSISTANT_CACHE_DIR`, else `$XDG_CACHE_HOME/assistant`, else
`~/.cache/assistant`; converted models go in its `models/` folder, ONNX exports of embedders in
its `onnx/` folder.

    >>> import os
    >>> os.environ["ASSISTANT_CACHE_DIR"] = "/tmp/assistant-cache"
    >>> models_dir()
    PosixPath('/tmp/assistant-cache/models')
    >>> del os.environ["ASSISTANT_CACHE_DIR"]
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where converted models live: $ASSISTANT_CACHE_DIR, else $XDG_CACHE_HOME/assistant,
    else ~/.cache/assistant."""
    explicit = os.environ.get("ASSISTANT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "assistant"


def models_dir() -> Path:
    return cache_dir() / "models"


__all__ = ["cache_dir", "models_dir"]
