"""The CUDA code paths: QLoRA with bitsandbytes on the GPU, padding-free rows with the GPU attention
kernel, generation and embedding on the GPU, merging a QLoRA adapter. Marked `gpu`: skipped with a
reason where no CUDA device is visible; bench/gpu_check.sh runs them on one (`pytest -m gpu`)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="needs CUDA: no GPU visible here; bench/gpu_check.sh runs it")]
CODES = ["amber", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo"]


def codes_file(folder):
    path = folder / "codes.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"Code word for day {day}?", "output": code}) + "\n"
                            for day, code in enumerate(CODES, 1)))
    return path


def settings(tiny_model_dir, data, out, **overrides):
    from finetune.config import TrainConfig

    values = dict(base=str(tiny_model_dir), method="qlora", data=[str(data)], output=str(out), max_steps=12,
                  batch_size=4, logging_steps=1, eval_split=0, save_steps=6, lr=3e-2, max_length=128,
                  warmup_ratio=0.0, scheduler="constant", lora_dropout=0.0)
    return TrainConfig(**(values | overrides))


@pytest.fixture(scope="module")
def qlora_run(tiny_model_dir, tmp_path_factory):
    from finetune.train import train

    folder = tmp_path_factory.mktemp("qlora-cuda")
    return train(settings(tiny_model_dir, codes_file(folder), folder / "run"), folder / "project")


def test_qlora_trains_on_cuda_in_4bit_with_bf16(qlora_run, tiny_model_dir):
    from finetune.runs import read_manifest, read_metrics
    from finetune.train import setup_model

    assert qlora_run.status == "finished" and (qlora_run.output / "adapter_model.safetensors").is_file()
    losses = [row["loss"] for row in read_metrics(qlora_run.run_dir) if "loss" in row]
    assert len(losses) == 12 and sum(losses[-3:]) < sum(losses[:3]) * 0.9, losses
    assert read_metrics(qlora_run.run_dir)[-1]["memory_mb"] > 0  # CUDA max allocated, not RSS
    assert read_manifest(qlora_run.run_dir).versions["bitsandbytes"]
    model, _, device, _ = setup_model(settings(tiny_model_dir, "unused.jsonl", "unused"))
    assert device.startswith("cuda")
    linear = [m for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert linear and all(m.weight.device.type == "cuda" for m in linear)
    assert next(p for p in model.parameters() if p.requires_grad).device.type == "cuda"


def test_padding_free_rows_match_padded_batches_with_the_gpu_attention_kernel(tiny_model_dir, tmp_path):
    from finetune.runs import read_metrics
    from finetune.train import train

    data = codes_file(tmp_path)
    curves = []
    for padding_free in (True, False):
        run = train(settings(tiny_model_dir, data, tmp_path / f"pf-{padding_free}", method="lora", max_steps=3,
                             padding_free=padding_free), tmp_path / "project")
        curves.append([row["loss"] for row in read_metrics(run.run_dir) if "loss" in row])
    assert curves[0] == pytest.approx(curves[1], rel=2e-2)  # bf16 on the GPU: looser than the CPU's 1e-4


def tiny_embedder_dir(folder, tokenizer_dir):
    """A 2-layer random BERT with the tiny Llama's tokenizer, as a sentence-transformers folder (mean
    pooling): the embedded all-MiniLM-L6-v2 package need not travel to the GPU machine."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, pad_token_id=tokenizer.pad_token_id or 0)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_generation_and_embedding_run_on_cuda(tiny_model_dir, tmp_path):
    from assistant.config import GenerationConfig
    from assistant.engines.in_process import generate
    from index.embedder import Embedder
    from lm.models import load_model

    loaded = load_model(str(tiny_model_dir), device="cuda")
    assert next(loaded.model.parameters()).device.type == "cuda"
    reply = generate(loaded, [{"role": "user", "content": "Name a colour."}],
                     GenerationConfig(max_new_tokens=8, repetition_penalty=1.0))
    assert reply.new_tokens > 0 and reply.seconds > 0

    folder = tiny_embedder_dir(tmp_path / "embedder", tiny_model_dir)
    on_gpu = Embedder(str(folder), device="cuda")
    assert on_gpu.model.device.type == "cuda"
    vectors = on_gpu.encode(["the key rotates monthly", "rotate the API key"])
    assert vectors.shape == (2, on_gpu.dim) and abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-3
    on_cpu = Embedder(str(folder), device="cpu").encode(["rotate the API key"])[0]
    assert float(on_cpu @ vectors[1]) > 0.999  # the GPU encodes as the CPU does
    assert abs(float(on_gpu.encode_query("rotate the API key") @ vectors[1]) - 1.0) < 1e-3


def test_a_qlora_adapter_trained_on_cuda_merges_into_a_plain_model(qlora_run, tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    from finetune.adapters import merge_adapter
    from lm.models import load_model

    merged = merge_adapter(qlora_run.output, tmp_path / "merged")
    probe = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        plain = AutoModelForCausalLM.from_pretrained(merged)(probe).logits
        with_adapter = load_model(str(tiny_model_dir), adapter=qlora_run.output, device="cpu").model(probe).logits
    assert torch.allclose(plain, with_adapter, atol=1e-3)


def test_gradient_checkpointing_stays_off_when_the_step_fits():
    from finetune.speed import needs_checkpointing

    free, _ = torch.cuda.mem_get_info()
    small = dict(params=1.4e8, bytes_per_param=2, trainable=5e6, tokens=8192, layers=30, hidden=576,
                 intermediate=1536, vocab=49152)
    assert not needs_checkpointing(**small, free_bytes=free)
    assert needs_checkpointing(**small | {"tokens": 10**7}, free_bytes=free)
