"""`assistant compare`, `assistant experiments [show]` and `assistant experiment squad`."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from .common import app, command, console, errors, fail, settings

experiments_app = typer.Typer(help="Saved comparisons: list them, or show one (beside another).",
                              invoke_without_command=True)
experiment_app = typer.Typer(help="Reproducible end-to-end experiments.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")
app.add_typer(experiment_app, name="experiment")


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from ..progress import make_progress

    return make_progress(errors, TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                         TextColumn("{task.fields[note]}"), TimeRemainingColumn())


@contextmanager
def _stoppable():
    """First Ctrl-C sets the event (finish the current answer, keep what is done); a second aborts."""
    stop = threading.Event()

    def on_interrupt(signum, frame) -> None:
        stop.set()
        errors.print("[yellow]stopping after this answer; the rows so far are saved (Ctrl-C again to abort)[/]")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


@command()
def compare(
    questions: Optional[Path] = typer.Option(None, "--questions", "-q",
                                             help="JSONL (question, answer, source) or SQuAD JSON."),
    collection: Optional[str] = typer.Option(None, "--collection", "-c", help="Collection for rag modes."),
    adapter: Optional[str] = typer.Option(None, "--adapter", "-a", help="Adapter run for sft and rag+sft."),
    sft_adapter: Optional[str] = typer.Option(None, "--sft-adapter", help="Adapter for sft alone."),
    raft_adapter: Optional[str] = typer.Option(None, "--raft-adapter", help="Adapter for rag+sft only."),
    modes: Optional[str] = typer.Option(None, "--modes", "-m",
                                        help="Comma-separated; default all four (base,rag with no adapter)."),
    model: Optional[str] = typer.Option(None, "--model", help="Generator: embedded name, HF id or folder."),
    sources: Optional[int] = typer.Option(None, "--sources", help="Chunks to put in the prompt (default 3)."),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="0 = greedy (default)."),
    device: Optional[str] = typer.Option(None, "--device"),
    limit: Optional[int] = typer.Option(None, "--limit", help="Ask only the first N questions."),
    name: Optional[str] = typer.Option(None, "--name", help="Folder under <project>/experiments/."),
    against: Optional[str] = typer.Option(None, "--against", help="Saved experiment to show changes from."),
    as_json: bool = typer.Option(False, "--json", help="Print results (summary and rows) as JSON."),
    list_saved: bool = typer.Option(False, "--list", help="List saved experiments and exit."),
) -> None:
    """Answer every question in every mode with the same settings and seed; score and save the runs."""
    from lm.questions import load_questions

    from ..answering import Assistant
    from ..evaluation.compare import CompareConfig, save_compare
    from ..evaluation.compare import compare as run_compare
    from ..evaluation.report import render_table
    from ..evaluation.results import experiments_dir, load_compare
    from ..config import override

    if list_saved:
        return experiments_list()
    if questions is None:
        fail("pass --questions FILE (JSONL with question, answer, source; or SQuAD JSON)")
    cfg = settings()
    cfg = dataclasses.replace(
        cfg, chat=override(cfg.chat, collection=collection, sources=sources),
        model=override(cfg.model, name=model, device=device),
        generation=override(cfg.generation, max_new_tokens=max_new_tokens, temperature=temperature))
    has_adapter = bool(adapter or sft_adapter or raft_adapter or cfg.chat.adapter)
    if modes is None and not has_adapter:
        errors.print("[dim]no --adapter: comparing base and rag (add --adapter RUN for sft and rag+sft)[/]")
    adapters = {m: a for m, a in (("sft", sft_adapter), ("rag+sft", raft_adapter)) if a}
    compare_settings = CompareConfig(modes=modes or ("base,rag,sft,rag+sft" if has_adapter else "base,rag"),
                                     collection=collection, adapter=adapter, adapters=adapters, limit=limit,
                                     name=name, question_file=str(questions))
    if name and (experiments_dir(cfg.project_dir) / name / "manifest.json").exists():
        fail(f"experiment {name!r} exists in {experiments_dir(cfg.project_dir)}; pick another --name")
    old = load_compare(against, cfg.project_dir) if against else None
    pairs = load_questions(questions)
    total = min(len(pairs), limit or len(pairs)) * len(compare_settings.modes)
    progress = _progress()
    task = progress.add_task("answering", total=total, note="")
    helper = Assistant(cfg, progress=lambda text: progress.console.print(f"[dim]{text}[/]", highlight=False))
    with progress, _stoppable() as stop:
        result = run_compare(pairs, helper, compare_settings, stop=stop,
                             on_progress=lambda p: progress.update(task, completed=p.done,
                                                                   note=f"{p.row.mode} · {p.row.id}"))
    folder = save_compare(result, experiments_dir(cfg.project_dir) / result.name, against=old)
    if as_json:
        print(json.dumps(result.to_json(), indent=1, ensure_ascii=False))
        return
    render_table(result, console, against=old)
    if result.stopped:
        console.print(f"[yellow]Stopped early: {len(result.rows)} of {total} answers.[/]")
    console.print(f"Saved {folder}: report.md, results.json, rows.jsonl, metrics.png, manifest.json "
                  f"({result.seconds:.0f} s)", highlight=False)


@experiments_app.callback()
def experiments_default(ctx: typer.Context) -> None:
    """Saved experiments with their modes, question counts and models."""
    if ctx.invoked_subcommand is None:
        experiments_list()


@command(experiments_app, "list")
def experiments_list() -> None:
    """Saved experiments with their modes, question counts and models."""
    from rich.table import Table

    from ..evaluation.results import experiments_dir, list_experiments

    cfg = settings()
    found = list_experiments(cfg.project_dir)
    if not found:
        console.print(f"No experiments in {experiments_dir(cfg.project_dir)} yet: "
                      f"assistant compare --questions FILE -c COLLECTION", highlight=False)
        return
    table = Table(title=f"Experiments in {experiments_dir(cfg.project_dir)}")
    for column in ("name", "created", "modes", "questions", "model"):
        table.add_column(column)
    for item in found:
        table.add_row(item.name, item.created, ",".join(item.modes), str(item.questions), item.model)
    console.print(table)
    console.print("[dim]assistant experiments show NAME [OTHER] puts two side by side.[/]")


@command(experiments_app, "show")
def experiments_show(
    name: str = typer.Argument(..., help="Experiment name or folder."),
    other: Optional[str] = typer.Argument(None, help="A second experiment: show the change from its means."),
    answers: int = typer.Option(0, "--answers", help="Also show the first N questions side by side."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """A saved experiment's table; with OTHER, each mean with its change from OTHER's."""
    from ..evaluation.report import render_table
    from ..evaluation.results import load_compare

    cfg = settings()
    result = load_compare(name, cfg.project_dir)
    old = load_compare(other, cfg.project_dir) if other else None
    if as_json:
        print(json.dumps({k: v for k, v in result.to_json().items() if k != "rows"}, indent=1, ensure_ascii=False))
        return
    render_table(result, console, against=old, answers=answers)
    verdict = result.manifest.get("experiment", {}).get("verdict")
    if verdict:
        console.print(verdict, highlight=False)


SQUAD_HELP = """The SQuAD experiment: which of RAG, SFT and both answers best on this domain, by how much, at what cost.

