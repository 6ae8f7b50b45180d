"""Trainer callbacks: metrics.jsonl, live progress, and a clean stop (Ctrl-C, TUI cancel)."""

from __future__ import annotations

import json
import math
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from transformers import TrainerCallback

from finetune.runs import METRICS
from finetune.processes import any_process, distributed


def memory_mb() -> float:
    """Peak memory so far: CUDA allocations when on a GPU, else the process's peak RSS."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class MetricsLog(TrainerCallback):
    """Appends one JSON line per log event and hands the row to `on_row` (CLI progress, TUI plot)."""

    def __init__(self, run_dir: Path, on_row: Callable[[dict], None] | None = None) -> None:
        self.path = Path(run_dir) / METRICS
        self.on_row = on_row
        self.last_time = None
        self.last_tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.last_time = time.perf_counter()
        self.last_tokens = state.num_input_tokens_seen

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        now = time.perf_counter()
        row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
        if "loss" in logs:
            row["loss"] = logs["loss"]
            row["lr"] = logs.get("learning_rate")
            row["grad_norm"] = logs.get("grad_norm")
            elapsed = now - (self.last_time or now)
            tokens = state.num_input_tokens_seen - self.last_tokens
            row["tokens_per_second"] = round(tokens / elapsed, 1) if elapsed > 0 else None
            row["tokens_seen"] = state.num_input_tokens_seen
            self.last_time, self.last_tokens = now, state.num_input_tokens_seen
        if "eval_loss" in logs:
            row["eval_loss"] = logs["eval_loss"]
            row["perplexity"] = math.exp(min(logs["eval_loss"], 50))
        if len(row) == 2 or not state.is_world_process_zero:  # end-of-run summary, or not rank 0
            return
        row["memory_mb"] = round(memory_mb(), 1)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
        if self.on_row is not None:
            self.on_row(row)


class StopOnEvent(TrainerCallback):
    """When `event` is set: save a checkpoint at the end of this step, then stop, so --resume can go on."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.stopped = False

    def on_step_end(self, args, state, control, **kwargs):
        if any_process(self.event.is_set()) if distributed() else self.event.is_set():
            control.should_save = True
            control.should_training_stop = True
            self.stopped = True
        return control


class StepProgress(TrainerCallback):
    """Reports (step, total steps, last loss) after every optimiser step."""

    def __init__(self, on_step: Callable[[int, int, float | None], None]) -> None:
        self.on_step = on_step
        self.loss = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = logs["loss"]

    def on_step_end(self, args, state, control, **kwargs):
        self.on_step(state.global_step, state.max_steps, self.loss)
