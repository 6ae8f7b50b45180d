"""Side-by-side answers: every question in every mode, scored, summarised and saved.

    helper = Assistant(config)
    result = compare(load_questions("qa.jsonl"), helper, CompareConfig(collection="docs", adapter="run1"))
    result.summary["rag"]["f1"]          # CI(mean=0.41, low=0.35, high=0.47, n=120)
    save_compare(result, experiments_dir(config.project_dir) / "docs-v1")

Each mode answers every question with the same generation settings and seed. What a folder holds:

    <project_dir>/experiments/<name>/
        report.md      summary table (mean [95% CI] per metric and mode), chart, answers side by side
        results.json   manifest, summary and every row, readable by `load_compare`
        rows.jsonl     one line per (question, mode)
        metrics.png    grouped bars, metric × mode, with CI error bars
        manifest.json  model, adapters, collection, question file hash, generation settings, versions, seed

The TUI's Compare screen calls `compare` with one question: nothing is written unless
`save_compare` is called, and models stay loaded in the `Assistant` between calls.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from core.errors import ConfigError
from core.files import atomic_write_json, atomic_write_text, write_jsonl
from finetune.runs import file_hash
from finetune.train import versions
from lm.models import ModelError
from lm.questions import QAPair, source_matches

from ..answering.citations import strip_citations
from ..config import MODES, RAG_MODES, SFT_MODES
from .metrics import CI, METRICS, bootstrap_ci, contains_answer, exact_match, faithfulness, rouge_l, token_f1
from .report import markdown_report, plot_metrics
from .results import CompareResult, Progress, Row, SourceRef


Judge = Callable[[str, Sequence[str]], "float | None"]
"""(answer, retrieved texts) → faithfulness in [0, 1]; an NLI model or an LLM judge can stand in for
the default token-support score."""


def parse_modes(text: str) -> tuple[str, ...]:
    """ "base, rag+sft" → ("base", "rag+sft"); raises ValueError naming an unknown mode."""
    modes = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ConfigError(f"unknown mode(s) {', '.join(unknown) or '(none)'}: choose from {','.join(MODES)}")
    return modes


@dataclass
class CompareConfig:
    modes: tuple[str, ...] = MODES
    """Modes to answer in, in this order: base, rag, sft, rag+sft."""
    collection: str | None = None
    """Collection for the rag modes; default: the [chat] collection."""
    adapter: str | None = None
    """Adapter (run name or folder) for the sft modes; default: the [chat] adapter."""
    adapters: dict[str, str] = field(default_factory=dict)
    """Per-mode adapters that override `adapter`: {"sft": "plain-run", "rag+sft": "raft-run"}."""
    limit: int | None = None
    """Ask only the first N questions."""
    name: str | None = None
    """Folder name under <project_dir>/experiments/; default compare-<date>-<time>."""
    question_file: str | None = None
    """The file the questions came from, recorded with its sha256 in the manifest."""
    confidence: float = 0.95
    resamples: int = 1000
    """Bootstrap resamples for the confidence intervals."""
    seed: int = 0
    """Seeds the bootstrap (generation uses the [generation] seed)."""
    warmup: bool | None = None
    """Answer the first question once, unscored, before each mode, so that one-time costs (an
    adapter's first forward pass) stay out of its latency. None: only for more than one question."""

    def __post_init__(self) -> None:
        if isinstance(self.modes, str):
            self.modes = parse_modes(self.modes)
        parse_modes(",".join(self.modes))
        stray = sorted(set(self.adapters) - set(SFT_MODES))
        if stray:
            raise ConfigError(f"adapters given for {', '.join(stray)}: only {' and '.join(SFT_MODES)} use one")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1, not {self.limit}")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"confidence must be between 0 and 1, not {self.confidence}")

    def adapter_for(self, mode: str) -> str | None:
        return self.adapters.get(mode, self.adapter) if mode in SFT_MODES else None


# ------------------------------------------------------------------------------------ scoring

def scored_text(answer) -> str:
    """The answer as a reader takes it, which is what EM, F1 and ROUGE-L judge: no [n] markers, no
    heading path or record id in front of a quoted passage ("Computational_complexity_theory: …"),
    no elision marks at its ends. The rag answer scored EM 0 everywhere with them.

    >>> from types import SimpleNamespace as S
    >>> chunk = S(title_path=("Normans",), source="paragraphs.jsonl", locator="Normans_3")
    >>> scored_text(S(text="Normans_3: …in 911 [1].", sources=[S(chunk=chunk)]))
    'in 911.'
    >>> scored_text(S(text="**Normans**\\n\\nThey came in 911. [1]", sources=[S(chunk=chunk)]))
    'They came in 911.'
    """
    labels = {label for source in answer.sources for label in
              (" > ".join(source.chunk.title_path), *source.chunk.title_path, source.chunk.locator,
               Path(source.chunk.source).stem) if label}
    text = answer.text.strip()
    first, _, rest = text.partition("\n")
    if rest and first.strip("*#_ ") in labels:  # a heading line over a passage ("**Network**")
        text = rest
    text = strip_citations(text)
    for label in sorted(labels, key=len, reverse=True):
        if text.startswith(label + ":"):
            text = text[len(label) + 1 :]
            break
    return re.sub(r"\s+([.,;:!?])", r"\1", text.strip().strip("…").strip())


def score(pair: QAPair, answer, judge: Judge | None = None) -> dict[str, float | None]:
    """Every metric for one `Answer` to `pair`; None where it does not apply (no reference
    answers, no gold source, or no retrieval in this mode)."""
    text = scored_text(answer)
    answers = pair.answers
    retrieved = answer.mode in RAG_MODES
    gold = [source_matches(s.chunk, pair.source) for s in answer.sources] if retrieved and pair.source else None
    contexts = [s.chunk.text for s in answer.sources] if retrieved else None
    generation = answer.generation
    return {
        "exact_match": exact_match(text, answers) if answers else None,
        "f1": token_f1(text, answers) if answers else None,
        "rouge_l": rouge_l(text, answers) if answers else None,
        "contained": contains_answer(text, answers) if answers else None,
        "hit_rate": float(any(gold)) if gold is not None else None,
        "citation_accuracy": (float(any(g and s.cited for g, s in zip(gold, answer.sources)))
                              if gold is not None else None),
        "faithfulness": (judge or faithfulness)(answer.text, contexts) if contexts else None,
        "supported": float(answer.supported) if answer.supported is not None else None,
        "abstention": float(answer.abstained) if retrieved and not pair.answerable else None,
        "false_abstention": float(answer.abstained) if retrieved and pair.answerable else None,
        "length": float(len(text.split())),
        "latency": answer.retrieval_seconds + generation.seconds,
        "tokens_per_second": generation.tokens_per_second or None,
    }


def make_row(pair: QAPair, answer, judge: Judge | None = None) -> Row:
    refs = tuple(SourceRef(s.number, s.chunk.source, s.chunk.locator, s.chunk.heading(), s.cited,
                           source_matches(s.chunk, pair.source) if pair.source else None) for s in answer.sources)
    return Row(pair.id, pair.question, answer.mode, answer.text, pair.answers, pair.source, refs,
               score(pair, answer, judge), answer.adapter, answer.generation.new_tokens,
               tuple(e.to_json() for e in answer.evidence), answer.supported, answer.abstained)


def summarize(rows: Sequence[Row], modes: Sequence[str], confidence: float = 0.95, resamples: int = 1000,
              seed: int = 0) -> dict[str, dict[str, CI]]:
    """mode → metric → CI over the rows that have a value for it."""
    summary: dict[str, dict[str, CI]] = {}
    for mode in modes:
        mine = [row for row in rows if row.mode == mode]
        summary[mode] = {}
        for metric in METRICS:
            ci = bootstrap_ci([r.metrics.get(metric.key) for r in mine], confidence, resamples, seed)
            if ci is not None:
                summary[mode][metric.key] = ci
    return summary


def difference(result: CompareResult, better: str, worse: str, metric: str = "f1", resamples: int = 1000,
               seed: int = 0) -> CI | None:
    """Paired difference `better` − `worse` over the questions both answered, with a bootstrap CI."""
    values = {mode: {r.id: r.metrics.get(metric) for r in result.rows if r.mode == mode} for mode in (better, worse)}
    paired = [a - values[worse][q] for q, a in values[better].items()
              if a is not None and values[worse].get(q) is not None]
    return bootstrap_ci(paired, resamples=resamples, seed=seed)


# ------------------------------------------------------------------------------------ running

def check_modes(config: CompareConfig, assistant) -> dict[str, str | None]:
    """Fail before any answer when a mode lacks what it needs; returns mode → adapter folder."""
    chat = assistant.config.chat
    adapters = {}
    for mode in config.modes:
        wanted = config.adapter_for(mode) or (chat.adapter if mode in SFT_MODES else None)
        if mode in SFT_MODES and not wanted:
            flag = "--sft-adapter" if mode == "sft" else "--raft-adapter"
            raise ModelError(f"mode {mode} needs a fine-tuned adapter: pass --adapter RUN (or {flag} RUN), "
                             f"or leave {mode} out of --modes")
        adapters[mode] = assistant.adapter_path(wanted) if wanted else None
    if any(mode in RAG_MODES for mode in config.modes):
        assistant.retriever(config.collection or chat.collection)  # a missing collection fails now
    return adapters


def build_manifest(assistant, config: CompareConfig, adapters: dict, questions: int) -> dict:
    cfg = assistant.config
    collection = None
    if any(mode in RAG_MODES for mode in config.modes):
        name = config.collection or cfg.chat.collection
        built = assistant.retriever(name).manifest
        collection = {"name": name, "embedder": built.embedder, "counts": {"files": len(built.files),
                                                                           "chunks": built.chunks},
                      "updated": built.updated}
    source = None
    if config.question_file:
        path = Path(config.question_file)
        source = {"file": str(path.resolve()), "sha256": file_hash(path) if path.is_file() else None}
    return {"name": config.name or f"compare-{datetime.now().strftime('%Y%m%d-%H%M%S')}",
            "created": datetime.now().isoformat(timespec="seconds"), "modes": list(config.modes),
            "model": cfg.model.name, "model_settings": dataclasses.asdict(cfg.model), "adapters": adapters,
            "collection": collection, "questions": {"count": questions, **(source or {})},
            "generation": dataclasses.asdict(cfg.generation), "retrieval": dataclasses.asdict(cfg.retrieval),
            "sources": cfg.chat.sources, "seed": cfg.generation.seed,
            "bootstrap": {"confidence": config.confidence, "resamples": config.resamples, "seed": config.seed},
            "versions": versions()}


def compare(questions: Sequence[QAPair], assistant, config: CompareConfig | None = None,
            on_progress: Callable[[Progress], None] | None = None, stop: threading.Event | None = None, *,
            on_token: Callable[[str, str], None] | None = None, judge: Judge | None = None) -> CompareResult:
    """Answer each question in each mode with `assistant` (an `answer.Assistant`) and score it.

    Modes run one after another over all questions, so each adapter is loaded once.
    `on_progress` hears each finished row; `on_token(mode, text)` hears the text as it streams;
    setting `stop` ends the run after the current token, keeping only finished rows.
    Raises ModelError / StoreError before any answer when an adapter or collection is missing.
    """
    config = config or CompareConfig()
    pairs = list(questions)[: config.limit]
    adapters = check_modes(config, assistant)
    manifest = build_manifest(assistant, config, adapters, len(pairs))
    collection = config.collection or assistant.config.chat.collection
    rows: list[Row] = []
    total, stopped, began = len(pairs) * len(config.modes), False, time.perf_counter()
    for mode in config.modes:
        stream = (lambda text, mode=mode: on_token(mode, text)) if on_token else None
        if pairs and (config.warmup if config.warmup is not None else len(pairs) > 1):
            assistant.answer(pairs[0].question, mode, collection=collection, adapter=adapters[mode], stop=stop)
        for pair in pairs:
            if stop is not None and stop.is_set():
                stopped = True
                break
            answer = assistant.answer(pair.question, mode, collection=collection, adapter=adapters[mode],
                                      on_token=stream, stop=stop)
            if answer.generation.stopped:
                stopped = True
                break
            rows.append(make_row(pair, answer, judge))
            if on_progress:
                on_progress(Progress(len(rows), total, rows[-1]))
        if stopped:
            break
    summary = summarize(rows, config.modes, config.confidence, config.resamples, config.seed)
    return CompareResult(rows, summary, tuple(config.modes), manifest, time.perf_counter() - began, stopped)


# ------------------------------------------------------------------------------------ saving

def save_compare(result: CompareResult, folder: Path, against: CompareResult | None = None, notes: str = "") -> Path:
    """Write report.md, results.json, rows.jsonl, metrics.png and manifest.json into `folder`;
    `against` adds a saved run's means to the report's table, `notes` a paragraph under it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "manifest.json", result.manifest)
    atomic_write_json(folder / "results.json", result.to_json())
    write_jsonl(folder / "rows.jsonl", (r.to_json() for r in result.rows))
    plot_metrics(result, folder / "metrics.png")
    atomic_write_text(folder / "report.md", markdown_report(result, against, notes))
    return folder


__all__ = ["CompareConfig", "Judge", "compare", "difference", "make_row", "parse_modes", "save_compare", "score",
           "summarize"]
