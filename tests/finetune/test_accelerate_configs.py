"""The accelerate configs shipped in finetune/presets/accelerate: each parsed by accelerate itself, turned
into the environment `accelerate launch` would give the processes, and built into the plugin the
Trainer's Accelerator would build from it (FSDP, DeepSpeed) — all without GPUs or deepspeed installed.
Running them: the DDP file in test_distributed.py (two processes on the CPU); FSDP and DeepSpeed
shard only on GPUs (see bench/gpu_check.sh)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "finetune" / "presets" / "accelerate"
EXPECTED = {"ddp": "MULTI_GPU", "fsdp-lora": "FSDP", "fsdp-qlora": "FSDP",
            "deepspeed-zero2": "DEEPSPEED", "deepspeed-zero3": "DEEPSPEED"}


def launch_environment(path: Path, *extra: str) -> tuple[object, dict]:
    """(parsed launch arguments, the environment variables accelerate launch sets for its processes)."""
    from accelerate.commands.launch import (_validate_launch_command, launch_command_parser, prepare_deepspeed_cmd_env,
                                            prepare_multi_gpu_env)

    args = launch_command_parser().parse_args(["--config_file", str(path), *extra, "-m", "assistant"])
    args, defaults, _ = _validate_launch_command(args)
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)
        return args, prepare_deepspeed_cmd_env(args)[1]
    return args, prepare_multi_gpu_env(args)


def test_every_shipped_config_is_one_accelerate_reads_as_the_kind_it_names():
    from accelerate.commands.config.config_args import load_config_from_file

    shipped = {p.stem for p in CONFIGS.glob("*.yaml")}
    assert shipped == set(EXPECTED), "a config was added or removed: list it in EXPECTED and in docs/finetuning.md"
    for name, kind in EXPECTED.items():
        config = load_config_from_file(str(CONFIGS / f"{name}.yaml"))  # unknown keys fail here
        assert str(config.distributed_type).rsplit(".", 1)[-1] == kind, name
        assert config.num_processes == 2 and config.num_machines == 1 and not config.use_cpu
        text = (CONFIGS / f"{name}.yaml").read_text()
        assert f"--config_file finetune/presets/accelerate/{name}.yaml" in text  # the launch line it documents


@pytest.mark.parametrize("name, method", [("fsdp-lora", "lora"), ("fsdp-qlora", "qlora")])
def test_fsdp_configs_build_the_plugin_accelerate_trains_with(name, method, monkeypatch):
    from accelerate.utils import FullyShardedDataParallelPlugin

    from finetune.speed import sharded_launch

    args, env = launch_environment(CONFIGS / f"{name}.yaml")
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_SYNC_MODULE_STATES"] == "true"
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP" and env["FSDP_USE_ORIG_PARAMS"] == "false"
    # The one setting accelerate refuses on a CPU (GPU-only: rank 0 loads, then sends the weights);
    # everything else is checked as given.
    env |= {"FSDP_SYNC_MODULE_STATES": "false", "FSDP_CPU_RAM_EFFICIENT_LOADING": "false"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 1 and str(plugin.sharding_strategy).endswith("FULL_SHARD")
    assert str(plugin.state_dict_type).endswith("SHARDED_STATE_DICT")
    assert plugin.cpu_offload.offload_params == (method == "qlora")  # PEFT's FSDP-QLoRA recipe offloads
    assert sharded_launch()  # so QLoRA stores its 4-bit weights in bf16, which FSDP can shard


def test_qlora_under_fsdp_stores_4bit_weights_in_the_compute_dtype():
    import torch

    from lm.quant import nf4_config

    assert nf4_config(torch.bfloat16, storage=torch.bfloat16).bnb_4bit_quant_storage == torch.bfloat16
    assert nf4_config(torch.bfloat16).bnb_4bit_quant_storage == torch.uint8  # one process: unchanged


@pytest.mark.parametrize("name, stage", [("deepspeed-zero2", 2), ("deepspeed-zero3", 3)])
def test_deepspeed_configs_build_the_plugin_for_full_fine_tuning(name, stage, monkeypatch):
    from accelerate.utils import DeepSpeedPlugin

    from finetune.speed import sharded_launch

    args, env = launch_environment(CONFIGS / f"{name}.yaml")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    plugin = DeepSpeedPlugin()  # from the environment, as the Accelerator builds it; deepspeed not needed
    zero = plugin.deepspeed_config["zero_optimization"]
    assert plugin.zero_stage == stage == zero["stage"] and plugin.deepspeed_config["gradient_clipping"] == 1.0
    assert zero["stage3_gather_16bit_weights_on_model_save"] == (stage == 3)  # ZeRO-3 saves one whole model
    assert sharded_launch() == (stage == 3)


@pytest.mark.parametrize("name, stage", [("ds-zero2.json", 2), ("ds-zero3.json", 3)])
def test_deepspeed_json_files_are_ones_the_trainer_fills_in(name, stage, monkeypatch):
    from accelerate.utils import DeepSpeedPlugin

    for key in list(os.environ):
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.delenv(key)
    data = json.loads((CONFIGS / name).read_text())
    assert data["zero_optimization"]["stage"] == stage
    assert data["train_micro_batch_size_per_gpu"] == "auto"  # the Trainer writes in --batch-size
    plugin = DeepSpeedPlugin(hf_ds_config=str(CONFIGS / name))
    assert plugin.zero_stage == stage and plugin.hf_ds_config.is_zero3() == (stage == 3)
