"""Stage 1 of training: everything that can be wrong with the data is found here, before any
model is loaded. Read (formats, RAFT examples from a collection), check, de-duplicate, split,
then tokenize with the base model's tokenizer.

    config = TrainConfig(data=["faq.jsonl"])
    data = read_data(config, Path(".assistant"))     # ReadData(train=[...], eval=[...], files=[...])
    prepared = tokenize_data(config, data, load_tokenizer(config))
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from finetune.config import TrainConfig
from finetune.runs import file_hash
from finetune.types import DataError, Example
from finetune.cleaning import CleanConfig, clean_files
from finetune.data import load_examples, split_examples
from finetune.raft import RaftAsking, RaftConfig, raft_from_files
from index.store import Collection
from finetune.tokenize import summarize, tokenize_all
from lm.models import resolve_model
from core.logs import quiet_transformers


@dataclass
class PreparedData:
    train: list
    eval: list
    summary: object
    files: list[dict]
    bad: int = 0
    duplicates: int = 0


@dataclass
class TrainingExamples:
    """What the data files of one role (training or eval) gave."""

    examples: list[Example]
    bad: int = 0
    """Bad records skipped (--skip-bad)."""
    duplicates: int = 0
    formats: dict[str, str] = dataclasses.field(default_factory=dict)
    """File → the format it was read in."""
    cleaned: dict = dataclasses.field(default_factory=dict)
    """With config.clean: records per cleaning step."""
    files: list = dataclasses.field(default_factory=list)
    """Each file's FileData (finetune/data.py)."""


def load_training_examples(config: TrainConfig, project_dir: Path, files: list[str],
                           held: list | None = None, raft_asking: RaftAsking | None = None) -> TrainingExamples:
    """Examples from data files, or RAFT data from QA files (searched and prompted as `raft_asking`
    says, else by the rules and whole chunks). With config.clean, `held` (eval FileData) are the
    records training may not overlap."""
    if config.raft:
        return TrainingExamples(_raft_examples(config, project_dir, files, raft_asking),
                                formats={str(f): "raft" for f in files})
    loaded = load_examples([Path(f) for f in files], config.format, text_field=config.text_field,
                           task_prompt=config.task_prompt, skip_bad=config.skip_bad, columns=config.columns)
    examples, duplicates, cleaned = loaded.examples, loaded.duplicates, {}
    if config.clean:
        result = clean_files(loaded.files, CleanConfig(columns=config.columns), held or [])
        examples, cleaned = result.examples, dict(result.counts())
        duplicates = cleaned.pop("duplicate", 0)
        if not examples:
            raise DataError("cleaning left no training examples; see `assistant data clean` for what it removed")
    if config.train_on == "last":
        examples = [example.last_turn_only() for example in examples]
    return TrainingExamples(examples, len(loaded.bad), duplicates, loaded.formats, cleaned, loaded.files)


def _raft_examples(config: TrainConfig, project_dir: Path, files: list[str],
                   asking: RaftAsking | None) -> list[Example]:
    if not config.collection:
        raise DataError("--raft needs --collection: the collection the questions are answered from")
    raft = raft_from_files(files, project_dir, config.collection, RaftConfig(
        distractors=config.raft_distractors, oracle_share=config.raft_oracle_share, seed=config.seed), asking)
    if not raft.examples:
        reason = raft.skipped[0].reason if raft.skipped else "no questions"
        raise DataError(f"no RAFT example could be built from {', '.join(map(str, files))}: {reason} "
                        f"(first of {len(raft.skipped)} skipped); check that the answers appear word for word "
                        f"in collection {config.collection!r}, or index the documents that hold them")
    return raft.examples


@dataclass
class ReadData:
    """Training (and evaluation) examples, read and checked; no model was needed for them."""

    train: list[Example]
    eval: list[Example]
    files: list[dict]
    bad: int = 0
    duplicates: int = 0
    collection: dict | None = None
    """RAFT: the collection version the examples were retrieved from."""
    cleaned: dict = dataclasses.field(default_factory=dict)
    """With config.clean: records per cleaning step ({"near duplicate": 2, "personal data": 1})."""


def read_data(config: TrainConfig, project_dir: Path, raft_asking: RaftAsking | None = None) -> ReadData:
    """Read, validate, de-duplicate and split the data; a DataError (naming file:line) comes
    before any model or tokenizer is loaded, so a broken line is reported in a second, not after
    the base model's first conversion. `raft_asking`: how RAFT examples are searched and prompted."""
    if not config.data:
        raise DataError("no training data: pass --data FILE (JSON, JSONL, CSV, Parquet, a datasets folder, text)")
    held = load_training_examples(dataclasses.replace(config, clean=False), project_dir, config.eval_data,
                                  raft_asking=raft_asking) if config.eval_data else TrainingExamples([])
    train = load_training_examples(config, project_dir, config.data, held.files, raft_asking)
    formats = {**train.formats, **held.formats}
    examples, eval_examples = (train.examples, held.examples) if config.eval_data \
        else split_examples(train.examples, config.eval_split, config.seed)
    files = [{"path": str(Path(f).resolve()), "sha256": file_hash(Path(f)), "role": role,
              "format": formats.get(str(f), formats.get(str(Path(f)), "?"))}
             for role, group in (("train", config.data), ("eval", config.eval_data)) for f in group]
    return ReadData(examples, eval_examples, files, train.bad, train.duplicates, collection_snapshot(config, project_dir),
                    train.cleaned)


def collection_snapshot(config: TrainConfig, project_dir: Path) -> dict | None:
    """Which version of the collection a RAFT run's examples came from: {name, version, updated}."""
    if not (config.raft and config.collection):
        return None

    collection = Collection(project_dir, config.collection)
    return {"name": collection.name, "version": collection.version_dir().name, "updated": collection.manifest().updated}


def tokenize_data(config: TrainConfig, data: ReadData, tokenizer) -> PreparedData:
    """Tokenize read data with the base model's tokenizer; labels cover assistant turns only."""
    train_tokens = tokenize_all(data.train, tokenizer, config.max_length)
    eval_tokens = tokenize_all(data.eval, tokenizer, config.max_length)
    summary = dataclasses.replace(summarize(data.train, train_tokens, config.max_length), skipped=data.bad,
                                  duplicates=data.duplicates, cleaned=data.cleaned,
                                  files=tuple((f["path"], f["role"], f["format"]) for f in data.files))
    train_tokens = [t for t in train_tokens if t.trainable]
    eval_tokens = [t for t in eval_tokens if t.trainable]
    if not train_tokens:
        raise DataError("no example has an assistant answer left to train on after truncation; "
                        "raise --max-length or check the data")
    return PreparedData(train_tokens, eval_tokens, summary, data.files, data.bad, data.duplicates)


def prepare_data(config: TrainConfig, tokenizer, project_dir: Path) -> PreparedData:
    """Read, validate, de-duplicate, split and tokenize; raises DataError before any training."""
    return tokenize_data(config, read_data(config, project_dir), tokenizer)


def load_tokenizer(config: TrainConfig, on_message: Callable[[str], None] | None = None):
    """The base model's tokenizer (resolving the model converts the embedded one on first use)."""
    from transformers import AutoTokenizer


    with quiet_transformers():
        return AutoTokenizer.from_pretrained(resolve_model(config.base, on_message).location,
                                             trust_remote_code=config.trust_remote_code)
