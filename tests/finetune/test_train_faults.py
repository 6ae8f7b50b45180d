"""A training run SIGKILLed inside a checkpoint save, right after one, or around the final save
(core.faults) is shown as interrupted and resumes to the end from its last whole checkpoint."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from finetune.runs import read_manifest, run_status
from finetune.run_start import last_checkpoint
from core.faults import ENV

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("point", ["train:checkpoint-weights@2", "train:checkpoint-saved@2", "train:output-staged",
                                   "train:output-renamed"])
def test_a_run_killed_at_each_point_resumes_and_finishes(point, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    data = tmp_path / "codes.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Code {i}?", "output": f"c{i}"}) + "\n" for i in range(8)))
    run_dir = tmp_path / "run"
    base = [sys.executable, "-m", "assistant", "--project-dir", str(tmp_path / "project"), "finetune"]
    env = {k: v for k, v in os.environ.items() if k != ENV} | {"PYTHONPATH": str(ROOT)}
    first = subprocess.run(base + ["--lora", "--base", str(tiny_model_dir), "--data", str(data), "--output",
                                   str(run_dir), "--max-steps", "6", "--save-steps", "2", "--batch-size", "2",
                                   "--eval-split", "0"], env=env | {ENV: point}, cwd=ROOT, capture_output=True,
                           timeout=300)
    assert first.returncode == -9, first.stderr.decode()[-2000:]
    assert run_status(run_dir, read_manifest(run_dir)) == "interrupted"
    checkpoint = last_checkpoint(run_dir)
    assert checkpoint is not None  # a checkpoint cut short is passed over, a whole one is kept

    resumed = subprocess.run(base + ["--resume", str(run_dir)], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"from step {checkpoint.name.rsplit('-', 1)[1]}" in resumed.stdout
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished" and manifest["metrics"]["steps"] == 6
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), run_dir / "adapter")
