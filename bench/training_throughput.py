"""Training throughput and peak memory: our QLoRA and LoRA training against TRL's SFTTrainer defaults.

Same data (SQuAD questions with their paragraph as context → the answer, as chat messages), same
base model (in 4-bit NF4 for QLoRA) with the same LoRA (r=16, all linear layers), same batch size,
same number of steps, in the same run:
- ours: `finetune.train.train` (our tokenization, assistant-only loss, padding-free rows; on CUDA
  bf16, flash-attn/SDPA, Liger when installed, gradient checkpointing only when memory asks for it);
- peer: `trl.SFTTrainer` with its default arguments (padding, no packing), given the same LoRA
  config and the same examples as a conversational dataset.
Tokens/s counts non-padding tokens only, from the first step after WARMUP steps to the last, so
model loading and data preparation are left out. Each configuration runs in its own process, so its
peak memory (CUDA max allocated, or peak RSS on the CPU) is its own.

Models: the embedded SmolLM2-135M-Instruct and Llama-shaped models with random weights and
SmolLM2's tokenizer (no hub needed): ~0.5B on the CPU, ~1.1B (Llama-3.2-1B's shape) on a GPU. On the
CPU, steps are few (BENCH_TRAIN_STEPS) because they are slow, and only QLoRA is measured.
On CUDA the results go to bench/results/gpu.{json,md} (bench/gpu_check.sh runs it there).

    python -m bench.training_throughput            # CPU: both models, QLoRA, ours and TRL
    BENCH_TRAIN_MODELS=smollm2 BENCH_TRAIN_METHODS=qlora,lora python -m bench.training_throughput
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

NAME = "training_throughput"
WARMUP = 1
GPU_TARGET = 1.5
LLAMA_SHAPES = {
    "llama-0.5b": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=28, num_attention_heads=16,
                       num_key_value_heads=4, max_position_embeddings=2048, tie_word_embeddings=True),
    # Llama-3.2-1B's shape with SmolLM2's 49k vocabulary: 1.1B parameters.
    "llama-1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                     num_key_value_heads=8, max_position_embeddings=4096, tie_word_embeddings=True),
    # Llama-3.2-3B's shape: 3.1B parameters.
    "llama-3b": dict(hidden_size=3072, intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
                     num_key_value_heads=8, max_position_embeddings=4096, tie_word_embeddings=True),
}


def squad_messages(limit: int) -> list[dict]:
    """Chat examples from real SQuAD: the paragraph and question in, the first answer out."""
    data = json.loads((_report.data_dir() / "squad" / "dev-v2.0-first5.json").read_text())
    examples = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                examples.append({"messages": [
                    {"role": "user", "content": f"{paragraph['context']}\n\nQuestion: {qa['question']}"},
                    {"role": "assistant", "content": qa["answers"][0]["text"]}]})
    return examples[:limit]


def tokenizer_folder() -> str:
    """SmolLM2's tokenizer: $ASSISTANT_TINY_TOKENIZER (a GPU machine without the embedded model), else the embedded model's."""
    from lm.models import resolve_model

    return os.environ.get("ASSISTANT_TINY_TOKENIZER") or resolve_model("smollm2-135m-instruct").location


def build_model(name: str, folder: Path) -> str:
    """A model spec for `name`: the embedded model as is, or a random Llama of LLAMA_SHAPES saved in `folder`.

    Without the embedded model (bench/gpu_check.sh's machine) "smollm2" is SmolLM2-135M's shape with random
    weights, from the config.json beside $ASSISTANT_TINY_TOKENIZER: tokens/s and memory are the same.
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    carried = os.environ.get("ASSISTANT_TINY_TOKENIZER")
    if name == "smollm2":
        if not carried:
            return "smollm2-135m-instruct"
        tokenizer = AutoTokenizer.from_pretrained(carried)
        config = AutoConfig.from_pretrained(carried)
    else:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder())
        config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                             eos_token_id=tokenizer.eos_token_id, **LLAMA_SHAPES[name])
    torch.manual_seed(0)
    with torch.device("meta"):
        LlamaForCausalLM(config)  # fail fast on a bad shape before allocating
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


