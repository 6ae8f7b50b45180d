"""Run folders on disk: the manifest, metrics.jsonl, the loss plot, listing and removal.

    <project_dir>/runs/<name>/
        run.json          manifest: base model, method, data files + hashes, settings, versions, metrics
        heartbeat.json    pid, host and time, rewritten every few seconds while the run trains
        metrics.jsonl     one line per logging step: loss, eval loss, lr, tokens/s, memory
        loss.png          training and eval loss by step
        checkpoints/      checkpoint-<step>/ folders (--resume picks the last)
        adapter/          the PEFT adapter + tokenizer (LoRA, QLoRA, DoRA, prefix, prompt tuning)
        model/            the whole model + tokenizer (full and freeze)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from finetune.types import RunError
from core.files import atomic_write_json
from finetune.processes import RunProcess

MANIFEST = "run.json"
METRICS = "metrics.jsonl"
HEARTBEAT = "heartbeat.json"
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 120.0
"""A "running" run whose heartbeat is older than this (or whose process is gone) was interrupted."""


@dataclass(frozen=True)
class RunInfo:
    name: str
    path: Path
    status: str
    base: str
    method: str
    steps: int
    eval_loss: float | None
    created: str
    processes: tuple = ()
    """With several processes: (rank, pid, host) of each, as finetune.processes.RunProcess."""

    @property
    def world_size(self) -> int:
        return max(len(self.processes), 1)

    @property
    def output(self) -> Path | None:
        """The adapter or model folder, when the run saved one."""
        for name in ("adapter", "model"):
            if (self.path / name).is_dir():
                return self.path / name
        return None


def runs_dir(project_dir: Path) -> Path:
    return Path(project_dir) / "runs"


def new_run_name(method: str) -> str:
    return f"{method}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def hostname() -> str:
    return socket.gethostname()


def write_heartbeat(run_dir: Path, processes: tuple = ()) -> None:
    """heartbeat.json: this (the main) process, the time, and with several processes each one's rank, pid, host."""
    beat = {"pid": os.getpid(), "host": hostname(), "time": time.time()}
    if len(processes) > 1:
        beat["processes"] = [p._asdict() for p in processes]
    atomic_write_json(Path(run_dir) / HEARTBEAT, beat)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def run_status(run_dir: Path, manifest: RunManifest) -> str:
    """The manifest's status, except that a "running" run whose process is gone (same host) or
    whose heartbeat went stale (any host) is "interrupted": killed, crashed or powered off."""
    status = manifest.status
    if status != "running":
        return status
    try:
        beat = json.loads((Path(run_dir) / HEARTBEAT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        beat = {"pid": manifest.pid, "host": manifest.host, "time": 0.0}
    # The main process, then every process of a multi-process run: one of them gone breaks the run.
    for process in (beat, *(beat.get("processes") or ())):
        pid = process.get("pid") if isinstance(process, dict) else None
        if isinstance(pid, int) and process.get("host") == hostname() and not process_alive(pid):
            return "interrupted"
    if time.time() - float(beat.get("time") or 0.0) > STALE_SECONDS:
        return "interrupted"
    return "running"


@dataclass(frozen=True)
class RunManifest:
    """run.json: what a run trains, from what, how far it got, and how it ended."""

    name: str = ""
    created: str = ""
    base: str = "?"
    method: str = "?"
    config: dict = field(default_factory=dict)
    """Every TrainConfig setting; --resume trains on with these, not with today's flags."""
    status: str = "running"
    """running, stopped, failed or finished (run_status also tells "interrupted")."""
    data: tuple = ()
    """The data files with their SHA-256 and role (train or eval)."""
    collection: dict | None = None
    """RAFT runs: the collection the examples were retrieved from, {name, version, updated}."""
    data_summary: dict | None = None
    versions: dict = field(default_factory=dict)
    pid: int | None = None
    host: str | None = None
    world_size: int = 1
    """How many processes train the run (accelerate launch / torchrun); only rank 0 writes this file."""
    processes: tuple = ()
    """With several processes: each one's {rank, pid, host} (and, once finished, the steps it took)."""
    distributed: str | None = None
    """accelerate's distributed type: MULTI_CPU, MULTI_GPU, FSDP, DEEPSPEED (None for one process)."""
    skipped_records: int = 0
    duplicates_removed: int = 0
    parameters: dict | None = None
    metrics: dict = field(default_factory=dict)
    output: str | None = None
    finished: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
                if v is not None or k in ("output", "error")}

    @classmethod
    def from_json(cls, data: dict, where: Path | str = MANIFEST) -> "RunManifest":
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: tuple(v) if k in ("data", "processes") else v for k, v in data.items() if k in known})
        except TypeError as err:
            raise RunError(f"{where}: damaged run manifest ({err})") from None

    def write(self, run_dir: Path) -> None:
        atomic_write_json(Path(run_dir) / MANIFEST, self.to_json())


