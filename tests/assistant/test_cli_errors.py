"""Every command turns an expected failure (a UserError) into one `error:` line and exit code 1,
and lets anything else through as the bug it is. One provoked error per command, none of which
loads a model."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()

# command line → a piece of the one-line message it must print
PROVOKED = {
    "index": (["index", "missing-folder", "-c", "docs"], "missing-folder: no such file or folder"),
    "search": (["search", "port", "-c", "nothing"], "no collection named 'nothing'"),
    "collections rm": (["collections", "rm", "nothing"], "no collection named 'nothing'"),
    "eval retrieval": (["eval", "retrieval", "--beir", "no-such-set"], "no-such-set"),
    "ask": (["ask", "Which port?", "--mode", "sft"], "needs a fine-tuned adapter"),
    "finetune": (["finetune", "--data", "missing.jsonl", "--base", "./no-model"], "missing.jsonl: no such file"),
    "data raft": (["data", "raft", "missing.jsonl", "-c", "docs", "--out", "x.jsonl"], "missing.jsonl"),
    "adapters merge": (["adapters", "merge", "nothing", "--out", "merged"], "nothing"),
    "adapters rm": (["adapters", "rm", "nothing"], "no training run 'nothing'"),
    "compare": (["compare", "--questions", "missing.jsonl"], "missing.jsonl"),
    "experiments show": (["experiments", "show", "nothing"], "nothing"),
    "experiment squad": (["experiment", "squad", "missing.json"], "missing.json"),
    "tui": (["--config", "bad.toml", "tui"], "bad.toml: config file not found"),
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.mark.parametrize("name", sorted(PROVOKED))
def test_each_command_prints_a_user_error_as_one_line(project, name):
    args, message = PROVOKED[name]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (result.exit_code, result.output[-500:], repr(result.exception))
    said = " ".join(result.stderr.split())
    assert said.count("error:") == 1 and message in said[said.index("error:"):]
    assert "Traceback" not in result.output


def test_a_bug_is_not_dressed_up_as_a_user_error(project, monkeypatch):
    import index.store

    def broken(root):
        raise RuntimeError("a bug")

    monkeypatch.setattr(index.store, "list_collections", broken)
    result = runner.invoke(app, ["collections"])
    assert isinstance(result.exception, RuntimeError)  # a traceback for the bug, not "error: a bug"
