"""Two processes train one run: `accelerate launch` with the shipped DDP config on the CPU (torchrun,
gloo), a tiny random Llama, a few steps. Both ranks step, rank 0 alone writes the run folder, the
adapter loads in PEFT, and the loss curve is the one-process curve with the same global batch."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "finetune" / "presets" / "accelerate"
CODES = ["amber", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo"]
# No dropout and a constant rate: the two runs may differ only by how the batch is split.
SETTINGS = {"method": "lora", "logging_steps": 1, "lora_dropout": 0.0, "warmup_ratio": 0.0,
            "scheduler": "constant", "lr": 3e-2, "max_length": 128, "eval_split": 0.0, "max_steps": 4}
LOSS_TOLERANCE = 1e-3
"""Relative; measured: the curves agree to 1e-7 (the sum of two half-batch gradients vs one batch)."""


def write_inputs(folder: Path) -> tuple[Path, Path]:
    data = folder / "codes.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Code word for day {day}?", "output": code}) + "\n"
                            for day, code in enumerate(CODES, 1)))
    settings = folder / "settings.toml"
    settings.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in SETTINGS.items()))
    return data, settings


def free_port() -> int:
    """torchrun's default port may be taken by another job on this machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(config: str, project: Path, tiny_model_dir: Path, data: Path, settings: Path, name: str, *extra: str,
           batch_size: int = 2, steps: int = 4) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / config),
               "--main_process_port", str(free_port()), *extra,
               "-m", "assistant", "--project-dir", str(project), "finetune", "--config", str(settings),
               "--base", str(tiny_model_dir), "--data", str(data), "--name", name,
               "--batch-size", str(batch_size), "--max-steps", str(steps)]
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_two_processes_train_the_run_one_process_trains_with_the_same_global_batch(tiny_model_dir, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from finetune.config import load_train_config
    from finetune.runs import describe_processes, list_runs, read_manifest, read_metrics, run_status
    from finetune.train import train

    data, settings = write_inputs(tmp_path)
    project = tmp_path / "project"
    done = launch("ddp.yaml", project, tiny_model_dir, data, settings, "ddp")
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = project / "runs" / "ddp"

    manifest = read_manifest(run_dir)
    assert manifest.status == "finished" and manifest.world_size == 2 and manifest.distributed == "MULTI_CPU"
    ranks = [(p["rank"], p["steps"]) for p in manifest.processes]
    assert ranks == [(0, 4), (1, 4)]  # both ranks stepped
    pids = {p["pid"] for p in manifest.processes}
    assert len(pids) == 2 and manifest.pid == manifest.processes[0]["pid"]  # rank 0 wrote run.json
    beat = json.loads((run_dir / "heartbeat.json").read_text())
    assert beat["pid"] == manifest.pid and {p["pid"] for p in beat["processes"]} == pids
    assert run_status(run_dir, manifest) == "finished"
    rows = [row for row in read_metrics(run_dir) if "loss" in row]
    assert [row["step"] for row in rows] == [1, 2, 3, 4]  # one writer: no step logged twice
    assert rows[0]["tokens_seen"] > 100  # counted over both ranks (each sees 2 examples of ~35 tokens)
    assert done.stdout.count("Finished 4 steps") == 1  # rank 1 keeps quiet
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []  # no staging left

    listed = list_runs(project)
    assert [(run.name, run.world_size) for run in listed] == [("ddp", 2)]
    assert describe_processes(listed[0].processes, "finished").startswith("2 processes: rank 0 pid ")

    probe = torch.tensor([[1, 2, 3, 4, 5]])
    adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), run_dir / "adapter")
    with torch.no_grad():
        changed = adapter.eval()(probe).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(probe).logits
    assert not torch.allclose(changed, plain, atol=1e-4)

    # One process, the global batch of the two (2 × 2 = 4), the same seed and settings.
    single = dataclasses.replace(load_train_config(settings), base=str(tiny_model_dir), data=[str(data)],
                                 batch_size=4, output=str(tmp_path / "single"))
    result = train(single, tmp_path / "project-single")
    reference = [row["loss"] for row in read_metrics(result.run_dir) if "loss" in row]
    assert len(reference) == 4 and reference[-1] < reference[0]
    for step, (two, one) in enumerate(zip([row["loss"] for row in rows], reference), 1):
        assert abs(two - one) <= LOSS_TOLERANCE * abs(one), (step, two, one)


@pytest.mark.slow
def test_the_fsdp_config_launches_on_the_cpu_and_says_it_trains_as_ddp(tiny_model_dir, tmp_path):
    """accelerate shards only on accelerators: on the CPU its state is MULTI_CPU and the FSDP plugin is
    built (and checked) but not applied. The run must say so, not claim FSDP."""
    from finetune.runs import read_manifest, read_metrics

    data, settings = write_inputs(tmp_path)
    project = tmp_path / "project"
    done = launch("fsdp-lora.yaml", project, tiny_model_dir, data, settings, "fsdp", "--mixed_precision", "no",
                  "--fsdp_sync_module_states", "false", "--fsdp_cpu_ram_efficient_loading", "false", steps=2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "FSDP was asked for but accelerate runs this as MULTI_CPU" in done.stdout
    manifest = read_manifest(project / "runs" / "fsdp")
    assert manifest.status == "finished" and manifest.distributed == "MULTI_CPU" and manifest.world_size == 2
    assert [row["step"] for row in read_metrics(project / "runs" / "fsdp") if "loss" in row] == [1, 2]
    assert (project / "runs" / "fsdp" / "adapter" / "adapter_model.safetensors").is_file()


def test_a_second_launch_under_the_same_name_is_refused_before_anything_is_written(tiny_model_dir, tmp_path,
                                                                                    monkeypatch):
    from finetune.config import TrainConfig
    from finetune.run_start import planned_run_dir
    from finetune.types import RunError

    (tmp_path / "runs" / "taken").mkdir(parents=True)
    (tmp_path / "runs" / "taken" / "run.json").write_text("{}")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RunError, match="already holds a run"):
        planned_run_dir(TrainConfig(name="taken"), tmp_path)
    assert planned_run_dir(TrainConfig(name="fresh"), tmp_path) == tmp_path / "runs" / "fresh"


def test_a_rank_behind_the_main_process_makes_the_folder_it_checked_though_run_json_is_there_now(tmp_path,
                                                                                                 monkeypatch):
    from finetune.config import TrainConfig
    from finetune.run_start import new_run_dir, planned_run_dir

    monkeypatch.setenv("WORLD_SIZE", "2")
    config = TrainConfig(name="shared")
    planned = planned_run_dir(config, tmp_path)  # every rank checks, then they all meet at a barrier
    planned.mkdir(parents=True)
    (planned / "run.json").write_text("{}")  # the main process got past the barrier first
    assert new_run_dir(config, tmp_path, planned) == planned  # a slower rank goes on in the same run


def test_a_run_one_of_whose_processes_is_gone_is_interrupted(tmp_path):
    import subprocess as sp

    from finetune.processes import RunProcess
    from finetune.runs import RunManifest, hostname, run_status, write_heartbeat

    gone = sp.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = RunProcess(0, os.getpid(), hostname())
    write_heartbeat(tmp_path, (alive, RunProcess(1, os.getpid(), hostname())))
    assert run_status(tmp_path, RunManifest(status="running")) == "running"
    write_heartbeat(tmp_path, (alive, RunProcess(1, gone.pid, hostname())))
    assert run_status(tmp_path, RunManifest(status="running")) == "interrupted"