def read_manifest(run_dir: Path) -> RunManifest:
    path = Path(run_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{run_dir}: not a training run (no {MANIFEST})") from None
    except json.JSONDecodeError as err:
        raise RunError(f"{path}: unreadable manifest ({err})") from err
    if not isinstance(data, dict):
        raise RunError(f"{path}: unreadable manifest (not a JSON object)")
    return RunManifest.from_json(data, path)


def file_hash(path: Path) -> str:
    """sha256 of a file, or of a folder's files (names and contents) for saved datasets."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a crash
            continue
    return rows


def plot_loss(run_dir: Path) -> Path | None:
    """loss.png from metrics.jsonl: training loss and eval loss against the optimiser step."""
    rows = read_metrics(run_dir)
    train = [(r["step"], r["loss"]) for r in rows if r.get("loss") is not None]
    evals = [(r["step"], r["eval_loss"]) for r in rows if r.get("eval_loss") is not None]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        axes.plot(*zip(*train), label="training loss")
    if evals:
        axes.plot(*zip(*evals), marker="o", label="eval loss")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(Path(run_dir).name)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    target = Path(run_dir) / "loss.png"
    temp = target.with_name(".loss.png.tmp")
    figure.savefig(temp, format="png")
    plt.close(figure)
    os.replace(temp, target)
    return target


def list_runs(project_dir: Path) -> list[RunInfo]:
    """Runs under <project_dir>/runs, newest first; folders without a readable manifest are left out."""
    found = []
    for path in runs_dir(project_dir).glob("*/"):
        try:
            manifest = read_manifest(path)
        except RunError:
            continue
        metrics = manifest.metrics
        found.append(RunInfo(name=path.name, path=path, status=run_status(path, manifest), base=manifest.base,
                             method=manifest.method, steps=steps_done(path, metrics),
                             eval_loss=metrics.get("best_eval_loss"), created=manifest.created,
                             processes=_processes(manifest)))
    return sorted(found, key=lambda run: run.created, reverse=True)


def steps_done(run_dir: Path, metrics: dict) -> int:
    """Optimiser steps a run took: its final metrics, or for a run stopped or killed before them,
    the furthest of its last logged step and its last checkpoint (it was listed as 0 steps)."""
    if metrics.get("steps"):
        return int(metrics["steps"])
    steps = [int(p.name.rsplit("-", 1)[1]) for p in run_dir.glob("checkpoint-*") if p.name.rsplit("-", 1)[1].isdigit()]
    try:
        lines = (run_dir / METRICS).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []  # no log yet: the checkpoints still count
    for line in lines[-3:]:
        try:
            steps.append(int(json.loads(line).get("step", 0)))
        except (ValueError, AttributeError, TypeError):
            continue  # a line cut by a crash
    return max(steps, default=0)


def _processes(manifest: RunManifest) -> tuple:
    try:
        return tuple(RunProcess(int(p["rank"]), int(p["pid"]), str(p["host"])) for p in manifest.processes)
    except (KeyError, TypeError, ValueError):  # a hand-edited or damaged list: show the run without it
        return ()


def describe_processes(processes: tuple, status: str) -> str:
    """One line about the processes of a multi-process run; '' for a single-process run.

    >>> describe_processes((RunProcess(0, 11, "a"), RunProcess(1, 12, "a")), "finished")
    '2 processes: rank 0 pid 11 on a, rank 1 pid 12 on a'
    """
    if len(processes) < 2:
        return ""
    parts = []
    for process in processes:
        text = f"rank {process.rank} pid {process.pid} on {process.host}"
        if status == "running" and process.host == hostname():
            text += " (alive)" if process_alive(process.pid) else " (gone)"
        parts.append(text)
    return f"{len(processes)} processes: " + ", ".join(parts)


def find_run(value: str | Path, project_dir: Path) -> Path:
    """A run folder from a path or a run name."""
    for candidate in (Path(value), runs_dir(project_dir) / str(value)):
        try:
            if (candidate / MANIFEST).is_file():
                return candidate
        except OSError:  # a name too long for a path, or a folder we may not read
            continue
    names = ", ".join(run.name for run in list_runs(project_dir)) or "none yet"
    raise RunError(f"no training run {str(value)!r} (runs in {runs_dir(project_dir)}: {names})")


def remove_run(value: str | Path, project_dir: Path) -> Path:
    path = find_run(value, project_dir)
    # Rename first so a half-deleted run never looks like a whole one.
    doomed = path.with_name(f".deleting-{path.name}")
    os.rename(path, doomed)
    shutil.rmtree(doomed)
    return path
