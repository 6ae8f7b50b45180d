"""Library hooks that run in worker threads and post messages to a screen.

`ScreenBuildReporter` is `index.build.BuildReporter` for the TUI: it posts progress and problems,
and raises `BuildCancelled` from `advance()` once cancel is asked for. A build writes its new
version folder only after every file is loaded and embedded, so stopping it there leaves the
previous index as it was (see index/store.py).
"""

from __future__ import annotations

import threading
import time

from textual.message_pump import MessagePump

from index.build import BuildReporter

from .messages import BuildProblem, BuildProgress

POST_EVERY = 0.1
"""Seconds between progress messages, so a fast build does not flood the screen."""


class BuildCancelled(Exception):
    """Raised inside a build when the user cancels it."""


class ScreenBuildReporter(BuildReporter):
    def __init__(self, target: MessagePump, cancel: threading.Event) -> None:
        self.target = target
        self.cancel = cancel
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.began: dict[str, float] = {}
        self.posted = 0.0

    def _check(self) -> None:
        if self.cancel.is_set():
            raise BuildCancelled("build cancelled; the collection is as it was before")

    def start(self, stage: str, total: int) -> None:
        self._check()
        self.totals[stage], self.done[stage], self.began[stage] = total, 0, time.perf_counter()
        self.target.post_message(BuildProgress(stage, 0, total, 0.0))

    def advance(self, stage: str, n: int = 1) -> None:
        self._check()
        self.done[stage] = self.done.get(stage, 0) + n
        now = time.perf_counter()
        total = self.totals.get(stage, 0)
        if now - self.posted >= POST_EVERY or self.done[stage] >= total:
            self.posted = now
            elapsed = now - self.began.get(stage, now)
            rate = self.done[stage] / elapsed if elapsed > 0 else 0.0
            self.target.post_message(BuildProgress(stage, self.done[stage], total, rate))

    def problem(self, source: str, reason: str, failed: bool) -> None:
        self.target.post_message(BuildProblem(source, reason, failed))
