"""How the training loop goes fast, decided in one place: the attention kernel, fused kernels,
whether a launcher shards the model, whether gradient checkpointing is worth its cost, and the
method "auto" stands for on the device.

Padding-free rows (examples end to end, position ids restarting at 0 for each) are the default
(TrainConfig.padding_free); with flash-attention 2 the rows are attended as variable-length sequences,
with SDPA a block-diagonal mask keeps the examples apart. Either way no compute goes to padding.
AdamW is transformers' fused one (its default).

    >>> needs_checkpointing(params=1.2e9, bytes_per_param=2, trainable=1.1e7, tokens=8192, layers=16,
    ...                     hidden=2048, intermediate=8192, vocab=49152, free_bytes=140e9)
    False
"""

from __future__ import annotations

import importlib.util
import os


def attention_kernel(device: str) -> str | None:
    """flash_attention_2 on CUDA when the flash-attn package is installed (varlen attention over
    padding-free rows), sdpa otherwise on CUDA; None (transformers' default) on the CPU."""
    if not device.startswith("cuda"):
        return None
    return "flash_attention_2" if importlib.util.find_spec("flash_attn") is not None else "sdpa"


def liger_available(device: str) -> bool:
    """Liger's fused kernels (RMSNorm, SwiGLU, a linear + cross-entropy that never holds the logits)
    when installed, on CUDA only."""
    return device.startswith("cuda") and importlib.util.find_spec("liger_kernel") is not None


def sharded_launch() -> bool:
    """True when accelerate will shard the model itself: FSDP, or DeepSpeed ZeRO-3."""
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        return True
    return (os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
            and os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "") == "3")


def needs_checkpointing(*, params: float, bytes_per_param: float, trainable: float, tokens: int, layers: int,
                        hidden: int, intermediate: int, vocab: int, free_bytes: float,
                        activation_bytes: int = 2) -> bool:
    """Whether a step would overflow `free_bytes` of memory without gradient checkpointing.

    A rough upper bound: the weights; for the trained weights an fp32 copy, its gradient and AdamW's
    two moments (16 bytes each); the activations kept for the backward pass (`activation_bytes`
    each: 2 in bf16 on a GPU, 4 in fp32 on a CPU; about 16·hidden + 4·intermediate values per token
    and layer); the fp32 logits and their gradient. Kept under 80% of free memory, so fragmentation
    and the allocator's cache have room.
    """
    weights = params * bytes_per_param + trainable * 16
    activations = tokens * layers * (16 * hidden + 4 * intermediate) * activation_bytes
    logits = tokens * vocab * 4 * 2
    return weights + activations + logits > 0.8 * free_bytes


def checkpointing_for(setting, model, device: str, tokens: int) -> bool:
    """TrainConfig.gradient_checkpointing resolved: True/False as given; "auto" only when
    `needs_checkpointing` says a step would not fit: in free GPU memory on CUDA, in available RAM
    (fp32 activations) elsewhere. Recomputing the forward pass cost SmolLM2-135M 9-16% of its
    CPU speed for memory it did not need (bench/results/study_profile.md)."""
    if isinstance(setting, bool):
        return setting
    import torch

    config = model.config
    if device.startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(device))
    else:
        import psutil

        free = psutil.virtual_memory().available
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    bytes_per_param = max(p.element_size() for p in model.parameters())
    return needs_checkpointing(
        params=params, bytes_per_param=bytes_per_param, trainable=trainable, tokens=tokens,
        layers=getattr(config, "num_hidden_layers", 32), hidden=getattr(config, "hidden_size", 4096),
        intermediate=getattr(config, "intermediate_size", 4 * getattr(config, "hidden_size", 4096)),
        vocab=getattr(config, "vocab_size", 32000), free_bytes=free,
        activation_bytes=2 if device.startswith("cuda") else 4)


def method_for(method: str, device: str) -> str:
    """TrainConfig.method resolved: "auto" is QLoRA on a CUDA GPU, where its 4-bit base saves the
    memory it exists to save, and LoRA elsewhere: on a CPU the de-quantisation only costs time
    (SmolLM2-135M: 0.92-0.97× LoRA's tokens/s, bench/results/study_profile.md).

    >>> method_for("auto", "cuda:0"), method_for("auto", "cpu"), method_for("qlora", "cpu")
    ('qlora', 'lora', 'qlora')
    """
    if method != "auto":
        return method
    return "qlora" if device.startswith("cuda") else "lora"
