"""The Train screen: data check before start, a tiny run to the end, cancel with a checkpoint."""

from __future__ import annotations

import json
import time

from textual.widgets import Input

from finetune.run_start import last_checkpoint
from tui.app import make_app
from tui.messages import DataChecked, TrainFinished, TrainStep
from tui.screens.train import TrainScreen
from tui.widgets.data_summary import DataSummaryView
from tui.widgets.loss_plot import LossPlot
from tui.widgets.runs_table import RunsTable

from conftest import SIZE, Inbox, make_config, screen_text, wait_until


async def test_check_data_shows_the_summary_then_names_the_bad_line(tui_project, tiny_model_dir, tmp_path):
    app = make_app(make_config(tmp_path / "project", tiny_model_dir), start="train")
    inbox = Inbox(DataChecked)
    checked = inbox.messages
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: checked, what="the data check")
        assert checked[0].summary.records == 24 and checked[0].error is None
        assert "24 records (24 chat, 0 text)" in screen_text(app)
        # the same per-file report as `assistant data inspect`, with the first example as trained
        report = checked[0].reports[0]
        assert report.records == 24 and report.preview and any(trained for _, trained in report.preview[0].segments)
        shown = str(screen.query_one(DataSummaryView).content)
        assert "preview" in shown and "trained text green" in shown and "<|im_start|>assistant" in shown

        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"instruction": "Hi?", "output": "Hello."}) + "\n{not json\n")
        screen.query_one("#data", Input).value = str(bad)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: len(checked) == 2, what="the second data check")
        assert checked[1].error and "bad.jsonl:2" in checked[1].error
        assert "bad.jsonl:2" in screen_text(app)
        assert not screen.training  # nothing started


async def test_a_tiny_run_plots_its_loss_and_is_listed(tiny_model_dir, tmp_path):
    project = tmp_path / "project"
    app = make_app(make_config(project, tiny_model_dir, max_steps=3), start="train")
    inbox = Inbox(TrainFinished)
    finished = inbox.messages
    before_first_step: list[str] = []

    def hook(message) -> None:  # posted, not yet handled: what the status said until step 1
        inbox(message)
        if isinstance(message, TrainStep) and not before_first_step:
            before_first_step.append(str(app.screen.query_one("#train-status").content))

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = app.screen
        # the run is named in the form; tabbing into a field keeps its text (typing appends)
        screen.query_one("#name", Input).focus()
        await pilot.press(*"tiny")
        await pilot.press("tab", "tab", "tab", "tab", "tab")  # base, data, method, epochs, max steps
        assert app.focused.id == "max_steps" and app.focused.value == "3"
        await pilot.press("0")
        assert app.focused.value == "30"
        await pilot.press("backspace")
        await pilot.press("ctrl+r")
        # A 3-step run of the tiny model can finish before the key press returns: check the switch
        # to the progress tab, not that training is still going.
        assert screen.query_one("#train-tabs").active == "progress"
        await wait_until(pilot, lambda: finished, what="training")
        result = finished[0].result
        assert result.status == "finished" and result.output.is_dir() and result.run_dir.name == "tiny"
        assert before_first_step == ["Preparing the data and loading the model …"]  # not "step 1/3" yet
        assert [step for step, _ in screen.query_one(LossPlot).train] == [1, 2, 3]
        assert "Finished 3 steps" in screen_text(app)
        runs = screen.query_one(RunsTable)
        assert [(r.name, r.status) for r in runs.runs] == [(result.run_dir.name, "finished")]


async def test_cancel_keeps_the_last_checkpoint_while_the_app_stays_responsive(tiny_model_dir, tmp_path):
    project = tmp_path / "project"
    app = make_app(make_config(project, tiny_model_dir, max_steps=400, save_steps=400), start="train")
    inbox = Inbox(TrainStep, TrainFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        train = app.screen
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: inbox.of(TrainStep), what="the first training step")
        # Typing and switching screens while the model trains.
        await pilot.press("f3")
        assert app.current_mode == "chat"
        await pilot.press(*"still typing")
        assert app.screen.query_one("#question", Input).value == "still typing"
        await pilot.press("f2")
        assert app.screen is train and train.training and not inbox.of(TrainFinished)
        await pilot.press("escape")
        await wait_until(pilot, lambda: inbox.of(TrainFinished), what="the stop")
        result = inbox.of(TrainFinished)[0].result
        assert result.status == "stopped" and result.metrics["steps"] < 400
        checkpoint = last_checkpoint(result.run_dir)
        assert checkpoint is not None and checkpoint.name == f"checkpoint-{result.metrics['steps']}"
        assert f"Stopped at step {result.metrics['steps']}; the last checkpoint is kept" in screen_text(app)
        assert train.query_one(RunsTable).runs[0].status == "stopped"
        assert not train.training and not train.query_one("#start").disabled


async def test_quitting_while_training_stops_the_run_with_a_checkpoint(tiny_model_dir, tmp_path):
    from finetune.runs import list_runs

    project = tmp_path / "project"
    app = make_app(make_config(project, tiny_model_dir, max_steps=400, save_steps=400), start="train")
    inbox = Inbox(TrainStep)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: inbox.of(TrainStep), what="the first training step")
        await pilot.press("ctrl+q")
    # the app has exited; the training thread ends its step and saves (a real process waits for it
    # at exit; this test's process goes on, so it waits here, as long as a loaded machine needs)
    deadline = time.monotonic() + 120
    while list_runs(project)[0].status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    (run,) = list_runs(project)
    assert run.status == "stopped" and run.steps < 400 and last_checkpoint(run.path) is not None


async def test_the_runs_tab_shows_the_processes_of_a_multi_process_run(tiny_model_dir, tmp_path):
    """A run launched with accelerate launch elsewhere (two ranks): its row counts them, and the line under
    the table names each one's rank, pid and host."""
    import os

    from finetune.runs import hostname

    project = tmp_path / "project"
    run = project / "runs" / "ddp"
    run.mkdir(parents=True)
    processes = [{"rank": 0, "pid": 4242, "host": "gpu-a", "steps": 4},
                 {"rank": 1, "pid": os.getpid(), "host": hostname(), "steps": 4}]
    (run / "run.json").write_text(json.dumps({"name": "ddp", "status": "finished", "base": str(tiny_model_dir),
                                              "method": "lora", "created": "2026-01-02T00:00:00", "world_size": 2,
                                              "processes": processes, "distributed": "MULTI_GPU",
                                              "metrics": {"steps": 4}}))
    app = make_app(make_config(project, tiny_model_dir), start="train")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#train-tabs").active = "runs"
        table = screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.runs, what="the runs table")
        assert table.runs[0].world_size == 2
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        text = screen_text(app)
        assert "processes" in text
        assert f"2 processes: rank 0 pid 4242 on gpu-a, rank 1 pid {os.getpid()} on {hostname()}" in text
