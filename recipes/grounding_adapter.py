"""The grounded-answering adapter: a LoRA for the embedded model, trained RAFT-style on the exact
prompts that grounded RAG sends (excerpts of retrieved sources, distractors included), to answer
with the fact and its source number, or "I don't know." when the excerpts don't hold it.

Its training data ships with the project and shares no document with the evaluation sets:
finetune/grounding (a made-up company's documents and questions) and SQuAD 2.0 articles 1-4 of
../shared/data/squad (article 5 and bench/devset are held out for bench/answer_quality.py).

    python -m recipes.grounding_adapter          # build the data, train (~15 min on 2 cores), install

It writes the adapter into lm/adapters/ (package data), where `lm.shipped.shipped_adapter`
finds it at run time.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from assistant.answering import Assistant
from assistant.config import Config
from assistant.evaluation.experiment import index_paragraphs
from assistant.evaluation.metrics import contains_answer
from core.files import atomic_write_json, staged_folder, write_jsonl
from finetune.config import TrainConfig
from finetune.runs import file_hash
from finetune.train import train
from index.build import build_collection
from index.store import Collection
from lm.questions import QAPair, load_questions, load_squad
from lm.shipped import ADAPTERS, FOR_MODEL

DONT_KNOW = "I don't know."
TRAINING_DOCS = Path(__file__).resolve().parents[1] / "finetune" / "grounding"
SQUAD_TRAIN_ARTICLES = 4


def target(pair: QAPair, shown: Sequence[str]) -> str:
    """What the model should answer, given the excerpts it is shown (numbered from 1): the gold
    answer with the number of the first excerpt holding it, else "I don't know.".

    >>> target(QAPair("Warranty?", ("30 months",)), ["Spare parts: 8 years.", "The element: 30 months."])
    '30 months [2].'
    """
    if pair.answerable and pair.answers:
        for number, text in enumerate(shown, start=1):
            if contains_answer(text, pair.answers):
                return f"{pair.answers[0]} [{number}]."
    return DONT_KNOW


def grounded_examples(pairs: Sequence[QAPair], helper, collection: str) -> list[dict]:
    """One OpenAI-messages record per question: the grounded RAG prompt that `helper.answer`
    would send (abstention off, so the model also learns to say it doesn't know), then `target`."""
    records = []
    for pair in pairs:
        plan = helper.plan(pair.question, "rag", collection=collection)
        shown = [chunk.text for chunk in plan.prompt.sources]
        records.append({"messages": plan.prompt.messages + [{"role": "assistant", "content": target(pair, shown)}]})
    return records


def _squad_training_pairs(path: Path, articles: int, answerable: int, unanswerable: int, seed: int):
    data = load_squad(path, articles)
    titles = {p.title for p in data.paragraphs}
    impossible = [q for q in load_questions(path, unanswerable=True) if not q.answerable and q.source in titles]
    rng = random.Random(seed)
    return data.paragraphs, rng.sample(data.pairs, min(answerable, len(data.pairs))) + \
        rng.sample(impossible, min(unanswerable, len(impossible)))


def build_training_data(project: Path, out: Path, squad_file: Path | None, seed: int = 0,
                        squad_answerable: int = 160, squad_unanswerable: int = 40) -> dict:
    """Index the training documents into `project`, write the grounded examples to `out` (JSONL)
    and return what went in (counts and files, for the adapter's manifest)."""
    config = Config(project_dir=project)
    # the adapter learns to write answers: the prompts a generating profile sends
    config.grounding = dataclasses.replace(config.grounding, min_relevance=0.0, adapter=False, answer="generate")
    helper = Assistant(config)
    build_collection([TRAINING_DOCS / "docs"], Collection(project, "grounding"))
    own = list(load_questions(TRAINING_DOCS / "questions.jsonl"))
    records = grounded_examples(own, helper, "grounding")
    inputs = {"grounding_questions": len(own)}
    if squad_file is not None and squad_file.is_file():
        paragraphs, pairs = _squad_training_pairs(squad_file, SQUAD_TRAIN_ARTICLES, squad_answerable,
                                                  squad_unanswerable, seed)
        index_paragraphs(write_jsonl(project / "paragraphs.jsonl", (p._asdict() for p in paragraphs)), project,
                         "squad-train", config)
        records += grounded_examples(pairs, helper, "squad-train")
        inputs |= {"squad_file": squad_file.name, "squad_articles": SQUAD_TRAIN_ARTICLES, "squad_questions": len(pairs)}
    random.Random(seed).shuffle(records)
    write_jsonl(out, records)
    answers = [r["messages"][-1]["content"] for r in records]
    return {**inputs, "examples": len(records), "dont_know": sum(a == DONT_KNOW for a in answers)}


def input_files(squad_file: Path | None) -> list[dict]:
    """Each file the training data was built from, with its SHA-256, for the manifest."""
    files = sorted(p for p in TRAINING_DOCS.rglob("*") if p.is_file() and p.name != "README.md")
    if squad_file is not None and squad_file.is_file():
        files.append(squad_file)
    root = TRAINING_DOCS.parents[1]
    return [{"path": str(f.relative_to(root)) if f.is_relative_to(root) else f.name, "sha256": file_hash(f)}
            for f in files]


def install(run_output: Path, manifest: dict, name: str = FOR_MODEL["smollm2-135m-instruct"]) -> Path:
    """Copy a finished run's adapter folder into the package, with `manifest` beside it, replacing
    any earlier one only once the new one is complete."""
    with staged_folder(ADAPTERS / name) as staging:
        for item in ("adapter_model.safetensors", "adapter_config.json"):
            shutil.copy2(run_output / item, staging / item)
        atomic_write_json(staging / "manifest.json", manifest)
    return ADAPTERS / name


def main(argv: list[str] | None = None) -> int:
    """`python -m recipes.grounding_adapter [SQUAD_FILE]`: SQuAD 2.0 articles for training (default:
    ../shared/data/squad/dev-v2.0-first5.json beside the repository; without it, only finetune/grounding)."""
    # The top 10 of SmolLM2-135M's 30 layers only, and 24 steps: about 15 minutes on 2 cores.
    settings = TrainConfig(base="smollm2-135m-instruct", method="lora", max_steps=24, batch_size=8, lr=5e-4,
                           lora_r=16, lora_alpha=32, max_length=512, eval_split=0.05, seed=0,
                           target_modules=r"re:.*layers\.(2\d)\.(self_attn|mlp)\.\w+_proj",
                           gradient_checkpointing=False, logging_steps=2, name="grounding")
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        data = project / "grounded.jsonl"
        argv = sys.argv[1:] if argv is None else argv
        squad = Path(argv[0]) if argv else TRAINING_DOCS.parents[2] / "shared" / "data" / "squad" / "dev-v2.0-first5.json"
        inputs = build_training_data(project, data, squad)
        print(f"{inputs['examples']} examples ({inputs['dont_know']} answer {DONT_KNOW!r})", file=sys.stderr)
        settings = dataclasses.replace(settings, data=[str(data)])
        result = train(settings, project)
        if result.status != "finished":
            print(f"training {result.status}; nothing installed", file=sys.stderr)
            return 1
        manifest = {"base": settings.base, "data": inputs, "files": input_files(squad),
                    "settings": dataclasses.asdict(settings) | {"data": ["grounded.jsonl (built, not kept)"]},
                    "metrics": result.metrics, "held_out": ["bench/devset", "SQuAD article 5 (Victoria_(Australia))"]}
        path = install(Path(result.output), manifest)
    print(f"installed {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
