"""Fine-tuning settings: one dataclass, per-method defaults, presets as TOML files.

    [finetune]              # in assistant.toml, or the top level of a --config file
    method = "auto"
    data = ["train.jsonl"]
    epochs = 3
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from lm.devices import device_problem

METHODS = ("auto", "qlora", "lora", "dora", "full", "freeze", "prefix", "prompt-tuning")
ADAPTER_METHODS = ("auto", "qlora", "lora", "dora", "prefix", "prompt-tuning")
"""Methods that save a PEFT adapter; the others save a whole model."""

# Learning rates that work for each method on small instruct models; --lr overrides.
DEFAULT_LR = {"auto": 2e-4, "qlora": 2e-4, "lora": 2e-4, "dora": 2e-4, "full": 2e-5, "freeze": 5e-5,
              "prefix": 5e-3, "prompt-tuning": 3e-2}
SCHEDULERS = ("cosine", "linear", "constant")
PRESETS_DIR = Path(__file__).resolve().parent / "presets"


@dataclass
class TrainConfig:
    base: str = "smollm2-135m-instruct"
    """The model to fine-tune: the embedded default, a Hugging Face id, or a local folder."""
    method: str = "auto"
    """auto (qlora on a CUDA GPU, lora elsewhere: finetune.speed.method_for), qlora (4-bit NF4 base
    + LoRA), lora, dora, full, freeze (top layers only), prefix, prompt-tuning."""
    data: list[str] = field(default_factory=list)
    """Training files: JSON, JSONL, CSV/TSV, Parquet, a saved `datasets` folder, or text documents."""
    format: str = "auto"
    """auto, alpaca, sharegpt, openai, context or text (a text file: prose in blocks), lines (a
    text file: one sample per line); or a task template for label data: classification, pair,
    translation, ner."""
    text_field: str | None = None
    """For JSON/CSV with documents: the field that holds the text (plain-text training)."""
    train_on: str = "all"
    """Which assistant turns of a conversation are learned: all, or last (the earlier ones stay as
    context only)."""
    columns: dict[str, str] = field(default_factory=dict)
    """The data files' fields read as a format's: {instruction = "question", output = "answer"}."""
    clean: bool = False
    """Clean the data first, as `assistant data clean` does with its defaults (normalise, scrub
    personal data, drop duplicates and near duplicates, report conflicts, drop eval overlap)."""
    task_prompt: str | None = None
    """A task template's instruction, the record's fields in braces: "Sentiment of: {text}"."""
    skip_bad: bool = False
    """Skip (and count) bad records instead of stopping before training."""
    eval_data: list[str] = field(default_factory=list)
    """Evaluation files; without them, eval_split of the training data is held out."""
    eval_split: float = 0.05
    output: str | None = None
    """Run folder; default: <project_dir>/runs/<name>."""
    name: str | None = None
    """Run name; default: <method>-<date>-<time>."""

    epochs: float = 3.0
    max_steps: int | None = None
    """Stop after this many optimiser steps (overrides epochs)."""
    lr: float | None = None
    """Peak learning rate; default depends on the method (DEFAULT_LR)."""
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    """Tokens per example (longer ones are cut at the end and counted in the summary)."""
    seed: int = 0
    scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    padding_free: bool = True
    """Batch examples end to end in one row, without padding (position ids keep them apart)."""
    packing: bool = False
    """Also pack examples across batches into rows of max_length tokens (bigger steps, fewer of them)."""
    gradient_checkpointing: bool | str = "auto"
    """Recompute activations in the backward pass to save memory: true, false, or auto (on for the
    CPU; on CUDA only when a step would not fit in the GPU's free memory without it)."""

    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str = "all-linear"
    """LoRA targets: all-linear, comma-separated module names (q_proj,v_proj), or a regular
    expression after `re:` (re:.*layers\.2\d\..*_proj: the top layers only, so the backward pass
    stops there, which on a CPU nearly halves a step)."""
    freeze_layers: int = 2
    """For method freeze: train only the top N transformer layers (and the final norm)."""
    virtual_tokens: int = 20
    """For prefix and prompt-tuning: number of learned virtual tokens."""

    raft: bool = False
    """Treat the data files as question/answer files and build RAFT-style examples from `collection`."""
    collection: str | None = None
    """The collection RAFT examples retrieve their sources from."""
    raft_distractors: int = 3
    """Retrieved chunks besides the oracle put in each RAFT example."""
    raft_oracle_share: float = 0.8
    """Share of RAFT examples whose sources include the oracle (the rest hold only distractors)."""

    eval_steps: int = 50
    save_steps: int = 50
    logging_steps: int = 5
    patience: int | None = None
    """Stop when eval loss has not improved for this many evaluations."""
    save_total_limit: int = 2
    device: str = "auto"
    """auto (CUDA when present), cpu, cuda ..."""
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        _check(self.method in METHODS, f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        _check(device_problem(self.device) is None, device_problem(self.device) or "")
        _check(self.train_on in ("all", "last"), f"train_on must be all or last, not {self.train_on!r}")
        _check(self.scheduler in SCHEDULERS, f"scheduler must be one of {', '.join(SCHEDULERS)}")
        _check(0 <= self.eval_split < 1, f"eval_split must be in [0, 1), not {self.eval_split}")
        _check(self.epochs > 0, f"epochs must be above 0, not {self.epochs}")
        _check(self.max_steps is None or self.max_steps > 0, "max_steps must be at least 1")
        _check(self.lr is None or self.lr > 0, f"lr must be above 0, not {self.lr}")
        for name in ("batch_size", "grad_accum", "max_length", "lora_r", "eval_steps", "save_steps",
                     "logging_steps", "virtual_tokens", "freeze_layers", "save_total_limit"):
            _check(getattr(self, name) >= 1, f"{name} must be at least 1, not {getattr(self, name)}")
        _check(self.gradient_checkpointing in (True, False, "auto"),
               f"gradient_checkpointing must be true, false or \"auto\", not {self.gradient_checkpointing!r}")
        _check(self.patience is None or self.patience >= 1, "patience must be at least 1")
        _check(0 <= self.lora_dropout < 1, "lora_dropout must be in [0, 1)")
        _check(0 <= self.raft_oracle_share <= 1, "raft_oracle_share must be in [0, 1]")
        if self.name is not None:
            from index.store import name_problem  # lazy: numpy, which `assistant --help` need not load

            _check(name_problem(self.name) is None, f"run {name_problem(self.name)}")
        for name in ("data", "eval_data"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, [getattr(self, name)])

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]

    @property
    def saves_adapter(self) -> bool:
        return self.method in ADAPTER_METHODS

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"learning_rate": self.learning_rate}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def load_train_config(path: Path, base: TrainConfig | None = None) -> TrainConfig:
    """Settings from a TOML file: its [finetune] table, or its top-level keys.

    Relative data paths are read relative to the file, so a preset travels with its data.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML ({err})") from err
    values = data.get("finetune", data)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for key in ("data", "eval_data"):
        if key in values:
            files = [values[key]] if isinstance(values[key], str) else values[key]
            values[key] = [str(path.parent / f) if not Path(f).is_absolute() else f for f in files]
    try:
        return dataclasses.replace(base or TrainConfig(), **values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from err


def presets() -> dict[str, Path]:
    """Ready-made settings shipped in finetune/presets/: name → file."""
    return {p.stem: p for p in sorted(PRESETS_DIR.glob("*.toml"))}
