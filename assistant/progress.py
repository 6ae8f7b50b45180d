"""Progress on the console: bars in a terminal, and in a log or CI (output piped) a plain line every
LOG_SECONDS with each task's count, rate and ETA, where a bar would print only once, at exit.

    progress = make_progress(console, TextColumn("[bold]{task.description}"), BarColumn())
    # piped: "training: 12/40 (30%), 0.41/s, ETA 1:08"
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.text import Text
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

LOG_SECONDS = 30.0
"""Seconds between progress lines when the output is not a terminal."""


def clock(seconds: float) -> str:
    """125 → '2:05'; 3725 → '1:02:05'."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LoggedProgress(Progress):
    """A Progress that, instead of drawing bars, prints each task's state as one plain line at
    most every `every` seconds, and once more when the task is done (with the rate set after its
    last step; at the latest when another task moves or the progress stops)."""

    def __init__(self, *columns, every: float = LOG_SECONDS, **options) -> None:
        super().__init__(*columns, disable=True, **options)
        self.every = every
        self.last_line = 0.0
        self.ending: set = set()
        """Tasks done whose last line is still to print."""
        self.ended: set = set()

    def update(self, task_id, **changes) -> None:
        super().update(task_id, **changes)
        self._log(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def stop(self) -> None:
        self._end_lines()
        super().stop()

    def _print(self, task_id) -> None:
        self.last_line = time.monotonic()
        self.console.print(describe(self._tasks[task_id]), highlight=False, markup=False)

    def _end_lines(self, but=None) -> None:
        for task_id in sorted(self.ending - {but}):
            self._print(task_id)
            self.ended.add(task_id)
        self.ending &= {but}

    def _log(self, task_id) -> None:
        task = self._tasks[task_id]
        if task_id in self.ended:
            return
        if task.total is not None and task.completed >= task.total:
            if task_id in self.ending:  # a change after the last step (its rate): the line is whole now
                self.ending.discard(task_id)
                self.ended.add(task_id)
                self._print(task_id)
            else:
                self.ending.add(task_id)
            return
        self._end_lines(but=task_id)
        if time.monotonic() - self.last_line >= self.every:
            self._print(task_id)


def describe(task) -> str:
    """One task as a log line: "embedding: 120/400 (30%), 51.2/s, ETA 0:05"."""
    name = _plain(task.description)
    done = f"{task.completed:,.0f}" + (f"/{task.total:,.0f} ({task.percentage:.0f}%)" if task.total else "")
    speed = task.finished_speed or task.speed
    rate = f", {speed:,.2f}/s" if speed else ""
    eta = f", ETA {clock(task.time_remaining)}" if task.time_remaining is not None and task.total else ""
    note = "".join(f", {value}" if key in ("note", "rate") else f", {key} {value}"
                   for key, value in task.fields.items() if not key.startswith("_") and value and value not in ("–", "…"))
    return f"{name}: {done}{rate}{eta}{note}"


def _plain(markup: str) -> str:
    return Text.from_markup(markup).plain


def make_progress(console: Console, *columns, **options) -> Progress:
    """Bars on a terminal; LoggedProgress lines when the console writes to a file or a pipe."""
    if console.is_terminal:
        return Progress(*columns, console=console, **options)
    return LoggedProgress(*columns, console=console, **options)

from index.build import BuildReporter

STAGE_LABELS = {"files": "Loading & chunking files", "model": "Loading the embedding model",
                "embed": "Embedding chunks"}
STAGE_UNITS = {"files": "files", "embed": "chunks"}  # stages with a rate worth showing


class RichBuildReporter(BuildReporter):
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = make_progress(
            console,
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> "RichBuildReporter":
        return self

    def __exit__(self, *exc) -> None:
        if self.tasks:
            self.progress.stop()

    def start(self, stage: str, total: int) -> None:
        if total:
            if not self.tasks:  # no bars at all (and no blank line) for a build with nothing to do
                self.progress.start()
            self.tasks[stage] = self.progress.add_task(STAGE_LABELS[stage], total=total, rate="")

    def advance(self, stage: str, n: int = 1) -> None:
        task_id = self.tasks.get(stage)
        if task_id is None:
            return
        self.progress.advance(task_id, n)
        task = self.progress.tasks[task_id]
        # the average since the stage began: the same figure the summary gives
        if task.elapsed and stage in STAGE_UNITS:
            self.progress.update(task_id, rate=f"{task.completed / task.elapsed:,.0f} {STAGE_UNITS[stage]}/s")
