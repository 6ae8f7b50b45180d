"""`assistant data`: inspect, clean and build training data before any step is trained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import app, command, console, fail, settings

data_app = typer.Typer(help="Inspect, clean and build training data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

FORMAT_HELP = ("auto, alpaca, sharegpt, openai, context, text (prose in blocks), lines (a sample a line); "
               "for label data: classification, pair, translation, ner.")
COLUMNS_HELP = "Read the file's fields as a format's: instruction=question,output=answer."
SHOWN_CHANGES = 40


def parse_columns(text: Optional[str]) -> dict[str, str] | None:
    """'instruction=question,output=answer' → {"instruction": "question", "output": "answer"}."""
    if text is None:
        return None
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    mapping = {}
    for pair in pairs:
        ours, _, theirs = pair.partition("=")
        if not ours.strip() or not theirs.strip():
            fail(f"--columns {text!r}: write FORMAT_FIELD=FILE_FIELD pairs, e.g. instruction=question,output=answer")
        mapping[ours.strip()] = theirs.strip()
    return mapping


@command(data_app, "inspect")
def data_inspect(
    files: list[Path] = typer.Argument(..., help="Training files (JSON, JSONL, CSV, TSV, Parquet, text, a datasets folder)."),
    data_format: str = typer.Option("auto", "--format", help=FORMAT_HELP),
    columns: Optional[str] = typer.Option(None, "--columns", help=COLUMNS_HELP),
    eval_data: Optional[list[Path]] = typer.Option(None, "--eval-data", help="Eval files to check overlap with."),
    previews: int = typer.Option(2, "--preview", min=0, help="Examples shown as trained (chat template applied)."),
    base: Optional[str] = typer.Option(None, "--base", help="Model whose tokenizer counts tokens (default: finetune's)."),
    max_length: Optional[int] = typer.Option(None, "--max-length", min=1, help="Tokens per example (default: finetune's)."),
    text_field: Optional[str] = typer.Option(None, "--text-field", help="The field plain-text records keep their text in."),
    task_prompt: Optional[str] = typer.Option(None, "--task-prompt", help="A task template's instruction."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
) -> None:
    """What each file holds: its format and why, counts, token lengths, labels, personal data, a preview."""
    import dataclasses

    from finetune.inspection import inspect_data
    from finetune.prepare import load_tokenizer

    from ..data_report import print_report

    cfg = settings()
    train = dataclasses.replace(cfg.finetune, base=base or cfg.finetune.base,
                                max_length=max_length or cfg.finetune.max_length)
    say = None if as_json else lambda text: console.print(f"[dim]{text}[/]")
    reports = inspect_data(files, format=data_format, columns=parse_columns(columns) or cfg.data.columns,
                           eval_paths=eval_data or [], load_tokenizer=lambda: load_tokenizer(train, say),
                           max_length=train.max_length,
                           previews=previews, text_field=text_field, task_prompt=task_prompt, clean=cfg.data)
    if as_json:
        print(json.dumps([report.to_json() for report in reports], ensure_ascii=False, indent=1))
        return
    for report in reports:
        print_report(report, console)


@command(data_app, "clean")
def data_clean(
    files: list[Path] = typer.Argument(..., help="Training files to clean."),
    out: Path = typer.Option(..., "--out", "-o", help="The cleaned file (one input), or a folder for them."),
    data_format: str = typer.Option("auto", "--format", help=FORMAT_HELP),
    columns: Optional[str] = typer.Option(None, "--columns", help=COLUMNS_HELP),
    eval_data: Optional[list[Path]] = typer.Option(None, "--eval-data", help="Eval files: records they ask are removed."),
    normalize: Optional[bool] = typer.Option(None, "--normalize/--no-normalize",
                                             help="NFKC, whitespace, control characters, colour codes, HTML (default on)."),
    personal: Optional[str] = typer.Option(None, "--personal", help="Personal data: scrub (default), report or off."),
    near: Optional[float] = typer.Option(None, "--near-duplicates", help="Similarity from which records are one (0.7); 0: off."),
    min_chars: Optional[int] = typer.Option(None, "--min-chars", help="Drop records shorter than this."),
    max_chars: Optional[int] = typer.Option(None, "--max-chars", help="Drop records longer than this (0: no limit)."),
    conflicts: Optional[str] = typer.Option(None, "--conflicts", help="One prompt, different answers: report or drop."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write every change as JSON Lines here."),
    text_field: Optional[str] = typer.Option(None, "--text-field", help="The field plain-text records keep their text in."),
    task_prompt: Optional[str] = typer.Option(None, "--task-prompt", help="A task template's instruction."),
) -> None:
    """Normalise, de-duplicate, scrub personal data and remove eval overlap; write each file in its format."""
    from core.files import write_jsonl
    from finetune.cleaning import clean_paths

    from ..config import override
    from ..data_report import print_changes

    cfg = settings()
    config = override(cfg.data, columns=parse_columns(columns), normalize=normalize, personal=personal,
                      near_duplicates=near, min_chars=min_chars, max_chars=max_chars, conflicts=conflicts)
    cleaned = clean_paths(files, out, config, format=data_format, eval_paths=eval_data or [],
                          text_field=text_field, task_prompt=task_prompt)
    print_changes(cleaned, console, SHOWN_CHANGES)
    if report is not None:
        write_jsonl(report, [{"origin": c.origin, "step": c.step, "detail": c.detail, "removed": c.removed}
                             for c in cleaned.result.changes] +
                    [{"origin": b.origin, "step": "bad record", "detail": b.reason, "removed": True} for b in cleaned.bad])
        console.print(f"Every change: {report}", highlight=False)


@command(data_app, "raft")
def data_raft(
    questions: list[Path] = typer.Argument(..., help="Question files: JSONL (question, answer, source) or SQuAD."),
    collection: str = typer.Option(..., "--collection", "-c", help="Collection to retrieve sources from."),
    out: Path = typer.Option(..., "--out", help="Where to write the examples (OpenAI messages JSONL)."),
    distractors: int = typer.Option(3, "--distractors", help="Chunks besides the oracle."),
    oracle_share: float = typer.Option(0.8, "--oracle-share", help="Share of examples that hold the oracle."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Build RAFT-style examples (question + oracle and distractor chunks → answer), in the prompt
    rag+sft sends the [finetune] base model (for a small one: the best sentences of the chunks)."""
    from finetune.raft import RaftConfig, raft_from_files, write_examples_jsonl

    from ..answering import raft_asking

    cfg = settings()
    built = raft_from_files(questions, cfg.project_dir, collection,
                            RaftConfig(distractors=distractors, oracle_share=oracle_share, seed=seed),
                            raft_asking(cfg, cfg.finetune.base, collection))
    write_examples_jsonl(built.examples, out)
    stats = built.stats
    console.print(f"Wrote {len(built.examples)} examples to {out}: {stats.with_oracle} with the oracle chunk, "
                  f"{stats.without_oracle} with distractors only; skipped {stats.no_oracle} questions whose "
                  f"answer no chunk holds, {stats.not_shown} whose answer the prompt's sentences do not show "
                  f"and {stats.no_answer} without an answer.", highlight=False)


