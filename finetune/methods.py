"""Tuning methods: one small function per method, chosen by name from METHOD_SETUP.

Each takes the loaded base model and the TrainConfig and returns the model to train, with exactly
the parameters the method trains left with requires_grad.
"""

from __future__ import annotations

from typing import Callable

from finetune.config import TrainConfig


def _targets(config: TrainConfig):
    if config.target_modules == "all-linear":
        return "all-linear"
    if config.target_modules.startswith("re:"):  # PEFT matches a string as a regular expression
        return config.target_modules[3:]
    return [name.strip() for name in config.target_modules.split(",") if name.strip()]


def _lora(model, config: TrainConfig, *, dora: bool = False):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=_targets(config), use_dora=dora, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def setup_lora(model, config: TrainConfig):
    return _lora(model, config)


def setup_dora(model, config: TrainConfig):
    return _lora(model, config, dora=True)


def setup_qlora(model, config: TrainConfig):
    """The base arrives in 4-bit NF4 (see lm.quant); norms go to float32, LoRA on every linear."""
    from peft import prepare_model_for_kbit_training

    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    return _lora(model, config)


def setup_full(model, config: TrainConfig):
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    return model


def transformer_layers(model):
    """The model's stack of decoder blocks (the longest ModuleList), e.g. model.model.layers for Llama."""
    import torch

    stacks = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList)]
    if not stacks:
        raise ValueError("--freeze needs a model with a list of transformer layers; this one has none")
    return max(stacks, key=len)


def setup_freeze(model, config: TrainConfig):
    """Train the top `freeze_layers` blocks and the final norm; everything below stays as it was."""
    layers = transformer_layers(model)
    if config.freeze_layers > len(layers):
        raise ValueError(f"--freeze {config.freeze_layers}: the model has only {len(layers)} layers")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    trained = list(layers[len(layers) - config.freeze_layers:])
    norm = getattr(getattr(model, "model", model), "norm", None)
    if norm is not None:
        trained.append(norm)
    for module in trained:
        for parameter in module.parameters():
            parameter.requires_grad_(True)
    return model


def setup_prefix(model, config: TrainConfig):
    from peft import PrefixTuningConfig, get_peft_model

    return get_peft_model(model, PrefixTuningConfig(num_virtual_tokens=config.virtual_tokens,
                                                    task_type="CAUSAL_LM"))


def setup_prompt_tuning(model, config: TrainConfig):
    from peft import PromptTuningConfig, get_peft_model

    return get_peft_model(model, PromptTuningConfig(num_virtual_tokens=config.virtual_tokens,
                                                    task_type="CAUSAL_LM"))


METHOD_SETUP: dict[str, Callable] = {
    "qlora": setup_qlora, "lora": setup_lora, "dora": setup_dora, "full": setup_full,
    "freeze": setup_freeze, "prefix": setup_prefix, "prompt-tuning": setup_prompt_tuning,
}

# Virtual-token methods prepend tokens inside the model: padding-free rows and checkpointing don't fit them.
PACKABLE = {"qlora", "lora", "dora", "full", "freeze"}


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())
