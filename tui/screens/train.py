"""Train: settings with their defaults, a data check before start, live loss plot, cancel, past runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Label, ProgressBar, RichLog, TabbedContent, TabPane

from assistant.progress import clock

from ..messages import DataChecked, ModelProgress, TrainFinished, TrainLog, TrainMetrics, TrainStep
from ..widgets.data_summary import DataSummaryView
from ..widgets.loss_plot import LossPlot
from ..widgets.runs_table import RunsTable
from ..widgets.train_form import TrainForm
from .base import JobScreen


def result_text(result) -> str:
    """What a finished or stopped run left behind, and how to go on."""
    metrics = result.metrics
    if result.status != "finished":
        return (f"Stopped at step {metrics.get('steps', 0)}; the last checkpoint is kept. Resume it under Runs "
                f"(or: assistant finetune --resume {result.run_dir}).")
    evals = f", best eval loss {metrics['best_eval_loss']:.4f}" if metrics.get("best_eval_loss") else ""
    return (f"Finished {metrics['steps']} steps in {metrics['seconds']:.0f} s: train loss "
            f"{metrics['train_loss']:.4f}{evals}. Saved {result.output}. "
            f"Chat with it: mode sft, adapter {result.run_dir.name}.")


class TrainScreen(JobScreen):
    MODE = "train"
    BINDINGS = [
        Binding("ctrl+g", "check", "Check data"),
        Binding("ctrl+r", "start", "Start"),
        Binding("escape", "cancel", "Cancel training"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stop_training = threading.Event()
        self.training = False
        self.first_step: tuple[int, float] | None = None
        self.rate = ""

    @property
    def project_dir(self) -> Path:
        return Path(self.app.config.project_dir)

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="train-tabs"):
            with TabPane("Setup", id="setup"):
                with VerticalScroll():
                    yield TrainForm(self.app.config.finetune)
                    with Horizontal(classes="buttons"):
                        yield Button("Check data", id="check", compact=True)
                        yield Button("Start", id="start", variant="primary", compact=True)
                        yield Button("Cancel", id="cancel", variant="error", compact=True, disabled=True)
                    yield DataSummaryView("Check data (ctrl+g) reads and tokenizes the files and lists what "
                                          "is wrong before anything trains.", id="summary")
            with TabPane("Progress", id="progress"):
                yield Label("Not training.", id="train-status", markup=False)
                yield ProgressBar(total=1, id="train-bar", show_eta=False)
                yield LossPlot(id="loss")
                yield RichLog(id="train-log", max_lines=200, wrap=True, markup=False)
            with TabPane("Runs", id="runs"):
                yield RunsTable(id="runs-table")
                yield Label("", id="run-processes", markup=False)
                with Horizontal(classes="buttons"):
                    yield Button("Resume", id="resume", compact=True)
                    yield Button("Refresh", id="refresh", compact=True)

    def on_mount(self) -> None:
        self.query_one(RunsTable).load(self.project_dir)

    def on_screen_resume(self) -> None:
        if not self.training:
            self.query_one(RunsTable).load(self.project_dir)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.training
        if action in ("start", "check"):
            return not self.training or None
        return True

    def _settings(self):
        from core.errors import UserError

        try:
            return self.query_one(TrainForm).settings()
        except UserError as err:
            self.query_one(DataSummaryView).show_error(str(err))
            self.notify(str(err), title="Settings", severity="error")
            return None

    def _set_training(self, on: bool) -> None:
        self.training = on
        self.query_one("#start", Button).disabled = on
        self.query_one("#check", Button).disabled = on
        self.query_one("#resume", Button).disabled = on
        self.query_one("#cancel", Button).disabled = not on
        self.refresh_bindings()

    # ------------------------------------------------------------------ data check

    def action_check(self) -> None:
        settings = self._settings()
        if settings is not None and not self.training:
            self.query_one(DataSummaryView).show_note("Reading and tokenizing the data …")
            self.check_data(settings)

    def raft_asking(self, settings):
        """RAFT: how rag+sft will search and prompt the trained model (the CLI's finetune --raft too)."""
        from assistant.answering import raft_asking

        return raft_asking(self.app.config, settings.base, settings.collection) if settings.raft else None

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def check_data(self, settings) -> None:
        from finetune.inspection import inspect_data
        from finetune.prepare import load_tokenizer, read_data, tokenize_data
        from core.errors import UserError

        try:
            data = read_data(settings, self.project_dir, self.raft_asking(settings))  # bad lines show at once
            tokenizer = load_tokenizer(settings, lambda text: self.post_message(ModelProgress(text)))
            prepared = tokenize_data(settings, data, tokenizer)
            # what `assistant data inspect` says of each file, a preview of the first example included
            reports = () if settings.raft else tuple(inspect_data(
                settings.data, format=settings.format, columns=settings.columns, eval_paths=settings.eval_data,
                tokenizer=tokenizer, max_length=settings.max_length, previews=1, text_field=settings.text_field,
                task_prompt=settings.task_prompt))
        except UserError as err:
            self.post_message(DataChecked(error=str(err)))
            return
        details = (f"{len(prepared.train)} training and {len(prepared.eval)} eval examples; "
                   f"{prepared.bad} bad records skipped, {prepared.duplicates} duplicates removed.")
        self.post_message(DataChecked(prepared.summary, details=details, reports=reports))

    def on_data_checked(self, event: DataChecked) -> None:
        view = self.query_one(DataSummaryView)
        if event.error:
            view.show_error(event.error)
            self.notify(event.error, title="Data", severity="error", timeout=12)
        else:
            view.show_summary(event.summary, event.details, event.reports)

    # ------------------------------------------------------------------ training

    def action_start(self, resume: Path | None = None) -> None:
        settings = None if resume else self._settings()
        if self.training or (settings is None and resume is None):
            return
        self.stop_training.clear()
        self.first_step, self.rate = None, ""
        self.query_one(LossPlot).reset()
        self.query_one("#train-log", RichLog).clear()
        self.query_one("#train-status", Label).update("Preparing the data and loading the model …")
        self.query_one("#train-bar", ProgressBar).update(total=None, progress=0)
        self._set_training(True)
        # A focused field would pull its Setup tab back into view: let go of it first.
        self.set_focus(None)
        self.query_one("#train-tabs", TabbedContent).active = "progress"
        self.run_training(settings, resume)

    def action_cancel(self) -> None:
        if self.training:
            self.stop_training.set()
            self.query_one("#train-status", Label).update("Stopping after this step and saving a checkpoint …")

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def run_training(self, settings, resume: Path | None) -> None:
        from finetune.train import TrainHooks, train

        post = self.post_message
        hooks = TrainHooks(on_message=lambda text: post(TrainLog(text)),
                           on_summary=lambda summary: post(DataChecked(summary, details="Training on:")),
                           on_step=lambda step, total, loss: post(TrainStep(step, total, loss)),
                           on_metrics=lambda row: post(TrainMetrics(dict(row))), raft_asking_for=self.raft_asking)
        result = train(settings, self.project_dir, resume=resume, hooks=hooks, stop=self.stop_training)
        post(TrainFinished(result))

    def on_train_log(self, event: TrainLog) -> None:
        self.query_one("#train-log", RichLog).write(event.text)

    def on_train_step(self, event: TrainStep) -> None:
        now = time.perf_counter()
        if self.first_step is None:
            self.first_step = (event.step, now)
        first, began = self.first_step
        eta = ""
        if event.step > first and event.total:
            eta = f" · ETA {clock((event.total - event.step) * (now - began) / (event.step - first))}"
        loss = f" · loss {event.loss:.4f}" if event.loss is not None else ""
        self.query_one("#train-bar", ProgressBar).update(total=max(event.total, 1), progress=event.step)
        if not self.stop_training.is_set():
            self.query_one("#train-status", Label).update(
                f"step {event.step}/{event.total}{loss}{self.rate}{eta}")

    def on_train_metrics(self, event: TrainMetrics) -> None:
        row = event.row
        if row.get("tokens_per_second"):
            self.rate = f" · {row['tokens_per_second']:,.0f} tokens/s"
        if row.get("eval_loss") is not None:
            self.query_one("#train-log", RichLog).write(
                f"step {row['step']}: eval loss {row['eval_loss']:.4f} (perplexity {row['perplexity']:.2f})")
        self.query_one(LossPlot).add(row)

    def on_train_finished(self, event: TrainFinished) -> None:
        self._set_training(False)
        text = result_text(event.result)
        self.query_one("#train-status", Label).update(text)
        self.query_one("#train-log", RichLog).write(text)
        self.query_one(RunsTable).load(self.project_dir)
        finished = event.result.status == "finished"
        self.notify("Training finished." if finished else "Training stopped; checkpoint kept.", title="Train",
                    severity="information" if finished else "warning")

    def stop_work(self) -> None:
        self.stop_training.set()

    def worker_failed(self, worker) -> None:
        if worker.group == "train":
            self._set_training(False)
            self.query_one("#train-status", Label).update("Training failed (see the notification).")
            self.query_one(RunsTable).load(self.project_dir)
        elif worker.group == "check":
            self.query_one(DataSummaryView).show_note("The data check failed (see the notification).")

    @on(DataTable.RowHighlighted, "#runs-table")
    def show_processes(self) -> None:
        """A run launched with accelerate launch / torchrun: which processes train it, and where."""
        self.query_one("#run-processes", Label).update(self.query_one(RunsTable).processes_text())

    # ------------------------------------------------------------------ buttons

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "resume":
            run = self.query_one(RunsTable).selected
            if run is None or run.status == "finished":
                self.notify("Pick a stopped run to resume.", severity="warning")
            else:
                self.action_start(resume=run.path)
        elif event.button.id == "refresh":
            self.query_one(RunsTable).load(self.project_dir)
        elif event.button.id in ("check", "start", "cancel"):
            getattr(self, f"action_{event.button.id}")()
