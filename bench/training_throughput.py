"""Training throughput and peak memory: our QLoRA training against TRL's SFTTrainer defaults.

Same data (SQuAD questions with their paragraph as context → the answer, as chat messages), same
base model in 4-bit NF4 with the same LoRA (r=16, all linear layers), same batch size, same number
of steps, in the same run:
- ours: `finetune.train.train` (our tokenization, assistant-only loss, packing + padding-free rows);
- peer: `trl.SFTTrainer` with its default arguments (padding, no packing), given the same LoRA
  config and the same examples as a conversational dataset.
Tokens/s counts non-padding tokens only, from the first step after WARMUP steps to the last, so
model loading and data preparation are left out. Each configuration runs in its own process, so its
peak memory (CUDA max allocated, or peak RSS on the CPU) is its own.

Models: the embedded SmolLM2-135M-Instruct and a ~0.5B Llama-shaped model (random weights,
SmolLM2's tokenizer). On the CPU, steps are few (BENCH_TRAIN_STEPS) because they are slow.

    python -m bench.training_throughput            # both models, ours and TRL
    BENCH_TRAIN_MODELS=smollm2 python -m bench.training_throughput
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
LLAMA_05B = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=28, num_attention_heads=16,
                 num_key_value_heads=4, max_position_embeddings=2048, tie_word_embeddings=True)


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


def build_model(name: str, folder: Path) -> str:
    """A model spec for `name`: the embedded model as is, or a random ~0.5B Llama saved in `folder`."""
    if name == "smollm2":
        return "smollm2-135m-instruct"
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from lm.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct").location)
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, **LLAMA_05B)
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


def run_ours(spec: str, data: Path, steps: int, batch: int, out: Path) -> dict:
    from finetune.config import TrainConfig
    from finetune.train import TrainHooks, train

    timer = Timer()
    hooks = TrainHooks(on_metrics=lambda row: timer.marks.append((time.perf_counter(), row["tokens_seen"]))
                       if "tokens_seen" in row else None)
    train(TrainConfig(base=spec, method="qlora", data=[str(data)], output=str(out / "ours"), max_steps=steps,
                      batch_size=batch, logging_steps=1, eval_split=0, save_steps=10_000, max_length=1024),
          out / "project", hooks=hooks)
    return {"tokens_per_second": timer.rate(), "steps": len(timer.marks)}


def run_trl(spec: str, data: Path, steps: int, batch: int, out: Path) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from lm.models import load_model

    loaded = load_model(spec, load_in_4bit=True)
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


def one(which: str, model: str, steps: int, batch: int, data: Path, work: Path) -> None:
    """Child process: one configuration; prints its result as JSON on the last line."""
    import torch

    if model == "smollm2" or not (work / "model" / "config.json").exists():
        spec = build_model(model, work / "model")
    else:  # the peer reuses the random model the first run saved
        spec = str(work / "model")
    result = (run_ours if which == "ours" else run_trl)(spec, data, steps, batch, work / which)
    result |= {"peak_memory_mb": peak_memory_mb(), "device": "cuda" if torch.cuda.is_available() else "cpu",
               "threads": torch.get_num_threads()}
    print(json.dumps(result))


def main() -> None:
    models = os.environ.get("BENCH_TRAIN_MODELS", "smollm2,llama-0.5b").split(",")
    on_cuda = _cuda_available()
    steps = int(os.environ.get("BENCH_TRAIN_STEPS", "30" if on_cuda else "4"))
    batch = int(os.environ.get("BENCH_TRAIN_BATCH", "8" if on_cuda else "4"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "squad-chat.jsonl"
        # Enough examples that neither side runs out within `steps` (packing needs fewer rows).
        data.write_text("".join(json.dumps(e) + "\n" for e in squad_messages(steps * batch * 2)))
        for model in models:
            for which in ("ours", "trl"):
                folder = work / model
                folder.mkdir(exist_ok=True)
                began = time.perf_counter()
                child = subprocess.run([sys.executable, "-m", "bench.training_throughput", "--one", which, model,
                                        str(steps), str(batch), str(data), str(folder)],
                                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
                if child.returncode != 0:
                    raise SystemExit(f"{model}/{which} failed:\n{child.stderr[-3000:]}")
                results[f"{model}/{which}"] = json.loads(child.stdout.strip().splitlines()[-1]) | {
                    "wall_seconds": round(time.perf_counter() - began, 1)}
                print(model, which, results[f"{model}/{which}"], flush=True)
    rows, checks = [], []
    for model in models:
        ours, trl = results[f"{model}/ours"], results[f"{model}/trl"]
        speedup = ours["tokens_per_second"] / trl["tokens_per_second"]
        memory = ours["peak_memory_mb"] / trl["peak_memory_mb"]
        rows.append([model, ours["device"], ours["tokens_per_second"], trl["tokens_per_second"], speedup,
                     ours["peak_memory_mb"], trl["peak_memory_mb"], memory])
        if ours["device"] == "cuda":
            checks.append([f"{model}: ≥ {GPU_TARGET}× TRL-default tokens/s at no more peak memory",
                           f"{speedup:.2f}×, memory {memory:.2f}×", speedup >= GPU_TARGET and memory <= 1.0])
    device = results[f"{models[0]}/ours"]["device"]
    markdown = "\n\n".join([
        f"## Training throughput: QLoRA (NF4, LoRA r=16 all-linear), ours vs TRL SFTTrainer defaults on {device}",
        f"{steps} steps of batch {batch} on SQuAD chat examples; tokens/s of non-padding tokens after "
        f"{WARMUP} warm-up step; each run in its own process.",
        _report.table(["model", "device", "ours tok/s", "TRL tok/s", "speed-up", "ours peak MB", "TRL peak MB",
                       "memory ratio"], rows),
        _report.table(["target", "value", "pass"], checks) if checks else
        f"The {GPU_TARGET}× target is for a GPU; none was lent to this run, so this is the CPU measurement.",
    ])
    _report.write(NAME, {"results": results, "steps": steps, "batch": batch, "environment": _report.environment()},
                  markdown)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        which, model, steps, batch, data, work = sys.argv[2:8]
        one(which, model, int(steps), int(batch), Path(data), Path(work))
    else:
        main()
