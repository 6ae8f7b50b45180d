"""Padding-free rows (the default: a batch's examples end to end, position ids restarting for each)
train exactly as padded batches do: the same losses, step by step, on a tiny random Llama."""

from __future__ import annotations

import json

import pytest

from finetune.config import TrainConfig
from finetune.runs import read_metrics
from finetune.train import train

LOSS_TOLERANCE = 1e-4
"""Relative. Measured: the curves agree to 1e-7 (float32 sums in another order)."""


def test_padding_free_rows_give_the_losses_of_padded_batches(tiny_model_dir, tmp_path):
    data = tmp_path / "mixed.jsonl"
    # Lengths that differ a lot, so a padded batch really holds padding.
    with open(data, "w") as out:
        for day in range(1, 9):
            out.write(json.dumps({"instruction": f"Code word for day {day}?" + " Please answer." * (day % 4 * 3),
                                  "output": f"code {day}" * (1 + day % 3)}) + "\n")
    losses = {}
    for padding_free in (True, False):
        config = TrainConfig(base=str(tiny_model_dir), method="lora", data=[str(data)], max_steps=3, batch_size=4,
                             logging_steps=1, eval_split=0, lora_dropout=0.0, warmup_ratio=0.0, lr=3e-2,
                             scheduler="constant", max_length=128, padding_free=padding_free,
                             output=str(tmp_path / f"padding-free-{padding_free}"))
        result = train(config, tmp_path / "project")
        losses[padding_free] = [row["loss"] for row in read_metrics(result.run_dir) if "loss" in row]
    assert len(losses[True]) == 3
    assert losses[True] == pytest.approx(losses[False], rel=LOSS_TOLERANCE)


def test_a_padding_free_row_restarts_its_position_ids_at_each_example():
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collate = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
    batch = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [-100, 9]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert "attention_mask" not in batch or batch["attention_mask"].all()
