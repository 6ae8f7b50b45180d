"""Past training runs, newest first, as `assistant adapters list` shows them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable


class RunsTable(DataTable):
    """`runs[row]` is the finetune.runs.RunInfo behind a row."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.runs: list = []

    def on_mount(self) -> None:
        self.add_columns("name", "status", "method", "base", "steps", "processes", "best eval loss", "created")

    def load(self, project_dir: Path) -> None:
        from finetune.runs import list_runs

        self.clear()
        self.runs = list_runs(Path(project_dir))
        for run in self.runs:
            self.add_row(run.name, run.status, run.method, Path(run.base).name, str(run.steps), str(run.world_size),
                         f"{run.eval_loss:.4f}" if run.eval_loss is not None else "–", run.created, key=run.name)

    def processes_text(self) -> str:
        """The highlighted run's processes (rank, pid, host; alive or gone while it runs), '' for one process."""
        from finetune.runs import describe_processes

        run = self.selected
        return describe_processes(run.processes, run.status) if run is not None else ""

    @property
    def selected(self):
        """The highlighted run, or None."""
        if 0 <= self.cursor_row < len(self.runs):
            return self.runs[self.cursor_row]
        return None