class Timer:
    """(time, non-padding tokens seen) at the end of every optimiser step."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []

    def rate(self) -> float:
        (t0, n0), (t1, n1) = self.marks[WARMUP - 1], self.marks[-1]
        return (n1 - n0) / (t1 - t0)


def run_ours(spec: str, method: str, data: Path, steps: int, batch: int, out: Path) -> dict:
    from finetune.config import TrainConfig
    from finetune.train import TrainHooks, train

    timer = Timer()
    hooks = TrainHooks(on_metrics=lambda row: timer.marks.append((time.perf_counter(), row["tokens_seen"]))
                       if "tokens_seen" in row else None)
    train(TrainConfig(base=spec, method=method, data=[str(data)], output=str(out / "ours"), max_steps=steps,
                      batch_size=batch, logging_steps=1, eval_split=0, save_steps=10_000, max_length=1024),
          out / "project", hooks=hooks)
    return {"tokens_per_second": timer.rate(), "steps": len(timer.marks)}


def run_trl(spec: str, method: str, data: Path, steps: int, batch: int, out: Path) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from lm.models import load_model

    loaded = load_model(spec, load_in_4bit=method == "qlora")
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    timer = Timer()

    class Marks(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            timer.marks.append((time.perf_counter(), state.num_input_tokens_seen))

    on_cuda = torch.cuda.is_available()
    args = SFTConfig(output_dir=str(out / "trl"), max_steps=steps, per_device_train_batch_size=batch,
                     report_to="none", save_strategy="no", use_cpu=not on_cuda, bf16=on_cuda,
                     include_num_input_tokens_seen="non_padding", disable_tqdm=True)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=loaded.model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=loaded.tokenizer, peft_config=lora, callbacks=[Marks()])
    trainer.train()
    return {"tokens_per_second": timer.rate(), "steps": len(timer.marks)}


def peak_memory_mb() -> float:
    from finetune.callbacks import memory_mb

    return memory_mb()


def one(which: str, model: str, method: str, steps: int, batch: int, data: Path, work: Path) -> None:
    """Child process: one configuration; prints its result as JSON on the last line."""
    import torch

    random_weights = model != "smollm2" or "ASSISTANT_TINY_TOKENIZER" in os.environ
    if random_weights and (work / "model" / "config.json").exists():  # the random model an earlier run saved
        spec = str(work / "model")
    else:
        spec = build_model(model, work / "model")
    result = (run_ours if which == "ours" else run_trl)(spec, method, data, steps, batch, work / f"{method}-{which}")
    result |= {"weights": "random" if random_weights else "trained", "peak_memory_mb": peak_memory_mb(),
               "device": "cuda" if torch.cuda.is_available() else "cpu", "threads": torch.get_num_threads(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    print(json.dumps(result))


def main() -> None:
    on_cuda = _cuda_available()
    models = os.environ.get("BENCH_TRAIN_MODELS", "smollm2,llama-1b" if on_cuda else "smollm2,llama-0.5b").split(",")
    methods = os.environ.get("BENCH_TRAIN_METHODS", "qlora,lora" if on_cuda else "qlora").split(",")
    steps = int(os.environ.get("BENCH_TRAIN_STEPS", "30" if on_cuda else "4"))
    batch = int(os.environ.get("BENCH_TRAIN_BATCH", "8" if on_cuda else "4"))
    limit = float(os.environ.get("BENCH_TRAIN_CHILD_SECONDS", "900"))
    unknown = [m for m in models if m != "smollm2" and m not in LLAMA_SHAPES]
    if unknown:
        raise SystemExit(f"BENCH_TRAIN_MODELS: unknown {', '.join(unknown)}; known: smollm2, {', '.join(LLAMA_SHAPES)}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "squad-chat.jsonl"
        # Enough examples that neither side runs out within `steps` (packing needs fewer rows).
        data.write_text("".join(json.dumps(e) + "\n" for e in squad_messages(steps * batch * 2)))
        for model in models:
            for method in methods:
                for which in ("ours", "trl"):
                    folder = work / model
                    folder.mkdir(exist_ok=True)
                    began = time.perf_counter()
                    key = f"{model}/{method}/{which}"
                    try:
                        child = subprocess.run([sys.executable, "-m", "bench.training_throughput", "--one", which,
                                                model, method, str(steps), str(batch), str(data), str(folder)],
                                               capture_output=True, text=True, timeout=limit,
                                               cwd=Path(__file__).resolve().parents[1])
                    except subprocess.TimeoutExpired:
                        child = subprocess.CompletedProcess([], 124, "", f"timed out after {limit:.0f} s")
                    if child.returncode != 0:  # one failure must not cost the other figures of a short GPU lease
                        results[key] = {"error": child.stderr[-3000:]}
                        print(f"{key} failed:\n{child.stderr[-3000:]}", file=sys.stderr, flush=True)
                        continue
                    results[key] = json.loads(child.stdout.strip().splitlines()[-1]) | {
                        "wall_seconds": round(time.perf_counter() - began, 1)}
                    print(key, results[key], flush=True)
    rows, checks = [], []
    for model in models:
        for method in methods:
            ours, trl = results[f"{model}/{method}/ours"], results[f"{model}/{method}/trl"]
            if "error" in ours or "error" in trl:
                failed = ", ".join(side for side, r in (("ours", ours), ("TRL", trl)) if "error" in r)
                rows.append([model, method, "—", None, None, None, None, None, f"{failed} failed"])
                continue
            speedup = ours["tokens_per_second"] / trl["tokens_per_second"]
            memory = ours["peak_memory_mb"] / trl["peak_memory_mb"]
            rows.append([model, method, ours["device"], ours["tokens_per_second"], trl["tokens_per_second"], speedup,
                         ours["peak_memory_mb"], trl["peak_memory_mb"], memory])
            if ours["device"] == "cuda":
                checks.append([f"{model} {method}: ≥ {GPU_TARGET}× TRL-default tokens/s at no more peak memory",
                               f"{speedup:.2f}×, memory {memory:.2f}×", speedup >= GPU_TARGET and memory <= 1.0])
    done = [r for r in results.values() if "error" not in r]
    if not done:
        raise SystemExit("every configuration failed; see the errors above")
    first = done[0]
    device = first["device"] if first["device"] == "cpu" else f"cuda ({first['gpu']})"
    markdown = "\n\n".join([
        f"## Training throughput: ours vs TRL SFTTrainer defaults on {device}",
        f"QLoRA: NF4 base, LoRA r=16 all-linear; LoRA: the same adapter over a bf16/fp32 base. {steps} steps of "
        f"batch {batch} on SQuAD chat examples; tokens/s of non-padding tokens after {WARMUP} warm-up step; "
        f"each run in its own process. Measured {time.strftime('%Y-%m-%d')}.",
        _report.table(["model", "method", "device", "ours tok/s", "TRL tok/s", "speed-up", "ours peak MB",
                       "TRL peak MB", "memory ratio"], rows),
        "Weights: " + ", ".join(sorted({f"{k.split('/')[0]} {r['weights']}" for k, r in results.items()
                                       if "weights" in r})) + " (random weights train as fast as trained ones).",
        _report.table(["target", "value", "pass"], checks) if checks else
        f"The {GPU_TARGET}× target is for a GPU; none was lent to this run, so this is the CPU measurement.",
    ])
    name = "gpu" if on_cuda else NAME
    _report.write(name, {"results": results, "steps": steps, "batch": batch, "models": models, "methods": methods,
                         "gpu": first.get("gpu"), "environment": _report.environment()}, markdown)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        which, model, method, steps, batch, data, work = sys.argv[2:9]
        one(which, model, method, int(steps), int(batch), Path(data), Path(work))
    else:
        main()
