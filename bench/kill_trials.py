"""kill -9 trials: `assistant index` and `assistant finetune` killed at random moments and at
every named fault point (core.faults), then checked and finished.

Index: a collection of 40 files of Textual's docs (../shared/data/docs/textual) is built, a third
of the files change, and `assistant index` is SIGKILLed at a random moment of the rebuild (or
at a named point of writing and publishing, which random moments rarely hit). After each kill
the collection must open whole (chunks = vectors, searchable) as the old or the new version, and
a second run must finish with the same chunk count as a clean build.

Finetune: a tiny random Llama (SmolLM2's tokenizer) trains 40 steps with a checkpoint every 4, and
is SIGKILLed at a random moment (or inside and after a checkpoint save). The run must show as
interrupted, its last checkpoint must be whole, and --resume must finish all 40 steps.

    python -m bench.kill_trials            # 20 random + 8 named for index, 20 random + 4 named for finetune
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import _report
from core.faults import ENV, INDEX_POINTS, TRAIN_POINTS

NAME = "kill_trials"
ROOT = Path(__file__).resolve().parents[1]
TRIALS = int(os.environ.get("BENCH_KILL_TRIALS", "20"))
FILES = 40
ASSISTANT = [sys.executable, "-m", "assistant"]


def run(args: list[str], project: Path, fault: str | None = None, kill_after: float | None = None) -> tuple[int, float]:
    """(exit code, seconds) of one `assistant` command; SIGKILLed after `kill_after` seconds if still running."""
    env = {k: v for k, v in os.environ.items() if k != ENV} | {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    if fault:
        env[ENV] = fault
    began = time.perf_counter()
    process = subprocess.Popen(ASSISTANT + ["--project-dir", str(project)] + args, cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return process.returncode, time.perf_counter() - began


def collection_state(project: Path) -> dict:
    """Whether the collection opens whole, and its version and chunk count."""
    from index.retriever import open_collection

    try:
        retriever = open_collection(project, "docs")
        whole = len(retriever.chunks) == len(retriever.dense) > 0 and bool(retriever.search("widget", k=1))
        return {"whole": whole, "version": retriever.collection.version_dir().name, "chunks": len(retriever.chunks)}
    except Exception as err:  # noqa: BLE001 - a broken collection is the finding this bench looks for
        return {"whole": False, "error": f"{type(err).__name__}: {err}"}


def index_trials(workdir: Path, rng: random.Random) -> list[dict]:
    source = sorted((_report.data_dir() / "docs" / "textual").rglob("*.md"))[:FILES]
    docs = workdir / "docs"
    for path in source:
        target = docs / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    base = workdir / "base"
    run(["index", str(docs), "-c", "docs"], base)
    changed = sorted(docs.iterdir())[::3]
    for path in changed:  # a third of the files change, so the rebuild embeds and publishes anew
        path.write_text(path.read_text() + "\n\nAn added paragraph about widgets and kill -9.\n")
    clean = workdir / "clean"
    shutil.copytree(base, clean)
    _, full_seconds = run(["index", str(docs), "-c", "docs"], clean)
    expected = collection_state(clean)["chunks"]
    old_version = collection_state(base)["version"]

    rows = []
    plans = [("random", None, rng.uniform(0.5, full_seconds)) for _ in range(TRIALS)] + \
            [("point", point, None) for point in INDEX_POINTS]
    for number, (kind, point, after) in enumerate(plans, start=1):
        project = workdir / f"index-{number}"
        shutil.copytree(base, project)
        code, seconds = run(["index", str(docs), "-c", "docs"], project, fault=point, kill_after=after)
        killed = collection_state(project)
        redo_code, _ = run(["index", str(docs), "-c", "docs"], project)
        finished = collection_state(project)
        rows.append({"trial": number, "kill": point or f"at {after:.1f} s", "exit": code,
                     "after_kill": "old" if killed.get("version") == old_version else "new" if killed["whole"] else "BROKEN",
                     "whole_after_kill": killed["whole"], "rerun_exit": redo_code,
                     "chunks_after_rerun": finished.get("chunks"), "ok": killed["whole"] and redo_code == 0
                     and finished.get("chunks") == expected and finished["whole"]})
        shutil.rmtree(project)
    return rows


def tiny_model(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from lm.models import DEFAULT_MODEL, resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(DEFAULT_MODEL).location)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def finetune_trials(workdir: Path, rng: random.Random) -> list[dict]:
    from finetune.runs import read_manifest, run_status
    from finetune.run_start import last_checkpoint

    model = tiny_model(workdir / "tiny")
    data = workdir / "codes.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Code word {i}?", "output": f"code-{i}"}) + "\n"
                            for i in range(32)))
    args = ["finetune", "--lora", "--base", str(model), "--data", str(data), "--max-steps", "40", "--save-steps",
            "4", "--batch-size", "4", "--eval-split", "0"]
    _, full_seconds = run(args + ["--output", str(workdir / "full")], workdir / "project")
    rows = []
    plans = [("random", None, rng.uniform(1.0, full_seconds)) for _ in range(TRIALS)] + \
            [("point", f"{point}@2" if "checkpoint" in point else point, None) for point in TRAIN_POINTS]
    for number, (kind, point, after) in enumerate(plans, start=1):
        run_dir = workdir / f"run-{number}"
        code, _ = run(args + ["--output", str(run_dir)], workdir / "project", fault=point, kill_after=after)
        if code == 0:  # finished before the kill came
            rows.append({"trial": number, "kill": point or f"at {after:.1f} s", "exit": 0, "status": "finished",
                         "checkpoint": None, "resume_exit": None, "steps": 40, "ok": True})
            continue
        status = run_status(run_dir, read_manifest(run_dir)) if (run_dir / "run.json").exists() else "no run yet"
        checkpoint = last_checkpoint(run_dir) if run_dir.exists() else None
        if status == "finished":  # killed after its last write: nothing to resume, and nothing lost
            rows.append({"trial": number, "kill": point or f"at {after:.1f} s", "exit": code, "status": status,
                         "checkpoint": checkpoint.name if checkpoint else None, "resume_exit": None,
                         "steps": read_manifest(run_dir).metrics.get("steps"),
                         "ok": (run_dir / "adapter" / "adapter_model.safetensors").is_file()})
            shutil.rmtree(run_dir)
            continue
        resume = ["--resume", str(run_dir)] if checkpoint else ["--resume", str(run_dir), "--restart"]
        if status == "no run yet":  # killed before the run folder was made: start it again
            resume = ["--output", str(run_dir)]
        resume_code, _ = run(["finetune"] + resume if status != "no run yet" else args + resume, workdir / "project")
        manifest = read_manifest(run_dir)
        steps = manifest.metrics.get("steps")
        rows.append({"trial": number, "kill": point or f"at {after:.1f} s", "exit": code, "status": status,
                     "checkpoint": checkpoint.name if checkpoint else None, "resume_exit": resume_code, "steps": steps,
                     "ok": status in ("interrupted", "no run yet") and resume_code == 0 and steps == 40
                     and (run_dir / "adapter" / "adapter_model.safetensors").is_file()})
        shutil.rmtree(run_dir)
    return rows


def main() -> None:
    rng = random.Random(20261203)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("index trials", file=sys.stderr, flush=True)
        index_rows = index_trials(workdir / "index", rng)
        print("finetune trials", file=sys.stderr, flush=True)
        train_rows = finetune_trials(workdir / "train", rng)
    lines = ["# kill -9 trials", "",
             f"{TRIALS} kills at random moments and one at each named fault point, for `assistant index` "
             f"(a rebuild of {FILES} Textual docs, a third changed) and `assistant finetune` (a tiny Llama, 40 steps, "
             "a checkpoint every 4). `ok`: the collection opened whole after the kill and a rerun finished it; "
             "the run showed as interrupted and --resume (or --restart, with no checkpoint yet) finished all steps.", "",
             f"Index: {sum(r['ok'] for r in index_rows)} of {len(index_rows)} ok", "",
             _report.table(["trial", "kill", "exit", "after kill", "rerun exit", "chunks after rerun", "ok"],
                           [[r["trial"], r["kill"], r["exit"], r["after_kill"], r["rerun_exit"], r["chunks_after_rerun"],
                             r["ok"]] for r in index_rows]), "",
             f"Finetune: {sum(r['ok'] for r in train_rows)} of {len(train_rows)} ok", "",
             _report.table(["trial", "kill", "exit", "status", "last checkpoint", "resume exit", "steps", "ok"],
                           [[r["trial"], r["kill"], r["exit"], r["status"], r["checkpoint"], r["resume_exit"],
                             r["steps"], r["ok"]] for r in train_rows])]
    _report.write(NAME, {"index": index_rows, "finetune": train_rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
