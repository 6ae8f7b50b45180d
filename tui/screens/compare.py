"""Compare: one question answered in several modes side by side, or a question file scored and
summarised as `assistant compare` does (metrics table and chart; saved under experiments/).

Every mode starts chosen. With no adapter chosen, sft and rag+sft do not run: their panes say what
they need (a question file run leaves them out with a notice) instead of disappearing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, DataTable, Input, Label, ProgressBar, Select, TabbedContent, TabPane

from assistant.config import MODES

from ..messages import AnswerFinished, AnswerToken, CompareFinished, CompareProgress
from ..widgets.adapter_select import AdapterSelect, adapter_names
from ..widgets.answer_view import AnswerView
from ..widgets.collection_select import CollectionSelect
from ..widgets.metrics_chart import MetricsChart
from .base import JobScreen


def slug(mode: str) -> str:
    """'rag+sft' → 'rag-sft' (a usable widget id)."""
    return mode.replace("+", "-")


def adapter_note(modes: Sequence[str], have_adapters: bool) -> str:
    """Why sft modes cannot run without an adapter, and what to do:
    ("sft",), True → 'sft needs a fine-tuned adapter: choose one in the "no adapter" list above.'"""
    need = f"{' and '.join(modes)} {'needs' if len(modes) == 1 else 'need'} a fine-tuned adapter"
    if have_adapters:
        return f'{need}: choose one in the "no adapter" list above.'
    return (f"{need}, and none is trained yet: train one in Train (F2) or with `assistant finetune`, "
            "then choose it above.")


def needs_adapter(modes: Sequence[str], adapter: str | None) -> tuple[str, ...]:
    """The chosen modes that cannot run because no adapter is chosen: ("base", "sft"), None → ("sft",)."""
    from assistant.config import SFT_MODES

    return () if adapter else tuple(mode for mode in modes if mode in SFT_MODES)


def row_meta(row) -> str:
    """'1.52 s · 30.1 tokens/s · 38 new tokens' for one compare Row."""
    speed = row.metrics.get("tokens_per_second")
    parts = [f"{row.metrics['latency']:.2f} s", f"{speed:.1f} tokens/s" if speed else "",
             f"{row.new_tokens} new tokens"]
    if row.adapter:
        parts.append(f"adapter {Path(row.adapter).parent.name}")
    return " · ".join(p for p in parts if p)


class CompareScreen(JobScreen):
    MODE = "compare"
    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+r", "run_file", "Run question file"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stop_event = threading.Event()
        self.running = False
        self.columns: dict[str, AnswerView] = {}
        self.waiting: list[str] = []
        """Modes of the question on show not yet finished, in the order they run."""
        self.started = 0.0
        self.tokens: dict[str, int] = {}

    @property
    def project_dir(self) -> Path:
        return Path(self.app.config.project_dir)

    def compose_body(self) -> ComposeResult:
        chat = self.app.config.chat
        # Every mode starts chosen: without an adapter the sft panes say why they did not run.
        with Horizontal(classes="form-row", id="compare-options"):
            for mode in MODES:
                yield Checkbox(mode, True, id=f"use-{slug(mode)}", compact=True)
            yield CollectionSelect(self.project_dir, chat.collection, id="compare-collection", compact=True)
            yield AdapterSelect(self.project_dir, chat.adapter, id="compare-adapter", compact=True)
        with TabbedContent(id="compare-tabs"):
            with TabPane("One question", id="single"):
                yield Input(placeholder="A question to answer in each chosen mode (enter)", id="compare-question")
                yield VerticalScroll(id="columns")
            with TabPane("Question file", id="file"):
                with Horizontal(classes="form-row"):
                    yield Input(placeholder="questions.jsonl (question, answer, source) or SQuAD .json", compact=True,
                                id="questions-file")
                    yield Input(placeholder="limit", id="limit", type="integer", compact=True)
                    yield Button("Run", id="run-file", variant="primary", compact=True)
                with VerticalScroll(id="file-results"):
                    yield Label("Scores every question in every chosen mode and saves the run under "
                                "experiments/.", id="file-status", markup=False)
                    yield ProgressBar(total=1, id="file-bar", show_eta=False)
                    yield DataTable(id="metrics", zebra_stripes=True, cursor_type="row")
                    yield MetricsChart(id="chart")

    def on_screen_resume(self) -> None:
        # Chat and Compare ask the same collection: the one last chosen on either (else the config's
        # or the most recent); Compare opened on another one than Chat.
        self.query_one(CollectionSelect).reload(choose=self.app.collection)
        self.query_one(AdapterSelect).reload()

    @on(Select.Changed, "#compare-collection")
    def collection_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.app.collection = str(event.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.running
        if action == "run_file":
            return not self.running or None
        return True

    def chosen_modes(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(modes to run, chosen modes left out for want of an adapter); a notice when none is chosen."""
        modes = tuple(mode for mode in MODES if self.query_one(f"#use-{slug(mode)}", Checkbox).value)
        if not modes:
            self.notify("Choose at least one mode.", severity="warning")
        blocked = needs_adapter(modes, self.query_one(AdapterSelect).name_or_none)
        return tuple(mode for mode in modes if mode not in blocked), blocked

    def settings(self, modes: tuple[str, ...], **extra):
        """A CompareConfig for `modes` with the chosen collection and adapter."""
        from assistant.evaluation.compare import CompareConfig

        return CompareConfig(modes=modes, collection=self.query_one(CollectionSelect).name_or_none,
                             adapter=self.query_one(AdapterSelect).name_or_none, **extra)

    def missing_adapter(self, modes: Sequence[str]) -> str:
        """The note for `modes`, pointing at Train when the project has no adapter yet."""
        return adapter_note(modes, bool(adapter_names(self.project_dir)))

    def _set_running(self, on: bool) -> None:
        self.running = on
        self.query_one("#run-file", Button).disabled = on
        self.refresh_bindings()

    # ------------------------------------------------------------------ one question

    @on(Input.Submitted, "#compare-question")
    async def ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question or self.running:
            return
        modes, blocked = self.chosen_modes()
        if not modes and not blocked:
            return
        views = {mode: AnswerView(mode, id=f"column-{slug(mode)}", classes="column")
                 for mode in MODES if mode in modes + blocked}
        columns = self.query_one("#columns", VerticalScroll)
        await columns.remove_children()
        await columns.mount_all(views.values())  # one scroll for all: a grid of two, or one column when narrow
        for mode in blocked:  # shown, not dropped: the user sees the mode and what it needs
            views[mode].fail(self.missing_adapter([mode]))
            views[mode].add_class("-needs-adapter")
        self.columns = {mode: views[mode] for mode in modes}
        if not modes:
            return
        self.waiting, self.tokens, self.started = list(modes), {}, time.monotonic()
        self.show_waiting()
        self.stop_event.clear()
        self._set_running(True)
        self.run_question(question, self.settings(modes))

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def run_question(self, question: str, settings) -> None:
        from assistant.evaluation.compare import compare
        from lm.questions import QAPair

        post = self.post_message
        with self.app.generating:
            result = compare([QAPair(question, id="q1")], self.app.assistant, settings, stop=self.stop_event,
                             on_progress=lambda p: post(AnswerFinished(p.row.mode, p.row)),
                             on_token=lambda mode, text: post(AnswerToken(mode, text)))
        post(CompareFinished(result))

    def show_waiting(self) -> None:
        """Each unfinished mode's place: the first is answering (for how long, how many tokens),
        the others wait their turn (modes run one after another on one model)."""
        for place, mode in enumerate(self.waiting):
            if mode not in self.columns:
                continue
            if place == 0:
                tokens = self.tokens.get(mode, 0)
                self.columns[mode].status(f"answering… {time.monotonic() - self.started:.0f} s"
                                          + (f" · {tokens} tokens" if tokens else ""))
            else:
                self.columns[mode].status(f"waiting: {place + 1} of {len(self.waiting)} left")

    def on_mount(self) -> None:
        self.query_one("#compare-question", Input).focus()
        self.set_interval(1.0, lambda: self.running and self.waiting and self.show_waiting())

    def on_resize(self, event) -> None:
        # two answers a row where each gets 50 columns, else one under the other
        self.query_one("#columns", VerticalScroll).set_class(event.size.width < 100, "-narrow")

    def on_answer_token(self, event: AnswerToken) -> None:
        if event.key in self.columns:
            self.columns[event.key].append(event.text)
            self.tokens[event.key] = self.tokens.get(event.key, 0) + 1

    def on_answer_finished(self, event: AnswerFinished) -> None:
        row = event.answer
        if event.key in self.waiting:
            self.waiting.remove(event.key)
            self.started = time.monotonic()  # the next mode starts now
            self.show_waiting()
        if event.key in self.columns and row is not None:
            from assistant.render import grounding_notes

            sources = [(source.label(), source.cited, None) for source in row.sources]
            notes = (grounding_notes(row.abstained, row.supported, row.evidence,
                                     {s.number: s.label() for s in row.sources})
                     if row.supported is not None or row.abstained else [])
            self.columns[event.key].finish(row.answer, sources, row_meta(row), notes)

    # ------------------------------------------------------------------ question file

    def action_run_file(self) -> None:
        path = self.query_one("#questions-file", Input).value.strip()
        limit = self.query_one("#limit", Input).value.strip()
        if self.running:
            return
        if not path:
            self.query_one("#compare-tabs", TabbedContent).active = "file"
            self.query_one("#questions-file", Input).focus()
            self.notify("Type the path of a question file first.", severity="warning")
            return
        modes, blocked = self.chosen_modes()
        if blocked:
            left_out = "" if modes else " Nothing else is chosen to run."
            self.notify(f"{self.missing_adapter(blocked)} Left out of this run.{left_out}", severity="warning",
                        timeout=10)
        if not modes:
            return
        settings = self.settings(modes, question_file=path, limit=int(limit) if limit else None)
        self.query_one("#metrics", DataTable).clear(columns=True)
        self.query_one("#file-status", Label).update(f"Answering the questions in {path} …")
        self.query_one("#file-bar", ProgressBar).update(total=None, progress=0)
        self.stop_event.clear()
        self._set_running(True)
        self.run_file(Path(path), settings)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def run_file(self, path: Path, settings) -> None:
        from assistant.evaluation.compare import compare, save_compare
        from assistant.evaluation.results import experiments_dir
        from lm.questions import load_questions

        post = self.post_message
        pairs = load_questions(path)
        with self.app.generating:
            result = compare(pairs, self.app.assistant, settings, stop=self.stop_event,
                             on_progress=lambda p: post(CompareProgress(p.done, p.total,
                                                                        f"{p.row.mode} · {p.row.id}")))
        folder = save_compare(result, experiments_dir(self.project_dir) / result.name)
        post(CompareFinished(result, folder))

    def on_compare_progress(self, event: CompareProgress) -> None:
        self.query_one("#file-bar", ProgressBar).update(total=event.total, progress=event.done)
        self.query_one("#file-status", Label).update(f"{event.done}/{event.total} answers · {event.text}")

    def on_compare_finished(self, event: CompareFinished) -> None:
        self._set_running(False)
        result = event.result
        if event.folder is None:
            self.waiting = []
            for mode, view in self.columns.items():
                if not any(row.mode == mode for row in result.rows):
                    view.fail("stopped" if result.stopped else "no answer")
            return
        from assistant.evaluation.report import summary_rows

        table = self.query_one("#metrics", DataTable)
        table.clear(columns=True)
        table.add_columns("metric", *result.modes)
        for row in summary_rows(result):
            table.add_row(*row)
        self.query_one(MetricsChart).show(result)
        stopped = " (stopped early)" if result.stopped else ""
        self.query_one("#file-status", Label).update(
            f"{len(result.rows)} answers{stopped}; saved {event.folder} (report.md, results.json, metrics.png).")

    def stop_work(self) -> None:
        self.stop_event.set()

    def worker_failed(self, worker) -> None:
        if worker.group == "compare":
            self._set_running(False)
            for view in self.columns.values():
                if "-failed" not in view.classes and not view.text:
                    view.fail("failed (see the notification)")

    def action_stop(self) -> None:
        if self.running:
            self.stop_event.set()

    @on(Button.Pressed, "#run-file")
    def run_pressed(self) -> None:
        self.action_run_file()
