"""Where things live on disk outside the project directory.

The model cache is `$ASSISTANT_CACHE_DIR`, else `$XDG_CACHE_HOME/assistant`, else
`~/.cache/assistant`; converted models go in its `models/` folder.
"""

from __future__ import annotations

from pathlib import Path

from index.files import cache_dir


def models_dir() -> Path:
    return cache_dir() / "models"


__all__ = ["cache_dir", "models_dir"]
