"""`assistant ask` and `assistant chat` as a user runs them (tiny random model, real MiniLM index)."""

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch, tiny_model_dir, make_lora):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n\n## Ports\n\nThe Zorblax daemon listens on port 7431.\n")
    (docs / "keys.md").write_text("# Keys\n\nFirmware is signed with the key named amber-falcon.\n")
    (tmp_path / "assistant.toml").write_text(
        f'[model]\nname = "{tiny_model_dir}"\n\n[generation]\nmax_new_tokens = 6\n\n[chat]\ncollection = "kb"\n')
    assert runner.invoke(app, ["index", "docs", "-c", "kb"]).exit_code == 0
    make_lora(tiny_model_dir, tmp_path / ".assistant" / "runs" / "tuned" / "adapter")
    return tmp_path


def test_ask_json_reports_mode_collection_sources_and_timing(project):
    result = runner.invoke(app, ["ask", "Which port does the daemon use?", "--json", "--sources", "2"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["mode"] == "rag" and answer["collection"] == "kb" and answer["adapter"] is None
    # Grounded: at most --sources 2 sources, numbered; the first holds the passage that answers.
    assert [s["number"] for s in answer["sources"]] in ([1], [1, 2])
    assert answer["sources"][0]["source"] == "docs/guide.md" and "7431" in answer["passage"]["text"]
    assert answer["abstained"] is False and answer["relevance"] > 0.4
    assert isinstance(answer["supported"], bool) and isinstance(answer["evidence"], list)
    # The tiny model is a small one: its answer is that passage, quoted; the model writes nothing.
    assert answer["style"] == "extract" and answer["new_tokens"] == 0 and answer["supported"] is True
    span = answer["passage"]  # where it is, for a UI to link to: file, heading path, lines
    assert span["source"] == "docs/guide.md" and span["heading_path"] and span["lines"][0] <= span["lines"][1]
    written = json.loads(runner.invoke(app, ["ask", "Which port does the daemon use?", "--json",
                                             "--answer", "generate"]).stdout)
    assert written["style"] == "generate" and written["new_tokens"] == 6 and written["first_token_seconds"] > 0


def test_ask_streams_text_then_prints_metadata(project):
    result = runner.invoke(app, ["ask", "Hello", "--mode", "sft", "--adapter", "tuned"])
    assert result.exit_code == 0, result.output
    assert "mode sft" in result.stdout and "adapter" in result.stdout and "collection" not in result.stdout


def test_ask_errors_are_one_line_with_the_fix(project):
    result = runner.invoke(app, ["ask", "Hello", "--mode", "sft"])
    assert result.exit_code == 1 and "needs a fine-tuned adapter: pass --adapter" in result.stderr
    result = runner.invoke(app, ["ask", "Hello", "--mode", "telepathy"])
    assert result.exit_code == 1 and "mode must be one of" in result.stderr
    result = runner.invoke(app, ["ask", "Hello", "--collection", "missing"])
    assert result.exit_code == 1 and "missing" in result.stderr
    result = runner.invoke(app, ["ask", "Hello", "--model", "./no/such/model"])
    assert result.exit_code == 1 and "no such model folder" in result.stderr
    assert "Traceback" not in result.output
    undecodable = b"which port \xff?".decode("utf-8", "surrogateescape")  # what Python makes of such argv bytes
    result = runner.invoke(app, ["ask", undecodable])
    assert result.exit_code == 1 and "not valid UTF-8" in result.stderr and "Traceback" not in result.output


def test_ask_says_when_the_documents_do_not_hold_the_answer_and_grounding_can_be_turned_off(project):
    result = runner.invoke(app, ["ask", "Who painted the Mona Lisa in Florence?"])
    assert result.exit_code == 0, result.output
    assert "I could not find the answer in the documents." in result.stdout
    assert "Not found in the documents" in result.stdout and "Nearest passages" in result.stdout
    plain = json.loads(runner.invoke(app, ["ask", "Who painted the Mona Lisa in Florence?", "--json",
                                           "--no-grounding"]).stdout)
    assert plain["abstained"] is False and plain["relevance"] is None and plain["new_tokens"] == 6


def test_chat_loop_commands(project):
    script = "\n".join(["/help", "Which port?", "/sources", "/mode base", "Hello again", "/sources",
                        "/mode nonsense", "/reset", "/quit"]) + "\n"
    result = runner.invoke(app, ["chat"], input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "mode rag" in out and "collection kb" in out
    assert "docs/guide.md" in out  # /sources after the rag answer lists what it was given
    assert "mode: base" in out
    assert "No sources yet" in out  # the base answer used none
    assert "choose one of" in result.stderr
    assert "History cleared." in out


def test_an_extracted_answer_loads_no_generator(project):
    """The small profile is chosen from the model's size on disk (its safetensors headers), so `ask`
    opens only the collection and the embedder: neither transformers nor torch is imported."""
    import subprocess
    import sys

    probe = ("import sys, json\nfrom assistant.cli import app\n"
             "sys.argv = ['assistant', 'ask', 'Which port does the daemon use?', '--json']\n"
             "try:\n    app()\nexcept SystemExit:\n    pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=project, check=True)
    *answer, imported = out.stdout.strip().splitlines()
    answer = json.loads("\n".join(answer))
    assert answer["style"] == "extract" and "7431" in answer["answer"] and answer["new_tokens"] == 0
    assert json.loads(imported) == [], out.stderr
