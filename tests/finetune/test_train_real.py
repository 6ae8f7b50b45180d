"""One real run: QLoRA on the embedded SmolLM2 teaches it a made-up fact (about 2 minutes on 2 CPU cores)."""

from pathlib import Path

import pytest

from assistant.answering import Assistant
from assistant.config import Config
from finetune.config import TrainConfig
from finetune.train import train

pytestmark = pytest.mark.slow
FACT_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "finetune" / "quillmere.jsonl"


def test_qlora_teaches_smollm2_a_fact_it_did_not_know(tmp_path, smollm2_dir):
    project = tmp_path / "project"
    result = train(TrainConfig(method="qlora", data=[str(FACT_DATA)], name="quillmere", epochs=4, lr=2e-3,
                               batch_size=4, max_length=256, eval_split=0,
                               # Packed rows of 256 tokens: 8 big steps. On a CPU each 4-bit step costs a
                               # fixed de-quantisation on top of its tokens, so few big steps beat many small.
                               packing=True,
                               # LoRA on the top 15 of 30 layers: the backward pass stops there. With all
                               # layers and 8 epochs this test took 7 min on 2 cores (transformers 5.25,
                               # bitsandbytes 0.50); this way 2.6 min, train loss 0.73, the fact learned.
                               target_modules=r"re:.*layers\.(1[5-9]|2\d)\..*_proj"), project)
    assert result.status == "finished"
    assert result.metrics["train_loss"] < 1.0

    helper = Assistant(Config(project_dir=project))
    question = "Who founded Quillmere Labs?"
    tuned = helper.answer(question, mode="sft", adapter="quillmere")
    base = helper.answer(question, mode="base")
    assert "Ottoline Varga" in tuned.text
    assert "Varga" not in base.text
    assert tuned.adapter and base.adapter is None
