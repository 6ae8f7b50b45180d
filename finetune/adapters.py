"""Adapters after training: merge one into its base model, so plain transformers can load the result."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from finetune.runs import find_run, read_manifest


def run_adapter(value: str | Path, project_dir: Path) -> Path:
    """The adapter folder of a run (name or folder), or an adapter folder given directly."""
    path = Path(value)
    if (path / "adapter_config.json").is_file():
        return path
    run = find_run(value, project_dir)
    adapter = run / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        status = read_manifest(run).get("status", "?")
        raise FileNotFoundError(f"run {run.name} has no adapter (status: {status}); "
                                f"a stopped run can be finished with assistant finetune --resume {run}")
    return adapter


def merge_adapter(adapter: Path, out: Path, dtype: str = "float32") -> Path:
    """Base + adapter folded into one model at `out` (weights in safetensors, with the tokenizer).

    The base is loaded in full precision even for QLoRA adapters: merging into 4-bit weights would
    round the adapter away.
    """
    from assistant.models import adapter_base, load_model

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose another --out")
    base = adapter_base(adapter)
    loaded = load_model(base, adapter=adapter, device="cpu", dtype=dtype)
    merged = loaded.model.merge_and_unload()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        merged.save_pretrained(staging)
        loaded.tokenizer.save_pretrained(staging)
        if out.exists():
            out.rmdir()
        os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
