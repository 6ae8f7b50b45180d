"""Adapters after training: merge one into its base model, so plain transformers can load the result."""

from __future__ import annotations

from pathlib import Path

from finetune.runs import find_run, read_manifest
from finetune.types import RunError
from core.files import staged_folder
from lm.models import adapter_base, load_model


def run_adapter(value: str | Path, project_dir: Path) -> Path:
    """The adapter folder of a run (name or folder), or an adapter folder given directly."""
    path = Path(value)
    if (path / "adapter_config.json").is_file():
        return path
    run = find_run(value, project_dir)
    adapter = run / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        status = read_manifest(run).status
        raise RunError(f"run {run.name} has no adapter (status: {status}); "
                                f"a stopped run can be finished with assistant finetune --resume {run}")
    return adapter


def merge_adapter(adapter: Path, out: Path, dtype: str = "float32") -> Path:
    """Base + adapter folded into one model at `out` (weights in safetensors, with the tokenizer).

    The base is loaded in full precision even for QLoRA adapters: merging into 4-bit weights would
    round the adapter away.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise RunError(f"{out} exists and is not empty; choose another --out")
    base = adapter_base(adapter)
    loaded = load_model(base, adapter=adapter, device="cpu", dtype=dtype)
    merged = loaded.model.merge_and_unload()
    with staged_folder(out) as staging:
        merged.save_pretrained(staging)
        loaded.tokenizer.save_pretrained(staging)
    return out
