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
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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


def write_json_atomic(path: Path, data) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, ensure_ascii=False, default=str)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def hostname() -> str:
    return socket.gethostname()


def write_heartbeat(run_dir: Path) -> None:
    write_json_atomic(Path(run_dir) / HEARTBEAT, {"pid": os.getpid(), "host": hostname(), "time": time.time()})


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def run_status(run_dir: Path, manifest: dict) -> str:
    """The manifest's status, except that a "running" run whose process is gone (same host) or
    whose heartbeat went stale (any host) is "interrupted": killed, crashed or powered off."""
    status = manifest.get("status", "?")
    if status != "running":
        return status
    try:
        beat = json.loads((Path(run_dir) / HEARTBEAT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        beat = {"pid": manifest.get("pid"), "host": manifest.get("host"), "time": 0.0}
    pid, host = beat.get("pid"), beat.get("host")
    if host == hostname() and isinstance(pid, int) and not _process_alive(pid):
        return "interrupted"
    if time.time() - float(beat.get("time") or 0.0) > STALE_SECONDS:
        return "interrupted"
    return "running"


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{run_dir}: not a training run (no {MANIFEST})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: unreadable manifest ({err})") from err


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
        except (FileNotFoundError, ValueError):
            continue
        metrics = manifest.get("metrics", {})
        found.append(RunInfo(name=path.name, path=path, status=run_status(path, manifest),
                             base=manifest.get("base", "?"), method=manifest.get("method", "?"),
                             steps=int(metrics.get("steps", 0)), eval_loss=metrics.get("best_eval_loss"),
                             created=manifest.get("created", "")))
    return sorted(found, key=lambda run: run.created, reverse=True)


def find_run(value: str | Path, project_dir: Path) -> Path:
    """A run folder from a path or a run name."""
    for candidate in (Path(value), runs_dir(project_dir) / str(value)):
        try:
            if (candidate / MANIFEST).is_file():
                return candidate
        except OSError:  # a name too long for a path, or a folder we may not read
            continue
    names = ", ".join(run.name for run in list_runs(project_dir)) or "none yet"
    raise FileNotFoundError(f"no training run {str(value)!r} (runs in {runs_dir(project_dir)}: {names})")


def remove_run(value: str | Path, project_dir: Path) -> Path:
    path = find_run(value, project_dir)
    # Rename first so a half-deleted run never looks like a whole one.
    doomed = path.with_name(f".deleting-{path.name}")
    os.rename(path, doomed)
    shutil.rmtree(doomed)
    return path
