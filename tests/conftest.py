import os

# The embedded models are local; never let a test reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest

# Converted models are cached inside the checkout (git-ignored) rather than in the user's home,
# so a fresh clone converts once and later runs reuse it.
os.environ.setdefault("ASSISTANT_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".cache"))


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The embedded SmolLM2 as a safetensors folder (converted from GGUF on first use, ~35 s)."""
    from lm.models import DEFAULT_MODEL, resolve_model

    return Path(resolve_model(DEFAULT_MODEL).location)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, request) -> Path:
    """A randomly initialised 2-layer Llama with SmolLM2's tokenizer and chat template.

    The tokenizer comes from the embedded SmolLM2, or from $ASSISTANT_TINY_TOKENIZER (a folder with
    SmolLM2's tokenizer files) on a machine without the embedded model, such as bench/gpu_check.sh's.

    Weights are drawn wider than usual (std 0.3, not 0.02) so that such a narrow model can still move
    its logits far enough to memorise a few answers in a dozen steps: tests can then check that
    training lowers the loss.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    source = os.environ.get("ASSISTANT_TINY_TOKENIZER") or request.getfixturevalue("smollm2_dir")
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True, initializer_range=0.3)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _save_lora(base_dir, out_dir, base_name=None, seed=1):
    """A LoRA adapter with random (non-zero) weights over `base_dir`, saved the way PEFT saves it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    if base_name is not None:
        model.name_or_path = base_name  # what PEFT records as base_model_name_or_path
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def make_lora():
    return _save_lora


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The fuzz suite's case count, so `make test` shows how much hostile input was tried."""
    import sys

    hostile = sys.modules.get("test_serve_hostile")
    if hostile is not None and hostile.COUNTS:
        terminalreporter.write_line(f"serve: {sum(hostile.COUNTS.values())} generated hostile requests, none a 5xx")
    fuzz = sys.modules.get("test_fuzz")
    if fuzz is None or not fuzz.CASES:
        return
    failed = [r for r in terminalreporter.stats.get("failed", []) if "test_fuzz" in r.nodeid]
    areas = ", ".join(f"{area} {count}" for area, count in fuzz.CASES.items())
    outcome = f"{len(failed)} fuzz test(s) FAILED" if failed else "every one handled cleanly"
    terminalreporter.write_line(f"fuzz: {sum(fuzz.CASES.values())} hostile inputs ({areas}); {outcome}")
