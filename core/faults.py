"""Named points where a test can kill the process, to prove that what was on disk survives.

    ASSISTANT_FAULT=publish:current-swapped assistant index docs   # SIGKILLed right after the swap
    ASSISTANT_FAULT=train:checkpoint-weights@2 assistant finetune ...   # at the second checkpoint

Unset (always, outside tests) a fault point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "ASSISTANT_FAULT"
_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """SIGKILL this process when ASSISTANT_FAULT names this point ("name", or "name@N" for its
    N-th hit): no cleanup runs, as when the power goes or the OOM killer strikes."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


INDEX_POINTS = ("index:chunks-written", "index:dense-written", "index:sparse-written", "index:manifest-written",
                "publish:fsynced", "publish:current-temp-written", "publish:current-swapped", "publish:cleaning")
"""Every fault point of a build, in the order a build passes them."""
TRAIN_POINTS = ("train:checkpoint-weights", "train:checkpoint-saved", "train:output-staged", "train:output-renamed")
"""Every fault point of a training run: inside a checkpoint save, after it, and around the final save."""

__all__ = ["ENV", "INDEX_POINTS", "TRAIN_POINTS", "fault_point"]
