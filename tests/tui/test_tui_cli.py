"""`assistant tui`, `assistant` alone in a terminal, and what the TUI keeps out of other imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from assistant import cli
from tui.app import AssistantApp

runner = CliRunner()


@pytest.fixture
def opened(monkeypatch, tmp_path):
    """Records the apps that would have opened, instead of taking over the terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    apps = []
    monkeypatch.setattr(AssistantApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


def test_tui_opens_the_chosen_screen_with_the_project_config(opened, tmp_path):
    result = runner.invoke(cli.app, ["--project-dir", str(tmp_path / "p"), "tui", "--screen", "train", "--light"])
    assert result.exit_code == 0, result.output
    (app,) = opened
    assert app.start_screen == "train" and app.theme == "textual-light" and app.config.project_dir == tmp_path / "p"


def test_tui_starts_on_index_without_a_collection_and_rejects_unknown_screens(opened):
    assert runner.invoke(cli.app, ["tui"]).exit_code == 0
    assert opened[0].start_screen == "index"
    result = runner.invoke(cli.app, ["tui", "--screen", "nope"])
    assert result.exit_code == 1 and "--screen must be one of index, train, chat, compare" in result.output
    assert len(opened) == 1


@pytest.mark.parametrize("terminal", [True, False])
def test_assistant_alone_opens_the_app_only_in_a_terminal(opened, monkeypatch, capsys, terminal):
    monkeypatch.setattr(sys, "argv", ["assistant"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: terminal, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal, raising=False)
    try:
        cli.main()
    except SystemExit:
        pass
    assert len(opened) == (1 if terminal else 0)
    if not terminal:
        assert "Usage" in capsys.readouterr().out


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_help_and_the_core_never_import_textual():
    helped = _modules_after("import sys\nfrom assistant.cli import app\nsys.argv=['assistant','--help']\n"
                            "try:\n    app()\nexcept SystemExit:\n    pass")
    assert "textual" not in helped and "torch" not in helped
    core = _modules_after("import index.build, index.retriever, finetune.train, finetune.data, finetune.runs, "
                          "assistant.answering, assistant.evaluation.compare")
    assert "textual" not in core
