"""Training mechanics on a tiny random Llama, on the CPU: every method, outputs, reloading, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finetune.config import METHODS, TrainConfig, load_train_config, presets
from finetune.runs import HEARTBEAT, RunManifest, list_runs, read_manifest, read_metrics, run_status, write_heartbeat
from finetune.run_start import last_checkpoint
from finetune.speed import method_for
from lm.models import pick_device
from finetune.train import TrainHooks, train
from finetune.types import DataError, RunError

ROOT = Path(__file__).resolve().parents[2]
CODES = ["amber", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo"]


def memorisation_file(folder: Path) -> Path:
    """Eight question → code-word pairs, alpaca format: small enough to memorise in a few steps."""
    path = folder / "codes.jsonl"
    with open(path, "w") as out:
        for day, code in enumerate(CODES, 1):
            out.write(json.dumps({"instruction": f"Code word for day {day}?", "output": code}) + "\n")
    return path


def tiny_config(tiny_model_dir, data, tmp_path, method, **overrides) -> TrainConfig:
    settings = dict(base=str(tiny_model_dir), method=method, data=[str(data)], output=str(tmp_path / method),
                    max_steps=12, batch_size=4, logging_steps=1, eval_split=0, save_steps=6,
                    lr={"full": 3e-3, "freeze": 3e-3, "prefix": 1e-1, "prompt-tuning": 1e-1}.get(method, 3e-2),
                    max_length=128, warmup_ratio=0.0,
                    scheduler="constant")
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.mark.parametrize("method", METHODS)
def test_each_method_lowers_the_loss_and_saves_its_output(method, tiny_model_dir, tmp_path):
    data = memorisation_file(tmp_path)
    rows = []
    result = train(tiny_config(tiny_model_dir, data, tmp_path, method), tmp_path / "project",
                   hooks=TrainHooks(on_metrics=rows.append))
    assert result.status == "finished"
    losses = [row["loss"] for row in rows if "loss" in row]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 * 0.9, losses
    manifest = json.loads((result.run_dir / "run.json").read_text())
    # "auto" is recorded as what it stood for on this device: lora on a CPU, qlora on a GPU
    assert manifest["status"] == "finished" and manifest["method"] == method_for(method, pick_device("auto"))
    assert manifest["data"][0]["sha256"] and manifest["versions"]["trl"]
    assert manifest["config"]["max_steps"] == 12 and manifest["parameters"]["trainable"] > 0
    assert (result.run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert read_metrics(result.run_dir)[-1]["step"] == 12
    if method in ("full", "freeze"):
        assert (result.output / "config.json").is_file() and result.output.name == "model"
    else:
        assert (result.output / "adapter_config.json").is_file()
        assert (result.output / "adapter_model.safetensors").is_file()
        assert (result.output / "tokenizer.json").is_file()


def test_lora_adapter_reloads_in_peft_and_in_the_generator(tiny_model_dir, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lm.models import load_model

    data = memorisation_file(tmp_path)
    result = train(tiny_config(tiny_model_dir, data, tmp_path, "lora", max_steps=4), tmp_path / "project")
    probe = torch.tensor([[1, 2, 3, 4, 5]])
    through_peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), result.output)
    through_ours = load_model(str(tiny_model_dir), adapter=result.output, device="cpu")
    with torch.no_grad():
        expected = through_peft.eval()(probe).logits
        got = through_ours.model(probe).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(probe).logits
    assert torch.allclose(expected, got, atol=1e-5)
    assert not torch.allclose(plain, got, atol=1e-4)  # the adapter changes the outputs


def test_eval_split_reports_eval_loss_and_keeps_the_best(tiny_model_dir, tmp_path):
    data = memorisation_file(tmp_path)
    result = train(tiny_config(tiny_model_dir, data, tmp_path, "lora", eval_split=0.25, eval_steps=4),
                   tmp_path / "project")
    evals = [row for row in read_metrics(result.run_dir) if "eval_loss" in row]
    assert [row["step"] for row in evals] == [4, 8, 12]
    assert all(row["perplexity"] > 1 for row in evals)
    assert result.metrics["best_eval_loss"] == min(row["eval_loss"] for row in evals)
    assert [run.name for run in list_runs(tmp_path / "project")] == []  # --output was outside the project


def test_stop_event_saves_a_checkpoint_and_resume_finishes(tiny_model_dir, tmp_path):
    import threading

    data = memorisation_file(tmp_path)
    stop = threading.Event()
    hooks = TrainHooks(on_step=lambda step, total, loss: stop.set() if step == 3 else None)
    first = train(tiny_config(tiny_model_dir, data, tmp_path, "lora"), tmp_path / "project", hooks=hooks, stop=stop)
    assert first.status == "stopped" and first.output is None
    assert last_checkpoint(first.run_dir).name == "checkpoint-3"
    second = train(TrainConfig(), tmp_path / "project", resume=first.run_dir)
    assert second.status == "finished" and second.metrics["steps"] == 12
    steps = [row["step"] for row in read_metrics(second.run_dir) if "loss" in row]
    assert steps == list(range(1, 13))  # no step logged twice


def test_a_killed_run_resumes_from_its_last_checkpoint(tiny_model_dir, tmp_path):
    data = memorisation_file(tmp_path)
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "assistant", "--project-dir", str(tmp_path / "project"), "finetune", "--lora",
               "--base", str(tiny_model_dir), "--data", str(data), "--output", str(run_dir), "--max-steps", "60",
               "--save-steps", "2", "--batch-size", "2", "--eval-split", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=os.environ | {"PYTHONPATH": str(ROOT)})
    deadline = time.time() + 240
    while time.time() < deadline and (last_checkpoint(run_dir) if (run_dir / "checkpoints").exists() else None) is None:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        time.sleep(0.5)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)  # no chance to clean up: a crash, not a Ctrl-C
    process.wait()
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "running" and run_status(run_dir, read_manifest(run_dir)) == "interrupted"
    step = int(last_checkpoint(run_dir).name.rsplit("-", 1)[1])
    resumed = subprocess.run(command[:command.index("finetune") + 1] + ["--resume", str(run_dir)], cwd=ROOT,
                             capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming killed from step {step}" in resumed.stdout
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished" and manifest["metrics"]["steps"] == 60
    assert (run_dir / "adapter" / "adapter_config.json").is_file()


def test_every_preset_loads():
    assert presets(), "no presets shipped"
    for name, path in presets().items():
        config = load_train_config(path)
        assert config.method in METHODS, name


def test_train_config_checks_values():
    with pytest.raises(ValueError, match="method"):
        TrainConfig(method="magic")
    with pytest.raises(ValueError, match="eval_split"):
        TrainConfig(eval_split=1.5)
    assert TrainConfig(method="full").learning_rate == 2e-5
    assert TrainConfig(method="lora", lr=1e-3).learning_rate == 1e-3


def test_bad_data_stops_before_a_run_folder_is_made(tiny_model_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c"}\n')
    with pytest.raises(DataError, match="bad.jsonl:2"):
        train(tiny_config(tiny_model_dir, bad, tmp_path, "lora"), tmp_path / "project")
    assert not (tmp_path / "lora").exists()


def test_the_data_and_the_output_folder_are_checked_before_any_model_is_loaded(tmp_path):
    """A base that does not exist is never reached: every data or folder error comes first."""
    nowhere = "no-such-model-anywhere"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n[1, 2]\nnull\n')
    with pytest.raises(DataError, match="bad.jsonl:2: expected an object with fields, found an array"):
        train(TrainConfig(base=nowhere, data=[str(bad)], output=str(tmp_path / "run")), tmp_path / "project")
    with pytest.raises(DataError, match="missing.jsonl: no such file"):
        train(TrainConfig(base=nowhere, data=[str(tmp_path / "missing.jsonl")]), tmp_path / "project")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "run.json").write_text("{}")
    with pytest.raises(RunError, match="already holds a run"):
        train(TrainConfig(base=nowhere, data=[str(memorisation_file(tmp_path))], output=str(taken)), tmp_path / "p")
    with pytest.raises(ValueError, match="run invalid name '-rf'"):
        TrainConfig(name="-rf")


def manifest_with(status: str) -> RunManifest:
    return RunManifest(name="run", created="2026-12-03T10:00:00", base="base", method="lora", config={},
                       status=status)


def test_a_running_run_whose_process_is_gone_or_silent_is_interrupted(tmp_path):
    write_heartbeat(tmp_path)
    assert run_status(tmp_path, manifest_with("running")) == "running"  # this very process, beating
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    beat = json.loads((tmp_path / HEARTBEAT).read_text())
    (tmp_path / HEARTBEAT).write_text(json.dumps({**beat, "pid": gone.pid}))
    assert run_status(tmp_path, manifest_with("running")) == "interrupted"
    (tmp_path / HEARTBEAT).write_text(json.dumps({**beat, "host": "elsewhere", "time": time.time() - 3600}))
    assert run_status(tmp_path, manifest_with("running")) == "interrupted"  # another machine, silent for an hour
    (tmp_path / HEARTBEAT).unlink()
    assert run_status(tmp_path, manifest_with("running")) == "interrupted"  # killed before its first beat
    assert run_status(tmp_path, manifest_with("stopped")) == "stopped"


def test_a_run_killed_before_its_first_checkpoint_asks_for_restart_and_restarts(tiny_model_dir, tmp_path):
    data = memorisation_file(tmp_path)
    run_dir = tmp_path / "early"
    base = [sys.executable, "-m", "assistant", "--project-dir", str(tmp_path / "project"), "finetune"]
    command = base + ["--lora", "--base", str(tiny_model_dir), "--data", str(data), "--output", str(run_dir),
                      "--max-steps", "8", "--save-steps", "100", "--batch-size", "2", "--eval-split", "0"]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not (run_dir / HEARTBEAT).exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    status = run_status(run_dir, read_manifest(run_dir))
    assert status == "interrupted" and last_checkpoint(run_dir) is None
    resumed = subprocess.run(base + ["--resume", str(run_dir)], cwd=ROOT, capture_output=True, text=True, env=env,
                             timeout=300)
    assert resumed.returncode == 1 and "no checkpoint to resume from" in " ".join(resumed.stderr.split())
    assert "--restart" in " ".join(resumed.stderr.split()) and "Traceback" not in resumed.stderr
    restarted = subprocess.run(base + ["--resume", str(run_dir), "--restart"], cwd=ROOT, capture_output=True,
                               text=True, env=env, timeout=300)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert "restarting early from step 0" in restarted.stdout
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished" and manifest["metrics"]["steps"] == 8
