"""`assistant finetune` and `assistant adapters`."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from .common import app, command, console, errors, fail, settings

adapters_app = typer.Typer(help="List, merge or remove fine-tuned adapters.", invoke_without_command=True)
app.add_typer(adapters_app, name="adapters")


def _method(qlora: bool, lora: bool, dora: bool, full: bool, freeze: Optional[int], prefix: bool,
            prompt_tuning: bool) -> tuple[Optional[str], Optional[int]]:
    chosen = [name for name, on in (("qlora", qlora), ("lora", lora), ("dora", dora), ("full", full),
                                    ("freeze", freeze is not None), ("prefix", prefix),
                                    ("prompt-tuning", prompt_tuning)) if on]
    if len(chosen) > 1:
        fail(f"choose one method, not {' and '.join('--' + c for c in chosen)}")
    return (chosen[0] if chosen else None), freeze


@command()
def finetune(
    qlora: bool = typer.Option(False, "--qlora", help="4-bit NF4 base + LoRA on all linear layers (default on a GPU)."),
    lora: bool = typer.Option(False, "--lora", help="LoRA on a full-precision base (default on a CPU)."),
    dora: bool = typer.Option(False, "--dora", help="Weight-decomposed LoRA."),
    full: bool = typer.Option(False, "--full", help="Train every weight."),
    freeze: Optional[int] = typer.Option(None, "--freeze", metavar="N", help="Train only the top N layers."),
    prefix: bool = typer.Option(False, "--prefix", help="Prefix tuning (PEFT)."),
    prompt_tuning: bool = typer.Option(False, "--prompt-tuning", help="Prompt tuning (PEFT)."),
    data: Optional[list[Path]] = typer.Option(None, "--data", help="Training file (repeat for several)."),
    eval_data: Optional[list[Path]] = typer.Option(None, "--eval-data", help="Evaluation file(s)."),
    eval_split: Optional[float] = typer.Option(None, "--eval-split", help="Share held out for eval (0.05)."),
    data_format: Optional[str] = typer.Option(None, "--format", help="auto, alpaca, sharegpt, openai, context, text, lines; "
                                              "for label data: classification, pair, translation, ner."),
    train_on: Optional[str] = typer.Option(None, "--train-on",
                                           help="Assistant turns learned: all (default) or last (earlier ones as context)."),
    task_prompt: Optional[str] = typer.Option(None, "--task-prompt",
                                              help="A task template's instruction, fields in braces: 'Sentiment of: {text}'."),
    text_field: Optional[str] = typer.Option(None, "--text-field",
                                             help="The field plain-text records keep their text in (default text)."),
    columns: Optional[str] = typer.Option(None, "--columns", help="Read the files' fields as a format's: "
                                          "instruction=question,output=answer."),
    clean: Optional[bool] = typer.Option(None, "--clean", help="Clean the data first, as `data clean` does."),
    skip_bad: Optional[bool] = typer.Option(None, "--skip-bad", help="Skip and count bad records."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (default: embedded SmolLM2)."),
    output: Optional[Path] = typer.Option(None, "--output", help="Run folder (default: new one under runs/)."),
    name: Optional[str] = typer.Option(None, "--name", help="Run name under <project>/runs/."),
    epochs: Optional[float] = typer.Option(None, "--epochs"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps"),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (default per method)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum"),
    max_length: Optional[int] = typer.Option(None, "--max-length"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    eval_steps: Optional[int] = typer.Option(None, "--eval-steps"),
    save_steps: Optional[int] = typer.Option(None, "--save-steps"),
    patience: Optional[int] = typer.Option(None, "--patience", help="Early stopping: evaluations without gain."),
    raft: bool = typer.Option(False, "--raft", help="Data are question/answer files: build RAFT examples."),
    collection: Optional[str] = typer.Option(None, "--collection", "-c", help="Collection for --raft."),
    device: Optional[str] = typer.Option(None, "--device"),
    train_config: Optional[Path] = typer.Option(None, "--config", help="TOML with the same keys ([finetune])."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Run name or folder to continue."),
    restart: bool = typer.Option(False, "--restart", help="With --resume: start that run again from step 0."),
) -> None:
    """Fine-tune the generator (QLoRA by default) on instruction, chat or text data."""
    from finetune.config import load_train_config

    from ..config import override
    from .preparing import parse_columns

    cfg = settings()
    method, freeze_layers = _method(qlora, lora, dora, full, freeze, prefix, prompt_tuning)
    train_settings = load_train_config(train_config, cfg.finetune) if train_config else cfg.finetune
    train_settings = override(
        train_settings, method=method, freeze_layers=freeze_layers, base=base,
        data=[str(p) for p in data] if data else None,
        eval_data=[str(p) for p in eval_data] if eval_data else None, eval_split=eval_split,
        format=data_format, text_field=text_field, task_prompt=task_prompt, train_on=train_on, clean=clean,
        columns=parse_columns(columns) or (None if train_settings.columns else cfg.data.columns or None),
        skip_bad=skip_bad, output=str(output) if output else None, name=name,
        epochs=epochs, max_steps=max_steps, lr=lr, batch_size=batch_size, grad_accum=grad_accum,
        max_length=max_length, seed=seed, eval_steps=eval_steps, save_steps=save_steps, patience=patience,
        raft=raft or None, collection=collection, device=device)
    run_training(train_settings, cfg.project_dir, resume, restart)


def run_training(settings, project_dir: Path, resume: Optional[str], restart: bool = False) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from finetune.processes import is_main_process
    from finetune.runs import find_run
    from finetune.tokenize import render_summary
    from finetune.train import TrainHooks, train

    if not is_main_process():  # under accelerate launch / torchrun rank 0 reports for all; errors still show
        console.quiet = True
    resume_dir = find_run(resume, project_dir) if resume is not None else None
    from ..progress import make_progress

    progress = make_progress(console, TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]}"),
                             TimeRemainingColumn())
    task = progress.add_task("training", total=None, loss="–", rate="")

    def on_step(step: int, total: int, loss: float | None) -> None:
        if not progress.live.is_started:  # the bar shows once training runs, not while data is checked
            progress.start()
        progress.update(task, completed=step, total=total, loss=f"{loss:.4f}" if loss is not None else "–")

    def on_metrics(row: dict) -> None:
        if row.get("tokens_per_second"):
            progress.update(task, rate=f"{row['tokens_per_second']:.0f} tok/s")
        if "eval_loss" in row:
            progress.console.print(f"step {row['step']}: eval loss {row['eval_loss']:.4f} "
                                   f"(perplexity {row['perplexity']:.2f})", highlight=False)

    stop = threading.Event()

    def on_interrupt(signum, frame) -> None:
        stop.set()
        errors.print("[yellow]stopping after this step and saving a checkpoint (Ctrl-C again to abort)[/]")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    from ..answering import raft_asking
    from .common import settings as project_settings

    hooks = TrainHooks(on_message=lambda text: console.print(f"[dim]{text}[/]", highlight=False),
                       on_summary=lambda summary: render_summary(summary, console),
                       on_step=on_step, on_metrics=on_metrics,
                       raft_asking_for=lambda run: raft_asking(project_settings(), run.base, run.collection))
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = train(settings, project_dir, resume=resume_dir, restart=restart, hooks=hooks, stop=stop)
    finally:
        progress.stop()
        signal.signal(signal.SIGINT, previous)
    metrics = result.metrics
    if result.status != "finished":
        console.print(f"Stopped at step {metrics['steps']}. Continue with: "
                      f"assistant finetune --resume {result.run_dir}")
        raise typer.Exit(130)
    evals = f", best eval loss {metrics['best_eval_loss']:.4f}" if metrics.get("best_eval_loss") else ""
    console.print(f"Finished {metrics['steps']} steps in {metrics['seconds']:.0f} s: train loss "
                  f"{metrics['train_loss']:.4f}{evals}.\nSaved {result.output}\n"
                  f"Use it: assistant ask \"...\" --mode sft --adapter {result.run_dir.name}", highlight=False)


@adapters_app.callback()
def adapters_default(ctx: typer.Context) -> None:
    """Training runs with their status, base model, method and eval loss."""
    if ctx.invoked_subcommand is None:
        adapters_list()


@command(adapters_app, "list")
def adapters_list() -> None:
    """Training runs with their status, base model, method and eval loss."""
    from finetune.runs import describe_processes, list_runs

    from ..render import print_table

    cfg = settings()
    runs = list_runs(cfg.project_dir)
    if not runs:
        console.print(f"No training runs in {cfg.project_dir / 'runs'} yet: assistant finetune --data FILE")
        return
    rows = [[run.name, run.status, run.method, Path(run.base).name, str(run.steps), str(run.world_size),
             f"{run.eval_loss:.4f}" if run.eval_loss is not None else "–", run.created[:16].replace("T", " ")]
            for run in runs]
    columns = [("name", True), ("status", True), ("method", True), ("base", True), ("steps", True),
               ("processes", False), ("eval loss", False), ("created", False)]
    print_table(console, f"Runs in {cfg.project_dir / 'runs'}", columns, rows)
    for run in runs:  # where a run was launched on several processes: which, and whether they still run
        if run.world_size > 1:
            console.print(f"{run.name}: {describe_processes(run.processes, run.status)}", highlight=False)


@command(adapters_app, "merge")
def adapters_merge(
    run: str = typer.Argument(..., help="Run name or folder, or an adapter folder."),
    out: Path = typer.Option(..., "--out", help="Folder for the merged model."),
) -> None:
    """Fold an adapter into its base model: a folder plain transformers can load."""
    from finetune.adapters import merge_adapter, run_adapter

    merged = merge_adapter(run_adapter(run, settings().project_dir), out)
    console.print(f"Merged model saved in {merged}: AutoModelForCausalLM.from_pretrained({str(merged)!r})",
                  highlight=False)


@command(adapters_app, "rm")
def adapters_rm(run: str = typer.Argument(..., help="Run name or folder.")) -> None:
    """Delete a training run (adapter, checkpoints, metrics)."""
    from finetune.runs import remove_run

    removed = remove_run(run, settings().project_dir)
    console.print(f"Removed {removed}")
