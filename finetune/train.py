"""Fine-tuning in named stages: prepare (data, checks) → setup (model, method) → fit (TRL SFTTrainer) → save.

    run = train(TrainConfig(data=["faq.jsonl"], max_steps=100), project_dir=Path(".assistant"))
    run.output   # .assistant/runs/qlora-20261123-101500/adapter

The data is tokenized here, not by TRL, so that the loss covers exactly the assistant turns (and
their end-of-turn token) for any chat template, and so the summary printed before training counts
the same tokens that are trained on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from finetune.config import TrainConfig
from finetune.runs import METRICS, file_hash, new_run_name, plot_loss, read_manifest, runs_dir, write_json_atomic
from finetune.types import DataError, Example


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

    def message(self, text: str) -> None:
        if self.on_message:
            self.on_message(text)


@dataclass
class PreparedData:
    train: list
    eval: list
    summary: object
    files: list[dict]
    bad: int = 0
    duplicates: int = 0


@dataclass
class RunResult:
    run_dir: Path
    output: Path | None
    """The adapter (or whole model) folder; None when the run stopped before the end."""
    status: str
    """finished, stopped (Ctrl-C / cancel: resume with --resume), or failed."""
    metrics: dict = field(default_factory=dict)


# ---------------------------------------------------------------- stage 1: prepare

def load_training_examples(config: TrainConfig, project_dir: Path, files: list[str]) -> tuple[list[Example], int, int]:
    """(examples, bad records skipped, duplicates removed) from data files, or RAFT data from QA files."""
    from finetune.data import load_examples

    if config.raft:
        return _raft_examples(config, project_dir, files), 0, 0
    loaded = load_examples([Path(f) for f in files], config.format, text_field=config.text_field,
                           skip_bad=config.skip_bad)
    return loaded.examples, len(loaded.bad), loaded.duplicates


def _raft_examples(config: TrainConfig, project_dir: Path, files: list[str]) -> list[Example]:
    from assistant.questions import QuestionError, load_questions
    from finetune.raft import RaftConfig, build_raft
    from index.retriever import open_collection

    if not config.collection:
        raise DataError("--raft needs --collection: the collection the questions are answered from")
    try:
        pairs = [pair for f in files for pair in load_questions(Path(f))]
    except QuestionError as err:
        raise DataError(str(err)) from err
    retriever = open_collection(project_dir, config.collection)
    raft = build_raft(pairs, retriever, RaftConfig(distractors=config.raft_distractors,
                                                     oracle_share=config.raft_oracle_share, seed=config.seed))
    return raft.examples


def prepare_data(config: TrainConfig, tokenizer, project_dir: Path) -> PreparedData:
    """Read, validate, de-duplicate, split and tokenize; raises DataError before any training."""
    from finetune.data import split_examples
    from finetune.tokenize import summarize, tokenize_all

    if not config.data:
        raise DataError("no training data: pass --data FILE (JSON, JSONL, CSV, Parquet, a datasets folder, text)")
    examples, bad, duplicates = load_training_examples(config, project_dir, config.data)
    if config.eval_data:
        eval_examples = load_training_examples(config, project_dir, config.eval_data)[0]
    else:
        examples, eval_examples = split_examples(examples, config.eval_split, config.seed)
    train_tokens = tokenize_all(examples, tokenizer, config.max_length)
    eval_tokens = tokenize_all(eval_examples, tokenizer, config.max_length)
    summary = summarize(examples, train_tokens, config.max_length)
    train_tokens = [t for t in train_tokens if t.trainable]
    eval_tokens = [t for t in eval_tokens if t.trainable]
    if not train_tokens:
        raise DataError("no example has an assistant answer left to train on after truncation; "
                        "raise --max-length or check the data")
    files = [{"path": str(Path(f).resolve()), "sha256": file_hash(Path(f)), "role": role}
             for role, group in (("train", config.data), ("eval", config.eval_data)) for f in group]
    return PreparedData(train_tokens, eval_tokens, summary, files, bad, duplicates)


def _dataset(tokenized: list):
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [list(t.input_ids) for t in tokenized],
                              "labels": [list(t.labels) for t in tokenized]})


# ---------------------------------------------------------------- stage 2: setup

def setup_model(config: TrainConfig):
    """The base model (4-bit for QLoRA) and tokenizer, with the method applied: (model, tokenizer, device)."""
    from assistant.models import load_model
    from finetune.methods import METHOD_SETUP

    device = config.device
    if device == "auto" and distributed() and "LOCAL_RANK" in os.environ:
        device = f"cuda:{os.environ['LOCAL_RANK']}"  # one GPU per process, 4-bit weights placed there
    loaded = load_model(config.base, device=device, dtype="auto", load_in_4bit=config.method == "qlora",
                        trust_remote_code=config.trust_remote_code)
    model = loaded.model
    model.config.use_cache = False  # the cache only costs memory while training
    model = METHOD_SETUP[config.method](model, config)
    return model, loaded.tokenizer, loaded.device


def sft_arguments(config: TrainConfig, run_dir: Path, device: str, has_eval: bool):
    import torch
    from trl import SFTConfig

    from finetune.methods import PACKABLE

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
        use_cpu=not on_cuda,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
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
        remove_unused_columns=False,
    )


def _checkpointing(on: bool) -> dict:
    """transformers 5.2x renamed gradient_checkpointing to activation_checkpointing."""
    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    prefix = "activation" if "activation_checkpointing" in names else "gradient"
    return {f"{prefix}_checkpointing": on, f"{prefix}_checkpointing_kwargs": {"use_reentrant": False}}


# ---------------------------------------------------------------- stage 3: fit, stage 4: save

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


def _trim_metrics(run_dir: Path, step: int) -> None:
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
    if target.exists():
        old = run_dir / f".old-{target.name}"
        os.rename(target, old)
        shutil.rmtree(old)
    os.rename(staging, target)
    return target


def is_main_process() -> bool:
    """True unless this is a non-zero rank of an `accelerate launch` / torchrun job."""
    return int(os.environ.get("RANK", "0")) == 0


def distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("torch", "transformers", "peft", "trl", "datasets", "bitsandbytes", "accelerate"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def new_run_dir(config: TrainConfig, project_dir: Path) -> Path:
    if distributed():
        if not (config.output or config.name):
            raise ValueError("under accelerate launch or torchrun, pass --name or --output so that every "
                             "process writes to the same run")
        run_dir = Path(config.output) if config.output else runs_dir(project_dir) / config.name
        if not is_main_process():
            run_dir.mkdir(parents=True, exist_ok=True)
            return run_dir
    if config.output:
        run_dir = Path(config.output)
        if (run_dir / "run.json").exists():
            raise FileExistsError(f"{run_dir} already holds a run; pick another --output, or --resume it")
    else:
        run_dir = runs_dir(project_dir) / (config.name or new_run_name(config.method))
        if run_dir.exists():
            raise FileExistsError(f"run {run_dir.name!r} already exists in {run_dir.parent}; "
                                  f"pick another --name, or --resume it")
    run_dir.mkdir(parents=True)
    return run_dir


def _write_manifest(run_dir: Path, manifest: dict) -> None:
    if is_main_process():
        write_json_atomic(run_dir / "run.json", manifest)


def train(config: TrainConfig, project_dir: Path = Path(".assistant"), *, resume: Path | None = None,
          hooks: TrainHooks | None = None, stop: threading.Event | None = None) -> RunResult:
    """Fine-tune `config.base` on `config.data`; `resume` continues a run folder from its last checkpoint."""
    from transformers import AutoTokenizer, EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer

    from assistant.models import resolve_model
    from finetune.callbacks import MetricsLog, StepProgress, StopOnEvent
    from index.embedder import quiet_transformers

    hooks = hooks or TrainHooks()
    project_dir = Path(project_dir)
    checkpoint = None
    if resume is not None:
        run_dir = Path(resume)
        manifest = read_manifest(run_dir)
        config = TrainConfig(**manifest["config"])  # the run's own settings, not today's flags
        checkpoint = last_checkpoint(run_dir)
        if manifest.get("status") == "finished":
            raise FileExistsError(f"{run_dir} has finished already; nothing to resume")
    # Stage 1: everything that can be wrong with the data is found before a model is loaded.
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.base, hooks.message).location,
                                                  trust_remote_code=config.trust_remote_code)
    prepared = prepare_data(config, tokenizer, project_dir)
    if hooks.on_summary:
        hooks.on_summary(prepared.summary)
    if resume is None:
        run_dir = new_run_dir(config, project_dir)
        manifest = {"name": run_dir.name, "created": datetime.now().isoformat(timespec="seconds"),
                    "base": config.base, "method": config.method, "config": dataclasses.asdict(config)}
    elif checkpoint is not None:
        _trim_metrics(run_dir, int(checkpoint.name.rsplit("-", 1)[1]))
        hooks.message(f"resuming {run_dir.name} from {checkpoint.name}")
    manifest |= {"status": "running", "data": prepared.files, "versions": versions(),
                 "data_summary": dataclasses.asdict(prepared.summary),
                 "skipped_records": prepared.bad, "duplicates_removed": prepared.duplicates}
    _write_manifest(run_dir, manifest)

    # Stage 2: model and method.
    hooks.message(f"loading {config.base} for {config.method}")
    model, tokenizer, device = setup_model(config)
    from finetune.methods import trainable_parameters

    trained, total = trainable_parameters(model)
    manifest["parameters"] = {"trainable": trained, "total": total}
    hooks.message(f"training {trained:,} of {total:,} parameters ({100 * trained / total:.2f}%) on {device}")

    # Stage 3: fit.
    stop = stop or threading.Event()
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
    try:
        with warnings.catch_warnings():
            # Checkpoints of a base named like "smollm2-135m-instruct" make PEFT look it up on the hub.
            warnings.filterwarnings("ignore", message="(Unable to fetch remote file|Could not find a config file)")
            outcome = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except BaseException as err:
        manifest["status"] = "failed" if not isinstance(err, KeyboardInterrupt) else "stopped"
        manifest["error"] = f"{type(err).__name__}: {err}"
        _write_manifest(run_dir, manifest)
        if is_main_process():
            plot_loss(run_dir)
        raise

    # Stage 4: save.
    state = trainer.state
    evals = [row["eval_loss"] for row in state.log_history if "eval_loss" in row]
    metrics = {"steps": state.global_step, "epochs": round(state.epoch or 0, 3),
               "train_loss": outcome.training_loss, "seconds": round(time.perf_counter() - began, 1),
               "tokens_seen": state.num_input_tokens_seen,
               "best_eval_loss": min(evals) if evals else None,
               "final_eval_loss": evals[-1] if evals else None,
               "best_checkpoint": state.best_model_checkpoint}
    if stopper.stopped:
        manifest |= {"status": "stopped", "metrics": metrics}
        _write_manifest(run_dir, manifest)
        if is_main_process():
            plot_loss(run_dir)
        hooks.message(f"stopped at step {state.global_step}; a checkpoint is saved: "
                      f"assistant finetune --resume {run_dir}")
        return RunResult(run_dir, None, "stopped", metrics)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(Unable to fetch remote file|Could not find a config file)")
        output = save_output(trainer, tokenizer, run_dir, adapter=config.saves_adapter)
    manifest |= {"status": "finished", "metrics": metrics, "output": str(output),
                 "finished": datetime.now().isoformat(timespec="seconds")}
    _write_manifest(run_dir, manifest)
    if is_main_process():
        plot_loss(run_dir)
    return RunResult(run_dir, output, "finished", metrics)
