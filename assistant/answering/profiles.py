"""Prompt profiles: how a model of a given size is prompted and how its answer is written, and
the choice of one for a question (the size class's settings, with the config's overrides).

    >>> from assistant.config import GroundingConfig
    >>> choose_profile(GroundingConfig(), "rag", parameters=135_000_000).answer
    'extract'
    >>> choose_profile(GroundingConfig(), "rag", parameters=None).name   # a server's model: size unknown
    'large'
    >>> choose_profile(GroundingConfig(sentences=4), "rag", parameters=135_000_000).sentences
    4
    >>> choose_profile(GroundingConfig(), "rag+sft", parameters=135_000_000).answer   # a RAFT adapter's quote
    'quote'
"""

from __future__ import annotations

import dataclasses
from ..config import GroundingConfig
from .types import Profile

SMALL_MODEL = 1_000_000_000
"""Models below this many parameters get the `small` profile."""
PROFILES = {
    # Measured on bench/answer_quality.py with SmolLM2-135M (bench/results/answer_quality.md): the
    # best-matching sentence, quoted under its heading, is right far more often than anything the
    # model writes or copies itself; the prompt settings still serve `answer = "generate"`.
    "small": Profile("small", style="short-unnamed", sentences=2, copy_bias=6.0, answer="extract"),
    # Unmeasured here (no model this size runs on this machine): the original prompt with whole
    # chunks, which larger models read well; abstention and evidence apply to both.
    "large": Profile("large", style="long", sentences=0, copy_bias=0.0, answer="generate"),
}
ADAPTER_PROFILES = {
    # rag+sft: the user's RAFT adapter answers. A small one sees the best 2 sentences and is held
    # to a quote of the best, whose start and end it chooses: on the SQuAD study (docs/compare.md)
    # F1 31 against 7.5 for the same model writing freely from whole chunks, and 12 when it could
    # quote any sentence shown. `assistant finetune --raft` trains on these same prompts.
    "small": Profile("small", style="short-unnamed", sentences=2, copy_bias=0.0, answer="quote"),
    "large": PROFILES["large"],
}
OVERRIDABLE = ("style", "sentences", "copy_bias", "answer")
"""The [grounding] keys that override a profile's settings when set."""


def choose_profile(grounding: GroundingConfig, mode: str, parameters: int | None) -> Profile:
    """The profile for a model of `parameters` (None: unknown, as a server's model is) answering
    in `mode`. In rag+sft the user's adapter answers, so it gets the prompt `assistant finetune
    --raft` trains on (ADAPTER_PROFILES), which the [grounding] overrides leave alone."""
    name = grounding.profile
    if name == "auto":
        name = "small" if parameters is not None and parameters < SMALL_MODEL else "large"
    if not grounding.enabled:  # the prompt as it was before grounding
        return Profile(name, style=grounding.style or "long", sentences=0, copy_bias=0.0, answer="generate")
    if mode == "rag+sft":
        return ADAPTER_PROFILES[name]
    overrides = {key: getattr(grounding, key) for key in OVERRIDABLE if getattr(grounding, key) is not None}
    return dataclasses.replace(PROFILES[name], **overrides)


__all__ = ["ADAPTER_PROFILES", "OVERRIDABLE", "PROFILES", "SMALL_MODEL", "choose_profile"]
