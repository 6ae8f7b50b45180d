"""`assistant finetune`, `assistant adapters` and `assistant data raft` as a user runs them (tiny model)."""

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with open(tmp_path / "train.jsonl", "w") as out:
        for day, word in enumerate(["amber", "cobalt", "dune", "ember", "fjord", "garnet"], 1):
            out.write(json.dumps({"instruction": f"Code word for day {day}?", "output": word}) + "\n")
    return tmp_path


def finetune(tiny_model_dir, *extra):
    return runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "train.jsonl",
                               "--max-steps", "3", "--batch-size", "2", "--eval-split", "0", *extra])


def test_finetune_trains_lists_merges_and_removes_a_run(project, tiny_model_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    result = finetune(tiny_model_dir, "--name", "codes")
    assert result.exit_code == 0, result.output
    assert "records" in result.output.lower() and "Finished 3 steps" in result.output
    adapter = project / ".assistant" / "runs" / "codes" / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file()

    listing = runner.invoke(app, ["adapters", "list"])
    assert listing.exit_code == 0 and "codes" in listing.output and "finished" in listing.output

    merged = runner.invoke(app, ["adapters", "merge", "codes", "--out", "merged"])
    assert merged.exit_code == 0, merged.output
    probe = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        plain = AutoModelForCausalLM.from_pretrained(project / "merged")(probe).logits
        peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), adapter).eval()(probe).logits
    assert torch.allclose(plain, peft, atol=1e-4)
    # a plain Hugging Face folder, as transformers and vLLM load it: no adapter files, weights in safetensors
    files = {path.name for path in (project / "merged").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files and "adapter_config.json" not in files

    again = finetune(tiny_model_dir, "--name", "codes")
    assert again.exit_code == 1 and "already exists" in again.output

    removed = runner.invoke(app, ["adapters", "rm", "codes"])
    assert removed.exit_code == 0 and not (project / ".assistant" / "runs" / "codes").exists()


def test_bad_records_stop_the_run_with_file_and_line_unless_skipped(project, tiny_model_dir):
    with open(project / "train.jsonl", "a") as out:
        out.write('{"instruction": "Code word for day 9?"}\n')
        out.write("{not json\n")
    result = finetune(tiny_model_dir)
    assert result.exit_code == 1
    assert "train.jsonl:7" in result.output and "--skip-bad" in result.output
    assert not (project / ".assistant" / "runs").exists()

    skipped = finetune(tiny_model_dir, "--skip-bad", "--name", "skipping")
    assert skipped.exit_code == 0, skipped.output
    manifest = json.loads((project / ".assistant" / "runs" / "skipping" / "run.json").read_text())
    assert manifest["skipped_records"] == 2
    # the console says what run.json says: what was skipped, and the format each file was read in
    assert "train train.jsonl: read as alpaca" in " ".join(skipped.output.split())
    assert any(line.split()[-2:] == ["skipped", "2"] for line in skipped.output.replace("│", " ").splitlines()
               if "bad records skipped" in line), skipped.output


def test_two_methods_at_once_are_refused(project, tiny_model_dir):
    result = finetune(tiny_model_dir, "--qlora")
    assert result.exit_code == 1 and "choose one method" in result.output


def test_config_file_supplies_the_settings(project, tiny_model_dir):
    (project / "train.toml").write_text(
        f'[finetune]\nmethod = "lora"\nbase = "{tiny_model_dir}"\ndata = ["train.jsonl"]\nmax_steps = 2\n'
        f'batch_size = 2\neval_split = 0\nname = "from-file"\n')
    result = runner.invoke(app, ["finetune", "--config", "train.toml"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / ".assistant" / "runs" / "from-file" / "run.json").read_text())
    assert manifest["metrics"]["steps"] == 2 and manifest["method"] == "lora"


def test_data_raft_writes_examples_that_finetune_reads(project, tiny_model_dir):
    docs = project / "docs"
    docs.mkdir()
    (docs / "ports.md").write_text("# Ports\n\nThe Zorblax daemon listens on port 7431.\n")
    (docs / "keys.md").write_text("# Keys\n\nFirmware is signed with the key named amber-falcon.\n")
    assert runner.invoke(app, ["index", "docs", "-c", "kb"]).exit_code == 0
    (project / "qa.jsonl").write_text(
        json.dumps({"question": "Which port?", "answer": "7431", "source": "ports.md"}) + "\n"
        + json.dumps({"question": "Which key signs firmware?", "answer": "amber-falcon"}) + "\n")
    built = runner.invoke(app, ["data", "raft", "qa.jsonl", "-c", "kb", "--out", "raft.jsonl", "--oracle-share", "1"])
    assert built.exit_code == 0, built.output
    rows = [json.loads(line) for line in (project / "raft.jsonl").read_text().splitlines()]
    # the [finetune] base is the embedded 135M model: its rag+sft prompt shows the best sentences,
    # and it answers with a quote, so the target is the answer as those sentences hold it, uncited
    assert len(rows) == 2 and [row["messages"][-1]["content"] for row in rows] == ["7431", "amber-falcon"]
    assert "The Zorblax daemon listens on port 7431." in rows[0]["messages"][-2]["content"]
    assert "0 whose answer the prompt's sentences do not show" in " ".join(built.output.split())
    trained = runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "raft.jsonl",
                                  "--max-steps", "1", "--eval-split", "0", "--name", "raft"])
    assert trained.exit_code == 0, trained.output


def test_text_field_is_a_flag_and_a_bad_device_is_one_line(project, tiny_model_dir):
    """The hint for records of no known format named --text-field, a flag that did not exist;
    --device nonsense printed a traceback."""
    with open(project / "notes.jsonl", "w") as out:
        for n in range(4):
            out.write(json.dumps({"body": f"Zorblax note {n}: the depot opens at 0{n}:30."}) + "\n")
    refused = runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "notes.jsonl",
                                  "--max-steps", "1"])
    assert refused.exit_code == 1 and "--text-field" in refused.output
    trained = runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "notes.jsonl",
                                  "--text-field", "body", "--max-steps", "1", "--batch-size", "2", "--eval-split", "0"])
    assert trained.exit_code == 0, trained.output
    bad_device = finetune(tiny_model_dir, "--device", "nonsense")
    assert bad_device.exit_code == 1 and "device 'nonsense': use auto, cpu, cuda" in bad_device.output
    assert "Traceback" not in bad_device.output


def test_label_data_trains_with_a_task_template(project, tiny_model_dir):
    (project / "reviews.tsv").write_text("text\tlabel\nGreat tool\tpositive\n很好用\tpositive\nBroken\tnegative\n"
                                         "坏了\tnegative\n", encoding="utf-8")
    refused = runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "reviews.tsv",
                                  "--max-steps", "1"])
    assert refused.exit_code == 1 and "--format classification" in refused.output
    trained = runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "reviews.tsv",
                                  "--format", "classification", "--max-steps", "1", "--batch-size", "2",
                                  "--eval-split", "0"])
    assert trained.exit_code == 0, trained.output
