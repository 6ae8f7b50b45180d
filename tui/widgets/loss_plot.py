"""Training and eval loss against the optimiser step, redrawn as metrics rows arrive."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class LossPlot(PlotextPlot):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.train: list[tuple[int, float]] = []
        self.evals: list[tuple[int, float]] = []

    def on_mount(self) -> None:
        self.redraw()

    def reset(self) -> None:
        self.train.clear()
        self.evals.clear()
        self.redraw()

    def add(self, row: dict) -> None:
        """Take one metrics.jsonl row: its `loss` and/or `eval_loss` at `step`."""
        if row.get("loss") is not None:
            self.train.append((row["step"], row["loss"]))
        if row.get("eval_loss") is not None:
            self.evals.append((row["step"], row["eval_loss"]))
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title("loss")
        plt.xlabel("step")
        if self.train:
            plt.plot(*zip(*self.train), label="train", marker="braille")
        if self.evals:
            plt.plot(*zip(*self.evals), label="eval", marker="dot")
        self.refresh()