Indexes the paragraphs of FILE (SQuAD v1.1/v2.0 JSON) as documents, splits the answerable questions into train and test by question, fine-tunes a plain SFT adapter and a RAFT-style adapter on the train questions, then compares base, rag, sft and rag+sft on the test questions and prints the table and a verdict.

The defaults (all articles, 100 train and 60 test questions, 2 epochs of LoRA, 48 new tokens) take about 30 minutes on an idle 2-core CPU (RAFT training about 15-20, answering about 8, the rest a few) and longer on a busy one. Scale with --articles, --max-train-questions, --max-test-questions and --epochs (0 questions = all; on a GPU all of them take minutes).

Finished training runs with the same settings and data are reused when you run it again."""


@command(experiment_app, "squad", help=SQUAD_HELP)
def experiment_squad(
    file: Path = typer.Argument(..., help="SQuAD JSON, e.g. ../shared/data/squad/dev-v2.0-first5.json."),
    articles: Optional[int] = typer.Option(None, "--articles", help="Use the first N articles (default all)."),
    max_train_questions: int = typer.Option(100, "--max-train-questions", help="0 = all train questions."),
    max_test_questions: int = typer.Option(60, "--max-test-questions", help="0 = all test questions."),
    test_share: float = typer.Option(0.3, "--test-share", help="Share of questions held out for testing."),
    epochs: float = typer.Option(2.0, "--epochs"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Cap on steps per training run."),
    method: str = typer.Option("lora", "--method", help="lora (faster on CPU), qlora or dora."),
    lr: Optional[float] = typer.Option(None, "--lr"),
    max_new_tokens: int = typer.Option(48, "--max-new-tokens"),
    modes: str = typer.Option("base,rag,sft,rag+sft", "--modes", "-m"),
    model: Optional[str] = typer.Option(None, "--model", help="Generator and base to fine-tune."),
    seed: int = typer.Option(0, "--seed"),
    name: Optional[str] = typer.Option(None, "--name", help="Default squad-<n>articles-seed<seed>."),
    as_json: bool = typer.Option(False, "--json", help="Print results (summary and rows) as JSON."),
) -> None:
    from finetune.train import TrainHooks

    from ..evaluation.report import render_table
    from ..evaluation.experiment import ExperimentConfig, ExperimentHooks, run_squad_experiment

    cfg = settings()
    experiment = ExperimentConfig(
            articles=articles, test_share=test_share, seed=seed, method=method, epochs=epochs, max_steps=max_steps,
            max_train_questions=max_train_questions or None, max_test_questions=max_test_questions or None,
            max_new_tokens=max_new_tokens, lr=lr, modes=modes, model=model, name=name)
    progress = _progress()
    tasks: dict[str, int] = {}

    def say(text: str) -> None:
        progress.console.print(f"[dim]{text}[/]", highlight=False)

    def on_step(step: int, total: int, loss: float | None) -> None:
        if "train" not in tasks or step < tasks["last"]:  # the second run starts over at step 1
            tasks["train"] = progress.add_task("training", total=total, note="")
        tasks["last"] = step
        progress.update(tasks["train"], completed=step, total=total, note=f"loss {loss:.3f}" if loss else "")

    def on_answer(p) -> None:
        if "answer" not in tasks:
            tasks["answer"] = progress.add_task("answering", total=p.total, note="")
        progress.update(tasks["answer"], completed=p.done, note=f"{p.row.mode} · {p.row.id}")

    hooks = ExperimentHooks(on_message=say, train=TrainHooks(on_message=say, on_step=on_step), on_answer=on_answer)
    with progress:
        outcome = run_squad_experiment(file, cfg.project_dir, experiment, hooks, settings=cfg)
    if as_json:
        print(json.dumps(outcome.result.to_json(), indent=1, ensure_ascii=False))
        return
    render_table(outcome.result, console)
    console.print(outcome.verdict, highlight=False)
    console.print(f"Saved {outcome.folder} (report.md, results.json, rows.jsonl, metrics.png, manifest.json)",
                  highlight=False)
