"""finetune.speed: the GPU settings, decided without a GPU."""

from __future__ import annotations

import pytest

from finetune.speed import attention_kernel, checkpointing_for, liger_available, needs_checkpointing, sharded_launch

SMOLLM2 = dict(params=1.35e8, bytes_per_param=2, trainable=4.9e6, layers=30, hidden=576, intermediate=1536,
               vocab=49152)


def test_gradient_checkpointing_is_asked_for_only_when_a_step_would_not_fit():
    h200 = 140e9
    assert not needs_checkpointing(**SMOLLM2, tokens=8 * 1024, free_bytes=h200)
    assert needs_checkpointing(**SMOLLM2, tokens=8 * 1024, free_bytes=2e9)  # a small GPU
    llama_3b = dict(params=3.2e9, bytes_per_param=2, trainable=2.4e7, layers=28, hidden=3072, intermediate=8192,
                    vocab=128256)
    assert not needs_checkpointing(**llama_3b, tokens=8 * 1024, free_bytes=h200)
    assert needs_checkpointing(**llama_3b, tokens=64 * 4096, free_bytes=h200)


def test_settings_given_are_kept_and_auto_on_the_cpu_asks_whether_a_step_fits_in_ram():
    """On the CPU checkpointing was always on: SmolLM2 paid 16% of its speed for memory it had."""
    from transformers import LlamaConfig, LlamaForCausalLM

    assert checkpointing_for(True, None, "cuda:0", 1) is True
    assert checkpointing_for(False, None, "cpu", 1) is False
    tiny = LlamaForCausalLM(LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=2, num_key_value_heads=2, vocab_size=128))
    assert checkpointing_for("auto", tiny, "cpu", tokens=4 * 512) is False
    assert checkpointing_for("auto", tiny, "cpu", tokens=10**12) is True  # more activations than any RAM


def test_the_auto_method_is_qlora_on_a_gpu_and_lora_elsewhere(monkeypatch):
    import torch

    from finetune.speed import method_for
    from lm.models import pick_device  # what train() resolves the device with

    assert [method_for("auto", d) for d in ("cuda", "cuda:1", "cpu", "mps")] == ["qlora", "qlora", "lora", "lora"]
    assert method_for("dora", "cuda") == "dora" and pick_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == "cuda"


def test_the_cpu_gets_the_default_kernels():
    assert attention_kernel("cpu") is None and not liger_available("cpu")
    assert attention_kernel("cuda:0") in ("flash_attention_2", "sdpa")


@pytest.mark.parametrize("env, sharded", [({}, False), ({"ACCELERATE_USE_FSDP": "true"}, True),
                                          ({"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_DEEPSPEED_ZERO_STAGE": "2"},
                                           False),
                                          ({"ACCELERATE_USE_DEEPSPEED": "true", "ACCELERATE_DEEPSPEED_ZERO_STAGE": "3"},
                                           True)])
def test_a_launch_shards_the_model_under_fsdp_and_zero3_only(env, sharded, monkeypatch):
    for key in ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED", "ACCELERATE_DEEPSPEED_ZERO_STAGE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert sharded_launch() == sharded


def test_gradient_checkpointing_setting_is_checked():
    from finetune.config import TrainConfig
    from core.errors import ConfigError

    assert TrainConfig().gradient_checkpointing == "auto"
    with pytest.raises(ConfigError, match="gradient_checkpointing"):
        TrainConfig(gradient_checkpointing="sometimes")
