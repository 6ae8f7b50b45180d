"""In-process decode speed at batch 1 on a CPU, under the options that could close the gap to
llama.cpp's server (bench/results/engines.md: 16.9 against 72.3 tokens/s on the same GGUF).

Each option runs in its own process on the same 8 rendered SQuAD prompts (greedy, 48 new tokens,
one warm-up answer first):
- default: what `assistant ask` does (float32, SDPA attention, torch's threads = cores);
- threads-1: one thread (a 135M model's matrices are small; two threads may only add sync);
- bf16: bfloat16 weights;
- static-compile: a static KV cache and `torch.compile` of the forward pass; the compile time is
  reported apart, since every new process (each `assistant ask`) pays it.

    python -m bench.decode_options
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench import _report

NAME = "decode_options"
OPTIONS = ("default", "threads-1", "bf16", "static-compile")
PROMPTS = 8
NEW_TOKENS = 48


def prompts() -> list[str]:
    data = json.loads((_report.data_dir() / "squad" / "dev-v2.0-first5.json").read_text())
    out = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            qa = paragraph["qas"][0]
            out.append(f"{paragraph['context']}\n\nQuestion: {qa['question']}")
            if len(out) == PROMPTS + 1:
                return out
    return out


def one(option: str) -> None:
    """Child process: median decode tokens/s over PROMPTS prompts, after one warm-up, as JSON."""
    import torch

    from lm.models import load_model

    if option == "threads-1":
        torch.set_num_threads(1)
    loaded = load_model(dtype="bfloat16" if option == "bf16" else "auto", device="cpu")
    model, tokenizer = loaded.model, loaded.tokenizer
    kwargs = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False, temperature=None,
                  top_p=None, top_k=None, pad_token_id=tokenizer.pad_token_id)
    compile_seconds = 0.0
    if option == "static-compile":
        kwargs["cache_implementation"] = "static"
        model.forward = torch.compile(model.forward, dynamic=True)
    rates = []
    for n, text in enumerate(prompts()):
        rendered = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                 add_generation_prompt=True)
        inputs = tokenizer(rendered, return_tensors="pt", add_special_tokens=False)
        began = time.perf_counter()
        with torch.inference_mode():
            prefill = model.generate(**inputs, **{**kwargs, "max_new_tokens": 1, "min_new_tokens": 1})
            mid = time.perf_counter()
            model.generate(**inputs, **kwargs)
        ended = time.perf_counter()
        del prefill
        if n == 0:  # the warm-up (and, compiled, the compile)
            compile_seconds = ended - began
            continue
        # decode rate: the answer's time less one prefill, over the tokens after the first
        rates.append((NEW_TOKENS - 1) / max((ended - mid) - (mid - began), 1e-6))
    print(json.dumps({"option": option, "tokens_per_second": sorted(rates)[len(rates) // 2],
                      "warmup_seconds": compile_seconds, "threads": torch.get_num_threads()}))


def main() -> None:
    rows = []
    for option in OPTIONS:
        child = subprocess.run([sys.executable, "-m", "bench.decode_options", "--one", option], capture_output=True,
                               text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=1200)
        if child.returncode:
            rows.append({"option": option, "tokens_per_second": None, "warmup_seconds": None,
                         "threads": None, "error": child.stderr.strip().splitlines()[-1][:200]})
        else:
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    base = rows[0]["tokens_per_second"]
    columns = ["option", "tokens_per_second", "warmup_seconds", "threads"]
    table = _report.table(columns + ["vs default"], [[row.get(c) for c in columns] + [
        round(row["tokens_per_second"] / base, 2) if row.get("tokens_per_second") and base else row.get("error")]
        for row in rows])
    text = (f"## In-process decode at batch 1 (CPU), SmolLM2-135M\n\nMedian decode tokens/s over {PROMPTS} "
            f"SQuAD prompts (paragraph + question), greedy, {NEW_TOKENS} new tokens, after one warm-up answer "
            f"(`warmup_seconds`: that first answer, which holds any compile). Machine load at the end: "
            f"{os.getloadavg()[0]:.2f}.\n\n{table}\n")
    _report.write(NAME, {"rows": rows}, text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2])
    else:
        main()
