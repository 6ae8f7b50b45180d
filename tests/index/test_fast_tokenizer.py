"""The tokenizer read from tokenizer.json gives the ids transformers' tokenizer gives, so the ONNX
encoder embeds exactly as before without importing transformers."""

import numpy as np
import pytest

from index.embedder import load_tokenizer, resolve_embedder
from index.fast_tokenizer import FastTokenizer
from index.readable import unknown_share

TEXTS = ["How do I rotate the API key?", "怎么清理磁盘", "poetry add pytest --group test",
         "A longer text " * 80, "", "Ünïcödé, emoji 🙂 and\ttabs\nnewlines"]


@pytest.fixture(scope="module")
def pair():
    folder = resolve_embedder("all-MiniLM-L6-v2").location
    return FastTokenizer.from_folder(folder), load_tokenizer(folder)


def test_batches_match_transformers_ids_masks_and_truncation(pair):
    fast, reference = pair
    ours = fast(TEXTS, padding=True, truncation=True, max_length=64, return_tensors="np")
    theirs = reference(TEXTS, padding=True, truncation=True, max_length=64, return_tensors="np")
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(ours[key], theirs[key])
    assert ours["input_ids"].shape[1] == 64  # the long text was cut


def test_single_texts_and_the_unknown_share_match(pair):
    fast, reference = pair
    for text in TEXTS:
        assert fast(text, add_special_tokens=False)["input_ids"] == reference(text, add_special_tokens=False)["input_ids"]
        assert unknown_share(fast, text) == unknown_share(reference, text)
    assert fast.unk_token_id == reference.unk_token_id


def test_a_folder_without_tokenizer_json_gives_none(tmp_path):
    assert FastTokenizer.from_folder(tmp_path) is None
