"""Starting a run: the folder a new run writes to (checked before any model loads), or the run
to resume with its own settings and last whole checkpoint; the heartbeat that tells a live run
from a killed one; which process of a multi-GPU job writes.

    begun = start_run(config, Path(".assistant"), resume=None, restart=False)
    begun.run_dir, begun.new     # (PosixPath('.assistant/runs/qlora-20261203-101500'), True)
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from finetune.config import TrainConfig
from finetune.processes import distributed, is_main_process
from finetune.runs import HEARTBEAT_SECONDS, METRICS, RunManifest, new_run_name, read_manifest, runs_dir, write_heartbeat
from finetune.types import RunError


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint; one cut short by a crash (no readable trainer_state.json) is passed over."""
    folders = sorted((run_dir / "checkpoints").glob("checkpoint-*"),
                     key=lambda p: int(p.name.rsplit("-", 1)[1]) if p.name.rsplit("-", 1)[1].isdigit() else -1)
    for folder in reversed(folders):
        try:
            json.loads((folder / "trainer_state.json").read_text())
            return folder
        except (OSError, ValueError):
            continue
    return None


def trim_metrics(run_dir: Path, step: int) -> None:
    """On resume, drop metric rows logged after the checkpoint: those steps are trained again."""
    path = run_dir / METRICS
    if not path.is_file():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and _row_step(line) <= step]
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def _row_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return 1 << 62


def planned_run_dir(config: TrainConfig, project_dir: Path) -> Path:
    """The folder a new run will write to; FileExistsError when a run is there already. Nothing
    is created: this is checked with the data, before any model is loaded."""
    if distributed():
        if not (config.output or config.name):
            raise RunError("under accelerate launch or torchrun, pass --name or --output so that every "
                             "process writes to the same run")
        run_dir = Path(config.output) if config.output else runs_dir(project_dir) / config.name
        # Every rank checks before any writes: train() gathers the processes (a barrier) in between.
        if (run_dir / "run.json").exists():
            raise RunError(f"{run_dir} already holds a run; pick another --name or --output, or --resume it")
        return run_dir
    if config.output:
        run_dir = Path(config.output)
        if (run_dir / "run.json").exists():
            raise RunError(f"{run_dir} already holds a run; pick another --output, or --resume it")
        if run_dir.exists() and not run_dir.is_dir():
            raise RunError(f"{run_dir} is a file, not a folder; pick another --output")
        return run_dir
    run_dir = runs_dir(project_dir) / (config.name or new_run_name(config.method))
    if run_dir.exists():
        raise RunError(f"run {run_dir.name!r} already exists in {run_dir.parent}; "
                              f"pick another --name, or --resume it")
    return run_dir


def new_run_dir(config: TrainConfig, project_dir: Path, planned: Path) -> Path:
    """Makes the folder `start_run` planned. A single process checks it again (another run may have
    taken the name while the data was read). The ranks of a launched job do not: each checked it
    before the barrier, and the main process may have written run.json since."""
    if distributed():
        planned.mkdir(parents=True, exist_ok=True)
        return planned
    run_dir = planned_run_dir(config, project_dir)
    run_dir.mkdir(parents=True, exist_ok=bool(config.output))
    return run_dir


@dataclass
class RunStart:
    """Where a run writes and what it continues from (stage 1, before any model is loaded)."""

    run_dir: Path
    config: TrainConfig
    manifest: RunManifest | None
    checkpoint: Path | None = None
    new: bool = True


def start_run(config: TrainConfig, project_dir: Path, resume: Path | None, restart: bool) -> RunStart:
    """A new run's folder (checked, not made), or the run to resume: its own settings and last
    checkpoint. A run with no checkpoint yet is not silently started over: that takes `restart`."""
    if resume is None:
        if restart:
            raise RunError("--restart starts a run again: name it with --resume RUN --restart")
        return RunStart(planned_run_dir(config, project_dir), config, None)
    run_dir = Path(resume)
    manifest = read_manifest(run_dir)
    if manifest.status == "finished":
        raise RunError(f"{run_dir} has finished already; nothing to resume")
    try:
        config = TrainConfig(**manifest.config)  # the run's own settings, not today's flags
    except (TypeError, ValueError) as err:
        raise RunError(f"{run_dir}: its settings no longer load ({err}); start a new run") from None
    checkpoint = None if restart else last_checkpoint(run_dir)
    if checkpoint is None and not restart:
        raise RunError(
            f"{run_dir.name} has no checkpoint to resume from (it stopped before its first save; one is saved "
            f"every {config.save_steps} steps); start it again from step 0 with --resume {run_dir} --restart")
    return RunStart(run_dir, config, manifest, checkpoint, new=False)


class Heartbeat:
    """Writes heartbeat.json (pid, host, time, and every process of a multi-process run) every `every`
    seconds from a daemon thread of the main process while a run trains, so a run killed with SIGKILL
    shows as interrupted instead of running forever."""

    def __init__(self, run_dir: Path, every: float = HEARTBEAT_SECONDS, processes: tuple = ()) -> None:
        self.run_dir, self.every, self.processes = run_dir, every, processes
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def _beat(self) -> None:
        while True:
            write_heartbeat(self.run_dir, self.processes)
            if self.done.wait(self.every):
                return

    def __enter__(self) -> "Heartbeat":
        if is_main_process():
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()


def clear_progress(run_dir: Path) -> None:
    """Before a restart from step 0: the old checkpoints and metrics belong to the abandoned try."""
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    (run_dir / METRICS).unlink(missing_ok=True)
