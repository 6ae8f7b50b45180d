"""Rich progress for index builds: files/s while loading and chunking, embeddings/s while embedding."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from index.build import BuildReporter

STAGE_LABELS = {"files": "Loading & chunking files", "model": "Loading the embedding model",
                "embed": "Embedding chunks"}
STAGE_UNITS = {"files": "files", "embed": "chunks"}  # stages with a rate worth showing


class RichBuildReporter(BuildReporter):
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
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
