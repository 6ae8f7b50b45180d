"""Where the RAG-vs-SFT study's training time goes on a CPU, and what the CPU defaults are chosen from.

The study (`assistant experiment squad`) trains two LoRA adapters on the embedded SmolLM2-135M:
plain SFT (question → answer, ~60 tokens an example) and RAFT (the rag+sft prompt → answer). Its
time is training tokens over training speed. This measures both factors on the study's own data:
- tokens per RAFT example, for the whole-chunk prompt (the oracle among 2 retrieved distractors,
  what RAFT was trained on before) and for the prompt a small model is sent in rag+sft now (its
  best sentences of the oracle among 7 retrieved chunks);
- tokens/s of a few optimiser steps (after WARMUP) for LoRA with and without gradient
  checkpointing and for QLoRA (4-bit base), each in its own process so its peak memory is its own.

    python -m bench.study_profile            # ~8 min on 2 cores
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _report

NAME = "study_profile"
WARMUP = 1
STEPS = 4
QUESTIONS = 40
RUNS = [  # (prompt, method, gradient checkpointing)
    ("chunks", "lora", True), ("grounded", "lora", True), ("grounded", "lora", False), ("grounded", "qlora", True),
]


def build_data(work: Path) -> dict[str, dict]:
    """RAFT examples of both prompt shapes for the first QUESTIONS answerable SQuAD questions."""
    from assistant.answering import raft_asking
    from assistant.config import Config
    from assistant.evaluation.experiment import index_paragraphs
    from core.files import write_jsonl
    from finetune.raft import RaftConfig, build_raft, write_examples_jsonl
    from index.retriever import open_collection
    from lm.questions import load_squad
    from finetune.config import TrainConfig
    from finetune.prepare import load_tokenizer

    data = load_squad(_report.data_dir() / "squad" / "dev-v2.0-first5.json", None)
    settings = Config(project_dir=work / "project")
    index_paragraphs(write_jsonl(work / "paragraphs.jsonl", (p._asdict() for p in data.paragraphs)),
                     settings.project_dir, "squad", settings)
    retriever = open_collection(settings.project_dir, "squad")
    pairs = data.pairs[:QUESTIONS]
    tokenizer = load_tokenizer(TrainConfig(base=settings.model.name))
    shapes = {"chunks": (RaftConfig(distractors=2), None),
              "grounded": (RaftConfig(distractors=7), raft_asking(settings, settings.model.name, "squad"))}
    out = {}
    for shape, (config, asking) in shapes.items():
        built = build_raft(pairs, retriever, config, asking=asking)
        path = write_examples_jsonl(built.examples, work / f"raft-{shape}.jsonl")
        lengths = [len(tokenizer(tokenizer.apply_chat_template(list(e.messages), tokenize=False))["input_ids"])
                   for e in built.examples]
        out[shape] = {"file": str(path), "examples": len(lengths), "mean_tokens": sum(lengths) / len(lengths)}
    return out


def one(data: Path, method: str, checkpointing: bool, work: Path) -> None:
    """Child process: STEPS optimiser steps; prints tokens/s and peak memory as JSON on the last line."""
    import torch

    from finetune.callbacks import memory_mb
    from finetune.config import TrainConfig
    from finetune.train import TrainHooks, train

    marks: list[tuple[float, int]] = []
    hooks = TrainHooks(on_metrics=lambda row: marks.append((time.perf_counter(), row["tokens_seen"]))
                       if "tokens_seen" in row else None)
    train(TrainConfig(method=method, data=[str(data)], output=str(work / "out"), max_steps=STEPS, batch_size=4,
                      logging_steps=1, eval_split=0, save_steps=10_000, max_length=1024,
                      gradient_checkpointing=checkpointing), work / "project", hooks=hooks)
    (t0, n0), (t1, n1) = marks[WARMUP - 1], marks[-1]
    print(json.dumps({"tokens_per_second": (n1 - n0) / (t1 - t0), "seconds_per_step": (t1 - t0) / (len(marks) - WARMUP),
                      "peak_memory_mb": memory_mb(), "threads": torch.get_num_threads()}))


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shapes = build_data(work)
        for shape, method, checkpointing in RUNS:
            began = time.perf_counter()
            child = subprocess.run([sys.executable, "-m", "bench.study_profile", "--one", shapes[shape]["file"], method,
                                    str(checkpointing), str(work / f"{shape}-{method}-{checkpointing}")],
                                   capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            if child.returncode:
                raise SystemExit(f"{shape} {method}: {child.stderr[-2000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            # a study's RAFT run: its examples × tokens each × 2 epochs, at this speed
            minutes = 100 * shapes[shape]["mean_tokens"] * 2 / result["tokens_per_second"] / 60
            rows.append({"prompt": shape, "method": method, "checkpointing": "on" if checkpointing else "off",
                         "tokens_per_example": round(shapes[shape]["mean_tokens"]), **result,
                         "raft_minutes_100q_2ep": minutes, "wall_seconds": time.perf_counter() - began})
            print(rows[-1], flush=True)
    columns = ["prompt", "method", "checkpointing", "tokens_per_example", "tokens_per_second", "seconds_per_step",
               "peak_memory_mb", "raft_minutes_100q_2ep"]
    table = _report.table(columns, [[row[c] for c in columns] for row in rows])
    notes = (f"{STEPS} steps of batch 4 ({WARMUP} warm-up) on RAFT examples of the study's first {QUESTIONS} SQuAD "
             f"questions, SmolLM2-135M, LoRA r=16 all-linear; `raft_minutes_100q_2ep` is the full study's RAFT "
             f"run (100 questions, 2 epochs) at that speed. Machine load: {os.getloadavg()[0]:.2f} at the end.")
    _report.write(NAME, {"rows": rows, "shapes": shapes}, f"## Where the study's training time goes (CPU)\n\n"
                 f"{notes}\n\n{table}\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(Path(sys.argv[2]), sys.argv[3], sys.argv[4] == "True", Path(sys.argv[5]))
    else:
        main()
