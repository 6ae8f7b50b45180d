"""bench/gpu_check.sh without a GPU: its dry run checks everything the GPU run would use and passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_check_dry_run_passes_without_a_gpu():
    env = os.environ | {"PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(["bash", "bench/gpu_check.sh", "--dry-run"], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "gpu_check: dry run passed" in done.stdout
    assert "CUDA tests collected, skipped here with their reason" in done.stdout
    assert "imports of the GPU path fine" in done.stdout and "llama-1b has 1.07B parameters" in done.stdout


def test_the_gpu_check_refuses_an_unknown_flag():
    done = subprocess.run(["bash", "bench/gpu_check.sh", "--bogus"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "usage: bash bench/gpu_check.sh" in done.stderr
