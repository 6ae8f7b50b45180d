"""Progress where output is piped (a log, CI): a line with count, rate and ETA every so often,
where rich bars printed only once, at exit ("5/20 -:--:--")."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.progress import BarColumn, TextColumn

from assistant.progress import LoggedProgress, make_progress
from finetune.runs import steps_done


def test_piped_progress_prints_lines_with_an_eta_and_the_end():
    buffer = io.StringIO()
    progress = make_progress(Console(file=buffer, width=80), TextColumn("[bold]{task.description}"), BarColumn())
    assert isinstance(progress, LoggedProgress)
    progress.every = 0.0  # every update, here; LOG_SECONDS (30 s) in use
    progress.start()
    task = progress.add_task("answering", total=4, note="")
    clock = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    progress.get_time = lambda: next(clock)
    for done in range(1, 5):
        progress.update(task, completed=done, note=f"q{done}")
    progress.stop()
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("answering: 1/4 (25%)") and lines[-1].startswith("answering: 4/4 (100%)")
    assert any("ETA 0:0" in line for line in lines[1:-1]), lines
    assert "q4" in lines[-1] and "\x1b" not in buffer.getvalue()


def test_piped_progress_waits_between_lines():
    buffer = io.StringIO()
    progress = make_progress(Console(file=buffer, width=80), TextColumn("{task.description}"))
    task = progress.add_task("embedding", total=1000)
    for _ in range(999):
        progress.advance(task)
    progress.advance(task)
    progress.update(task, rate="50 chunks/s")  # set after the last step: the end line carries it
    # the first line, then nothing for 30 s, then the end
    lines = buffer.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["embedding", "embedding"] and "50 chunks/s" in lines[-1]


def test_a_terminal_gets_bars():
    console = Console(file=io.StringIO(), force_terminal=True)
    assert not isinstance(make_progress(console, TextColumn("x")), LoggedProgress)


def test_a_stopped_run_counts_the_steps_it_took(tmp_path):
    """`assistant adapters` listed a RAFT run stopped at step 5 as "steps 0"."""
    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0}) + "\n" for s in (1, 5)) + '{"st')
    assert steps_done(tmp_path, {}) == 5
    assert steps_done(tmp_path, {"steps": 40}) == 40
    assert steps_done(tmp_path / "missing", {}) == 0
