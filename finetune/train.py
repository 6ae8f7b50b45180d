"""Fine-tuning in named stages: start (run folder, data, tokenizer: finetune.prepare) → setup
(model, method) → fit (TRL SFTTrainer) → finish (manifest and loss plot, whatever the outcome).

    run = train(TrainConfig(data=["faq.jsonl"], max_steps=100), project_dir=Path(".assistant"))
    run.output   # .assistant/runs/qlora-20261123-101500/adapter

The data is tokenized by us (finetune.prepare), not by TRL, so that the loss covers exactly the assistant turns (and
their end-of-turn token) for any chat template, and so the summary printed before training counts
the same tokens that are trained on.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from finetune.config import TrainConfig
from finetune.prepare import PreparedData, load_tokenizer, read_data, tokenize_data
from finetune.processes import distributed, gather_ints, gather_processes, is_main_process
from finetune.run_start import Heartbeat, clear_progress, new_run_dir, start_run, trim_metrics
from finetune.runs import RunManifest, hostname, plot_loss
from core.faults import ENV, fault_point
from core.files import replace_folder
from lm.models import load_model, pick_device
from finetune.methods import METHOD_SETUP, PACKABLE, trainable_parameters
from finetune.speed import attention_kernel, checkpointing_for, liger_available, method_for, sharded_launch
from core.logs import quiet_transformers


@dataclass
class TrainHooks:
    """What a front end (CLI, TUI) wants to hear about; every hook is optional."""

    on_message: Callable[[str], None] | None = None
    on_summary: Callable[[object], None] | None = None
    """Called with the DataSummary before training starts."""
    on_step: Callable[[int, int, float | None], None] | None = None
    """(step, total steps, last training loss)."""
    on_metrics: Callable[[dict], None] | None = None
    """Each metrics.jsonl row as it is written."""
    raft_asking_for: Callable | None = None
    """RAFT runs: given the run's settings (on --resume, the run's own), how its examples are
    searched and prompted (finetune.raft.RaftAsking: as rag+sft asks that base), or None for the
    rules and whole chunks. A function of the settings, since a resumed run's are known only once
    its folder is read."""

    def message(self, text: str) -> None:
        if self.on_message:
            self.on_message(text)


@dataclass
class RunResult:
    run_dir: Path
    output: Path | None
    """The adapter (or whole model) folder; None when the run stopped before the end."""
    status: str
    """finished, stopped (Ctrl-C / cancel: resume with --resume), or failed."""
    metrics: dict = field(default_factory=dict)


def _dataset(tokenized: list):
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [list(t.input_ids) for t in tokenized],
                              "labels": [list(t.labels) for t in tokenized]})


# ---------------------------------------------------------------- stage 2: setup (stage 1: finetune.prepare)

def setup_model(config: TrainConfig):
    """The base model (4-bit for QLoRA) and tokenizer, with the method applied: (model, tokenizer, device,
    config with gradient checkpointing resolved from "auto")."""
    import torch


    device = config.device
    if device == "auto" and distributed() and "LOCAL_RANK" in os.environ and torch.cuda.is_available():
        device = f"cuda:{os.environ['LOCAL_RANK']}"  # one GPU per process, 4-bit weights placed there
    on_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    loaded = load_model(config.base, device=device, dtype="auto", load_in_4bit=config.method == "qlora",
                        trust_remote_code=config.trust_remote_code, sharded=sharded_launch(),
                        attn_implementation=attention_kernel("cuda" if on_cuda else "cpu"))
    model = loaded.model
    model.config.use_cache = False  # the cache only costs memory while training
    checkpointing = checkpointing_for(config.gradient_checkpointing, model, loaded.device,
                                      tokens=config.batch_size * config.max_length)
    config = dataclasses.replace(config, gradient_checkpointing=checkpointing)
    torch.manual_seed(config.seed)  # new weights (LoRA A, prefixes) the same in one process and in several
    model = METHOD_SETUP[config.method](model, config)
    return model, loaded.tokenizer, loaded.device, config


def sft_arguments(config: TrainConfig, run_dir: Path, device: str, has_eval: bool):
    import torch
    from trl import SFTConfig


    packing = config.packing and config.method in PACKABLE
    padding_free = (config.padding_free or config.packing) and config.method in PACKABLE
    on_cuda = device.startswith("cuda")
    evaluating = "steps" if has_eval else "no"
    return SFTConfig(
        output_dir=str(run_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.scheduler if config.scheduler != "constant" else "constant_with_warmup",
        warmup_steps=config.warmup_ratio,
        max_grad_norm=config.max_grad_norm,
        weight_decay=config.weight_decay,
        # Examples arrive tokenized and cut to max_length; without packing TRL must not cut them again.
        max_length=config.max_length if packing or not padding_free else None,
        packing=packing,
        padding_free=padding_free,
        **_checkpointing(config.gradient_checkpointing and config.method in PACKABLE),
        bf16=on_cuda and torch.cuda.is_bf16_supported(),
        use_liger_kernel=liger_available(device),
        use_cpu=not on_cuda,
        seed=config.seed,
        data_seed=config.seed,
        # A short run logs more often, so its loss curve has points (a 12-step run at 5 had two).
        logging_steps=min(config.logging_steps, max(1, config.max_steps // 10)) if config.max_steps
        else config.logging_steps,
        eval_strategy=evaluating,
        eval_steps=config.eval_steps,
        save_strategy="steps",
        # The best checkpoint can only be kept when saving happens on evaluation steps.
        save_steps=config.eval_steps if has_eval else config.save_steps,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=has_eval,
        metric_for_best_model="eval_loss" if has_eval else None,
        greater_is_better=False if has_eval else None,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # every trained weight takes part in each step; the search costs time
        remove_unused_columns=False,
    )


def _checkpointing(on: bool) -> dict:
    """transformers 5.2x renamed gradient_checkpointing to activation_checkpointing."""
    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    prefix = "activation" if "activation_checkpointing" in names else "gradient"
    return {f"{prefix}_checkpointing": on, f"{prefix}_checkpointing_kwargs": {"use_reentrant": False}}


# ---------------------------------------------------------------- stage 3: fit, stage 4: save

def save_output(trainer, tokenizer, run_dir: Path, adapter: bool) -> Path:
    """The adapter (or whole model) and tokenizer, saved beside the run and renamed into place.

    trainer.save_model gathers sharded weights (FSDP, DeepSpeed) and writes on the main process only.
    """
    target = run_dir / ("adapter" if adapter else "model")
    staging = run_dir / f".saving-{target.name}"  # the same path on every process
    if is_main_process():
        shutil.rmtree(staging, ignore_errors=True)
    trainer.save_model(str(staging))
    if not is_main_process():
        return target
    tokenizer.save_pretrained(staging)
    (staging / "training_args.bin").unlink(missing_ok=True)  # a pickle; nothing here reads it
    fault_point("train:output-staged")
    replace_folder(staging, target)
    fault_point("train:output-renamed")
    return target


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("torch", "transformers", "peft", "trl", "datasets", "bitsandbytes", "accelerate"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def _write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    if is_main_process():
        manifest.write(run_dir)


def train(config: TrainConfig, project_dir: Path = Path(".assistant"), *, resume: Path | None = None,
          restart: bool = False, hooks: TrainHooks | None = None, stop: threading.Event | None = None) -> RunResult:
    """Fine-tune `config.base` on `config.data`; `resume` continues a run folder from its last
    checkpoint (with `restart`, from step 0 in the same folder).

    Stages: start (folder, data, tokenizer; every check before a model loads) → setup (model and
    method) → fit → finish (one place writes the manifest and the loss plot, whatever the outcome).
    """
    hooks = hooks or TrainHooks()
    project_dir = Path(project_dir)
    config = dataclasses.replace(config, method=method_for(config.method, pick_device(config.device)))
    begun = start_run(config, project_dir, resume, restart)
    config, run_dir, manifest = begun.config, begun.run_dir, begun.manifest
    asking = hooks.raft_asking_for(config) if config.raft and hooks.raft_asking_for else None
    data = read_data(config, project_dir, asking)
    prepared = tokenize_data(config, data, load_tokenizer(config, hooks.message))
    if hooks.on_summary:
        hooks.on_summary(prepared.summary)
    # Under a launcher: every rank has checked the data and the folder by now, and none writes before this.
    processes = gather_processes() if distributed() else ()
    if begun.new:
        run_dir = new_run_dir(config, project_dir, run_dir)
        manifest = RunManifest(name=run_dir.name, created=datetime.now().isoformat(timespec="seconds"),
                               base=config.base, method=config.method, config=dataclasses.asdict(config))
    elif begun.checkpoint is not None:
        step = int(begun.checkpoint.name.rsplit("-", 1)[1])
        if is_main_process():
            trim_metrics(run_dir, step)
        hooks.message(f"resuming {run_dir.name} from step {step} ({begun.checkpoint.name})")
    else:
        if is_main_process():
            clear_progress(run_dir)
        hooks.message(f"restarting {run_dir.name} from step 0")
    manifest = dataclasses.replace(
        manifest, status="running", data=tuple(prepared.files), collection=data.collection, versions=versions(),
        data_summary=dataclasses.asdict(prepared.summary), pid=os.getpid(), host=hostname(),
        world_size=max(len(processes), 1), processes=tuple(p._asdict() for p in processes),
        skipped_records=prepared.bad, duplicates_removed=prepared.duplicates, error=None)
    _write_manifest(run_dir, manifest)
    with Heartbeat(run_dir, processes=processes):
        return _fit(config, run_dir, manifest, prepared, begun.checkpoint, hooks, stop or threading.Event())


def _fit(config: TrainConfig, run_dir: Path, manifest: RunManifest, prepared: PreparedData, checkpoint: Path | None,
         hooks: TrainHooks, stop: threading.Event) -> RunResult:
    from transformers import EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer

    from finetune.callbacks import MetricsLog, StepProgress, StopOnEvent  # lazy: it imports transformers

    try:
        hooks.message(f"loading {config.base} for {config.method}")
        model, tokenizer, device, config = setup_model(config)
        trained, total = trainable_parameters(model)
        manifest = dataclasses.replace(manifest, parameters={"trainable": trained, "total": total})
        hooks.message(f"training {trained:,} of {total:,} parameters ({100 * trained / total:.2f}%) on {device}")

        stopper = StopOnEvent(stop)
        callbacks = [MetricsLog(run_dir, hooks.on_metrics)]
        if hooks.on_step:
            callbacks.append(StepProgress(hooks.on_step))
        callbacks.append(stopper)  # after the step hook, so a stop it asks for applies to this very step
        if prepared.eval and config.patience:
            callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.patience))
        args = sft_arguments(config, run_dir, device, has_eval=bool(prepared.eval))
        began = time.perf_counter()
        with quiet_transformers():
            trainer = SFTTrainer(model=model, args=args, train_dataset=_dataset(prepared.train),
                                 eval_dataset=_dataset(prepared.eval) if prepared.eval else None,
                                 processing_class=tokenizer, callbacks=callbacks)
        trainer.remove_callback(PrinterCallback)  # our hooks report progress; no log dicts on stdout
        manifest = _note_distribution(manifest, trainer, hooks)
        _add_fault_points(trainer)
        with warnings.catch_warnings():
            # Checkpoints of a base named like "smollm2-135m-instruct" make PEFT look it up on the hub.
            warnings.filterwarnings("ignore", message="(Unable to fetch remote file|Could not find a config file)")
            outcome = _run_trainer(trainer, checkpoint)
    except BaseException as err:
        _finish(run_dir, manifest, "failed" if not isinstance(err, KeyboardInterrupt) else "stopped",
                error=f"{type(err).__name__}: {err}")
        raise

    state = trainer.state
    evals = [row["eval_loss"] for row in state.log_history if "eval_loss" in row]
    metrics = {"steps": state.global_step, "epochs": round(state.epoch or 0, 3),
               "train_loss": outcome.training_loss, "seconds": round(time.perf_counter() - began, 1),
               "tokens_seen": state.num_input_tokens_seen,
               "best_eval_loss": min(evals) if evals else None,
               "final_eval_loss": evals[-1] if evals else None,
               "best_checkpoint": state.best_model_checkpoint}
    if manifest.processes:  # the steps each process took: every rank trains, not only the one that writes
        steps = gather_ints(state.global_step)
        manifest = dataclasses.replace(manifest, processes=tuple(
            dict(p, steps=n) for p, n in zip(manifest.processes, steps)))
    if stopper.stopped:
        _finish(run_dir, manifest, "stopped", metrics=metrics)
        hooks.message(f"stopped at step {state.global_step}; a checkpoint is saved: "
                      f"assistant finetune --resume {run_dir}")
        return RunResult(run_dir, None, "stopped", metrics)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(Unable to fetch remote file|Could not find a config file)")
        output = save_output(trainer, tokenizer, run_dir, adapter=config.saves_adapter)
    _finish(run_dir, manifest, "finished", metrics=metrics, output=str(output),
            finished=datetime.now().isoformat(timespec="seconds"))
    return RunResult(run_dir, output, "finished", metrics)


def _note_distribution(manifest: RunManifest, trainer, hooks: TrainHooks) -> RunManifest:
    """Record how accelerate spreads the run; say so when an FSDP or DeepSpeed launch runs as plain DDP."""
    if not distributed():
        return manifest
    kind = str(trainer.accelerator.distributed_type).rsplit(".", 1)[-1]
    asked = [name for name in ("FSDP", "DEEPSPEED") if os.environ.get(f"ACCELERATE_USE_{name}", "").lower() == "true"]
    if asked and kind not in asked:
        hooks.message(f"{asked[0]} was asked for but accelerate runs this as {kind} (it shards only on GPUs); "
                      f"every process holds the whole model")
    hooks.message(f"{kind}: {manifest.world_size} processes train this run; rank 0 writes it")
    return dataclasses.replace(manifest, distributed=kind)


def _run_trainer(trainer, checkpoint: Path | None):
    """trainer.train, from `checkpoint` when given. A checkpoint of the last step (the run was
    killed while saving its output) is loaded instead of trained on: training on from the last
    step would take one step more than the run asked for."""
    from transformers import TrainerState
    from transformers.trainer_utils import TrainOutput

    if checkpoint is not None:
        state = TrainerState.load_from_json(str(checkpoint / "trainer_state.json"))
        if state.max_steps and state.global_step >= state.max_steps:
            trainer._load_from_checkpoint(str(checkpoint))
            trainer.state = state
            losses = [row["loss"] for row in state.log_history if "loss" in row]
            return TrainOutput(state.global_step, sum(losses) / len(losses) if losses else 0.0, {})
    return trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)


def _add_fault_points(trainer) -> None:
    """Let a test SIGKILL the run inside a checkpoint save (weights written, state not yet) or
    right after one (core.faults); nothing is added unless ASSISTANT_FAULT names a train point."""
    from transformers import TrainerCallback


    if not os.environ.get(ENV, "").startswith("train:"):
        return
    save_model = trainer.save_model

    def save_model_then_fault(*args, **kwargs):
        save_model(*args, **kwargs)
        if "checkpoint-" in str(args[0] if args else kwargs.get("output_dir", "")):
            fault_point("train:checkpoint-weights")

    class AfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            fault_point("train:checkpoint-saved")

    trainer.save_model = save_model_then_fault
    trainer.add_callback(AfterSave())


def _finish(run_dir: Path, manifest: RunManifest, status: str, **fields) -> None:
    """The one place a run's outcome is written: the manifest's status, then the loss plot."""
    _write_manifest(run_dir, dataclasses.replace(manifest, status=status, **fields))
    if is_main_process():
        plot_loss(run_dir)
