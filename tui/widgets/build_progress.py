"""Two progress rows for an index build: files loaded and chunked, chunks embedded (with a rate)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

STAGES = {"files": ("Files", "files"), "embed": ("Embeddings", "chunks")}


class BuildProgressView(Vertical):
    DEFAULT_CSS = """
    BuildProgressView { height: auto; }
    BuildProgressView Horizontal { height: 1; }
    BuildProgressView .stage { width: 12; }
    BuildProgressView ProgressBar { width: 40; }
    BuildProgressView .counts { width: 1fr; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        for stage, (label, _) in STAGES.items():
            with Horizontal():
                yield Label(label, classes="stage")
                yield ProgressBar(total=1, id=f"bar-{stage}", show_eta=False)
                yield Label("", id=f"count-{stage}", classes="counts")

    def reset(self) -> None:
        for stage in STAGES:
            self.query_one(f"#bar-{stage}", ProgressBar).update(total=1, progress=0)
            self.query_one(f"#count-{stage}", Label).update("")

    def show(self, stage: str, done: int, total: int, rate: float) -> None:
        """'340/800 chunks · 123 chunks/s' beside a bar at 340 of 800."""
        if stage == "model":  # the embeddings row says why it has not started (an ONNX export takes seconds)
            if not done:
                self.query_one("#count-embed", Label).update("loading the embedding model…")
            return
        if stage not in STAGES:
            return
        unit = STAGES[stage][1]
        self.query_one(f"#bar-{stage}", ProgressBar).update(total=max(total, 1), progress=done)
        speed = f" · {rate:,.0f} {unit}/s" if rate else ""
        self.query_one(f"#count-{stage}", Label).update(f"{done}/{total} {unit}{speed}")
