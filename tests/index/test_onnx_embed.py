"""The ONNX Runtime embedder against the torch one, on the real embedded MiniLM."""

import json

import numpy as np
import pytest

from index.config import IndexConfig
from index.embedder import Embedder, EmbedderError, choose_runtime, resolve_embedder
from index.onnx_embed import cache_folder, read_pipeline

TEXTS = ["what port does the daemon use?", "Normans in Normandy", "混合检索",
         "a much longer sentence about something else entirely " * 5]


@pytest.fixture(scope="module")
def torch_vectors():
    return Embedder(runtime="torch").encode(TEXTS)


def minilm_folder():
    from pathlib import Path

    return Path(resolve_embedder("all-MiniLM-L6-v2").location)


def test_pipeline_is_read_from_the_sentence_transformers_folder(tmp_path):
    assert read_pipeline(minilm_folder()).pooling == "mean"
    assert read_pipeline(minilm_folder()).normalize and read_pipeline(minilm_folder()).max_length == 256
    (tmp_path / "modules.json").write_text(json.dumps([{"idx": 0, "name": "0", "path": "",
                                                        "type": "sentence_transformers.models.Transformer"}]))
    assert read_pipeline(tmp_path) is None  # no pooling module: not exportable, stays on torch


def test_float_onnx_gives_the_torch_vectors(torch_vectors):
    onnx = Embedder(runtime="onnx")
    assert onnx.runtime == "onnx" and onnx.model is None
    np.testing.assert_allclose(onnx.encode(TEXTS), torch_vectors, atol=2e-5)
    np.testing.assert_allclose(onnx.encode_query(TEXTS[0]), torch_vectors[0], atol=2e-5)


def test_int8_vectors_stay_close_to_torch_and_are_normalised(torch_vectors):
    int8 = Embedder()  # the default on a CPU
    assert int8.runtime == "onnx-int8"
    vectors = int8.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * torch_vectors).sum(axis=1).min() > 0.97
    # int8 activations are scaled per batch: a text alone gets nearly, not exactly, its batch vector
    # (0.978 at worst with onnxruntime 1.32, 0.98+ with earlier versions)
    alone = np.stack([int8.encode_query(t) for t in TEXTS])
    assert (alone * vectors).sum(axis=1).min() > 0.97
    # the nearest neighbour of each text is still itself
    assert ((vectors @ torch_vectors.T).argmax(axis=1) == np.arange(len(TEXTS))).all()


def test_many_texts_run_on_every_core_in_order_and_as_one_thread_would_embed_them():
    encoder = Embedder(runtime="onnx")._onnx
    texts = [f"text number {i}: " + "word " * (i % 23) for i in range(40)]  # five batches of 8
    encoder.workers = 1
    alone = encoder.encode_many(texts)
    encoder.workers = 2
    together = encoder.encode_many(texts)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # row i is text i's vector, whatever batch and thread it ran in
    np.testing.assert_allclose(together[17], encoder.encode([texts[17]])[0], atol=1e-4)


def test_export_is_cached_per_weights():
    folder = cache_folder(minilm_folder())
    Embedder(runtime="onnx-int8")
    stamp = (folder / "model.int8.onnx").stat().st_mtime_ns
    Embedder(runtime="onnx-int8")
    assert (folder / "model.int8.onnx").stat().st_mtime_ns == stamp


def test_forcing_onnx_on_a_model_it_cannot_run_is_one_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EmbedderError, match="mean or CLS pooling") as err:
        choose_runtime(str(tmp_path), runtime="onnx")
    assert "\n" not in str(err.value)
    assert choose_runtime(str(tmp_path)) == "torch"  # auto falls back
    assert choose_runtime("all-MiniLM-L6-v2", device="cuda") == "torch"  # a GPU embeds through torch


def test_the_runtime_is_part_of_what_decides_the_vectors():
    from index.build import content_settings
    from index.loaders import LoaderOptions

    torch_settings = content_settings(IndexConfig(embed_runtime="torch"), LoaderOptions())
    int8_settings = content_settings(IndexConfig(), LoaderOptions())
    assert torch_settings["embed_runtime"] == "torch" and int8_settings["embed_runtime"] == "onnx-int8"
