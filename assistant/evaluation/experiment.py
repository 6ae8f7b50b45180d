"""The SQuAD experiment: which of RAG, SFT and both answers best on one domain, by how much, at what cost.

    outcome = run_squad_experiment("../shared/data/squad/dev-v2.0-first5.json", Path(".assistant"),
                                   ExperimentConfig(articles=2))
    print(outcome.verdict)

Stages, each a function below:
  1. load     SQuAD JSON → answerable questions (unanswerable ones skipped) and paragraphs
  2. split    questions into train and test *by question* with the seed (a paragraph may serve both)
  3. index    every paragraph as one JSONL record (id "<title>-p<n>") into collection squad-<n>articles
  4. train    plain SFT on train pairs (question → answer, the sft-mode prompt) and RAFT-style SFT
              (question + oracle among retrieved distractors → answer, in the prompt rag+sft sends:
              for a small model its best 2 sentences, answered at inference by a quote of the best)
  5. compare  base, rag, sft (plain adapter), rag+sft (RAFT adapter) on the test questions
  6. save     under <project_dir>/experiments/<name>/ with a verdict paragraph

A question's gold source is its paragraph id, so the retrieval hit rate is paragraph-level.
Training runs are named <name>-sft and <name>-raft and reused when a finished run has the same
settings and data, so a second call only re-runs the comparison.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from core.errors import ConfigError
from core.files import write_jsonl
from finetune.config import TrainConfig
from finetune.runs import file_hash, read_manifest, runs_dir
from finetune.train import TrainHooks, train
from finetune.types import RunError
from index.build import build_collection
from index.loaders import LoaderOptions
from index.store import Collection
from lm.prompts import build_messages
from lm.questions import QAPair, SquadData, load_questions, load_squad

from ..answering import Assistant, raft_asking
from ..config import MODES, Config, GenerationConfig
from .compare import CompareConfig, compare, difference, parse_modes, save_compare
from .report import format_ci
from .results import CompareResult, ExperimentError, Progress, experiments_dir


@dataclass
class ExperimentConfig:
    articles: int | None = None
    """Use the first N articles of the file (None: all)."""
    test_share: float = 0.3
    """Share of the answerable questions held out for the comparison."""
    seed: int = 0
    """Seeds the split, the training runs and the bootstrap."""
    method: str = "lora"
    """lora (faster on a CPU) or qlora (4-bit base, less memory)."""
    epochs: float = 2.0
    max_steps: int | None = None
    """Cap on optimiser steps per training run (overrides epochs)."""
    max_train_questions: int | None = 100
    """Train on at most this many of the train questions (None: all). On a CPU this sets the run's
    length: a small model's RAFT examples are ~180 tokens (a large model's whole chunks ~600)."""
    max_test_questions: int | None = 60
    """Ask at most this many of the test questions (None: all)."""
    max_new_tokens: int = 48
    """SQuAD answers are short spans; a short budget also keeps the run fast."""
    lr: float | None = None
    """Peak learning rate; default per method."""
    batch_size: int = 4
    raft_distractors: int | None = None
    """Distractors per RAFT example. None: as at inference, 7 for a small model (the oracle and 7
    retrieved chunks: the 8 whose sentences its prompt is chosen from), else 2 (+ the oracle = the 3
    whole chunks a large model's prompt holds)."""
    raft_oracle_share: float = 0.8
    modes: tuple[str, ...] = MODES
    model: str | None = None
    """Generator and base to fine-tune; default: the configured model."""
    name: str | None = None
    """Experiment name; default squad-<n>articles-seed<seed>."""

    def __post_init__(self) -> None:
        self.modes = parse_modes(self.modes if isinstance(self.modes, str) else ",".join(self.modes))
        if self.articles is not None and self.articles < 1:
            raise ConfigError(f"articles must be at least 1, not {self.articles}")
        if not 0 < self.test_share < 1:
            raise ConfigError(f"test_share must be between 0 and 1, not {self.test_share}")
        if self.method not in ("lora", "qlora", "dora"):
            raise ConfigError(f"method must be lora, qlora or dora, not {self.method!r}")
        for name in ("max_train_questions", "max_test_questions", "max_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")


@dataclass
class ExperimentHooks:
    """What a front end wants to hear; every hook is optional."""

    on_message: Callable[[str], None] | None = None
    train: object | None = None
    """finetune.train.TrainHooks for the two training runs."""
    on_answer: Callable[[Progress], None] | None = None

    def message(self, text: str) -> None:
        if self.on_message:
            self.on_message(text)


class Split(NamedTuple):
    train: list[QAPair]
    test: list[QAPair]


class TrainedRun(NamedTuple):
    name: str
    path: Path
    seconds: float
    reused: bool


@dataclass
class ExperimentResult:
    folder: Path
    result: CompareResult
    verdict: str
    runs: dict[str, TrainedRun] = field(default_factory=dict)
    """"sft" and "raft" → the training run used."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per stage."""


# --------------------------------------------------------------------------- 1-2: load and split

def split_questions(pairs: Sequence[QAPair], test_share: float, seed: int, max_train: int | None = None,
                    max_test: int | None = None) -> Split:
    """Shuffle with `seed`, hold out round(test_share × n) questions, then cap each side.

    >>> split = split_questions([QAPair(f"q{i}") for i in range(10)], 0.3, seed=0)
    >>> len(split.train), len(split.test)
    (7, 3)
    """
    order = list(pairs)
    random.Random(seed).shuffle(order)
    held = max(1, round(test_share * len(order)))
    return Split(order[held:][:max_train], order[:held][:max_test])


def question_record(pair: QAPair) -> dict:
    return {"id": pair.id, "question": pair.question, "answer": list(pair.answers), "source": pair.source,
            "context": pair.context}


def sft_record(pair: QAPair) -> dict:
    """Plain SFT example in OpenAI messages: exactly the sft-mode prompt, then the first gold answer."""
    return {"messages": build_messages(pair.question, None) + [{"role": "assistant", "content": pair.answers[0]}]}


# --------------------------------------------------------------------------- 3-4: index and train

def index_paragraphs(paragraphs_file: Path, project_dir: Path, name: str, settings: Config) -> None:
    build_collection([paragraphs_file], Collection(project_dir, name), settings.index,
                     loader=LoaderOptions(text_field="text", title_field="title", id_field="id"))


def _reusable(run_dir: Path, train_config) -> bool:
    """A finished run with the same settings (name and output aside) trained on the same files."""
    try:
        manifest = read_manifest(run_dir)
    except RunError:
        return False
    if manifest.status != "finished" or not (run_dir / "adapter").is_dir():
        return False
    ignored = {"name", "output"}
    same = {k: v for k, v in manifest.config.items() if k not in ignored}
    wanted = {k: v for k, v in dataclasses.asdict(train_config).items() if k not in ignored}
    hashes = sorted(f["sha256"] for f in manifest.data)
    return same == wanted and hashes == sorted(file_hash(Path(f)) for f in train_config.data)


def train_or_reuse(train_config, project_dir: Path, hooks: ExperimentHooks, asking=None) -> TrainedRun:
    """`asking`: for a RAFT run, how its examples are searched and prompted (`raft_asking`)."""
    run_dir = runs_dir(project_dir) / train_config.name
    if _reusable(run_dir, train_config):
        seconds = read_manifest(run_dir).metrics.get("seconds", 0.0)
        hooks.message(f"reusing finished run {run_dir.name} (same settings and data)")
        return TrainedRun(run_dir.name, run_dir, seconds, True)
    if run_dir.exists():  # an older or unfinished run under this name: keep it, train beside it
        train_config = dataclasses.replace(train_config, name=f"{train_config.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    kind = "RAFT" if train_config.raft else "plain"
    hooks.message(f"training {train_config.name} ({train_config.method}, {kind} SFT)")
    train_hooks = dataclasses.replace(hooks.train or TrainHooks(), raft_asking_for=lambda run: asking)
    outcome = train(train_config, project_dir, hooks=train_hooks)
    if outcome.status != "finished":
        raise ExperimentError(f"training run {outcome.run_dir} {outcome.status}; resume it with "
                           f"`assistant finetune --resume {outcome.run_dir}` or run the experiment again")
    return TrainedRun(outcome.run_dir.name, outcome.run_dir, outcome.metrics.get("seconds", 0.0), False)


def train_configs(config: ExperimentConfig, base: str, name: str, collection: str, sft_file: Path,
                  train_file: Path, grounded: bool = False):
    """(plain SFT, RAFT) TrainConfigs sharing method, schedule and seed; `grounded`: the RAFT
    prompt is a small model's best sentences (much shorter than whole chunks)."""
    distractors = config.raft_distractors if config.raft_distractors is not None else 7 if grounded else 2
    shared = dict(base=base, method=config.method, epochs=config.epochs, max_steps=config.max_steps, lr=config.lr,
                  batch_size=config.batch_size, eval_split=0.0, seed=config.seed, save_steps=10_000,
                  logging_steps=5, save_total_limit=1)
    plain = TrainConfig(data=[str(sft_file)], format="openai", name=f"{name}-sft", max_length=256, **shared)
    raft = TrainConfig(data=[str(train_file)], raft=True, collection=collection, name=f"{name}-raft",
                       max_length=512 if grounded else 1024, raft_distractors=distractors,
                       raft_oracle_share=config.raft_oracle_share, **shared)
    return plain, raft


# --------------------------------------------------------------------------- 6: verdict

def verdict(result: CompareResult, runs: dict[str, TrainedRun] | None = None) -> str:
    """One paragraph: the best mode by F1, its margin over the runner-up (paired bootstrap CI),
    RAG's gain over base, the RAFT target, and the cost (training time, latency)."""
    runs = runs or {}
    f1 = {m: result.summary[m]["f1"] for m in result.modes if "f1" in result.summary.get(m, {})}
    if not f1:
        return "No reference answers, so no mode can be called best; compare the answers side by side."
    ranked = sorted(f1, key=lambda m: f1[m].mean, reverse=True)
    best = ranked[0]
    parts = [f"On {f1[best].n} test questions, {best} answers best: F1 {format_ci(f1[best], 'f1')}."]

    def gap(a: str, b: str) -> str:
        d = difference(result, a, b)
        if d is None:
            return "n/a"
        noise = " (within noise)" if d.low <= 0 <= d.high else ""
        return f"{100 * d.mean:+.1f} F1 points [95% CI {100 * d.low:+.1f} to {100 * d.high:+.1f}]{noise}"

    if len(ranked) > 1:
        parts.append(f"It leads {ranked[1]} (F1 {100 * f1[ranked[1]].mean:.1f}) by {gap(best, ranked[1])}.")
    if "rag" in f1 and "base" in f1:
        parts.append(f"Retrieval alone moves base to rag by {gap('rag', 'base')}.")
    if {"rag", "sft", "rag+sft"} <= set(f1):
        rival = max(("rag", "sft"), key=lambda m: f1[m].mean)
        d = difference(result, "rag+sft", rival)
        # RAFT's claim holds when the gain is large and not noise: ≥ 5 points, interval above 0
        met = d is not None and 100 * d.mean >= 5 and d.low > 0
        why = "" if met or d is None or 100 * d.mean < 5 else " (its interval reaches 0)"
        parts.append(f"RAG+SFT vs the better of RAG and SFT ({rival}): {gap('rag+sft', rival)}; "
                     f"the target (≥ 5 points, interval above 0) is {'met' if met else 'not met'}{why}.")
    latency = ", ".join(f"{m} {result.summary[m]['latency'].mean:.2f} s" for m in result.modes
                        if "latency" in result.summary.get(m, {}))
    training = ", ".join(f"{kind} {run.seconds / 60:.1f} min" + (" (reused)" if run.reused else "")
                         for kind, run in runs.items())
    parts.append("Cost: " + (f"training {training}; " if training else "") + f"mean latency per answer {latency}.")
    return " ".join(parts)


# --------------------------------------------------------------------------- the whole run

def run_squad_experiment(path: Path | str, project_dir: Path, config: ExperimentConfig | None = None,
                         hooks: ExperimentHooks | None = None, settings: Config | None = None) -> ExperimentResult:
    """Run stages 1-6 (module docstring) and return the comparison, the verdict and where it is saved.

    `settings` supplies index, retrieval and model settings (default: built-in defaults);
    generation is greedy with `config.max_new_tokens`, the same in every mode.
    """
    config, hooks = config or ExperimentConfig(), hooks or ExperimentHooks()
    settings = dataclasses.replace(settings or Config(), project_dir=Path(project_dir))
    model = config.model or settings.model.name
    timer, seconds = time.perf_counter(), {}

    def lap(stage: str) -> None:
        nonlocal timer
        seconds[stage] = round(time.perf_counter() - timer, 1)
        timer = time.perf_counter()

    data = load_squad(Path(path), config.articles)
    collection = f"squad-{data.articles}articles"
    name = config.name or f"{collection}-seed{config.seed}"
    folder = experiments_dir(project_dir) / name
    split = split_questions(data.pairs, config.test_share, config.seed, config.max_train_questions,
                            config.max_test_questions)
    hooks.message(f"{data.articles} articles, {len(data.paragraphs)} paragraphs, {len(data.pairs)} answerable "
                  f"questions ({data.impossible} unanswerable skipped): training on {len(split.train)}, "
                  f"testing on {len(split.test)}")
    paragraphs = write_jsonl(folder / "paragraphs.jsonl", (p._asdict() for p in data.paragraphs))
    train_file = write_jsonl(folder / "train.jsonl", map(question_record, split.train))
    test_file = write_jsonl(folder / "test.jsonl", map(question_record, split.test))
    sft_file = write_jsonl(folder / "sft.jsonl", map(sft_record, split.train))
    lap("load")

    hooks.message(f"indexing {len(data.paragraphs)} paragraphs into collection {collection}")
    index_paragraphs(paragraphs, Path(project_dir), collection, settings)
    lap("index")

    runs = {}
    wanted = {"sft": "sft" in config.modes, "raft": "rag+sft" in config.modes}
    asking = raft_asking(settings, model, collection) if wanted["raft"] else None
    for kind, train_config in zip(("sft", "raft"), train_configs(config, model, name, collection, sft_file,
                                                                  train_file, grounded=bool(asking and asking.prompt))):
        if wanted[kind]:
            runs[kind] = train_or_reuse(train_config, Path(project_dir), hooks, asking if kind == "raft" else None)
            lap(f"train_{kind}")

    settings.model = dataclasses.replace(settings.model, name=model)
    settings.generation = GenerationConfig(max_new_tokens=config.max_new_tokens, temperature=0.0,
                                           repetition_penalty=1.0, seed=config.seed)
    hooks.message(f"answering {len(split.test)} test questions in {', '.join(config.modes)}")
    compare_config = CompareConfig(
        modes=config.modes, collection=collection, name=name, question_file=str(test_file), seed=config.seed,
        adapters={mode: str(runs[kind].path) for mode, kind in (("sft", "sft"), ("rag+sft", "raft")) if kind in runs})
    result = compare(load_questions(test_file), Assistant(settings, progress=hooks.on_message), compare_config,
                     on_progress=hooks.on_answer)
    lap("compare")
    text = verdict(result, runs)
    result.manifest["experiment"] = {
        "file": str(Path(path).resolve()), "config": dataclasses.asdict(config), "collection": collection,
        "paragraphs": len(data.paragraphs), "answerable": len(data.pairs), "impossible": data.impossible,
        "train_questions": len(split.train), "test_questions": len(split.test),
        "runs": {kind: {"name": run.name, "seconds": run.seconds, "reused": run.reused} for kind, run in runs.items()},
        "seconds": seconds, "verdict": text}
    save_compare(result, folder, notes=text)
    return ExperimentResult(folder, result, text, runs, seconds)


__all__ = ["ExperimentConfig", "ExperimentHooks", "ExperimentResult", "Split", "SquadData", "load_squad",
           "run_squad_experiment", "split_questions", "verdict"]
