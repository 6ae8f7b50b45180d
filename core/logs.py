"""Quiet logging for libraries that print a lot while loading models (transformers' bars, info
chatter): one place, used by embedding, model loading, training and the TUI."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def quiet_transformers():
    """No "Loading weights" bar or info chatter while a small model loads in a second."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


__all__ = ["quiet_transformers"]
