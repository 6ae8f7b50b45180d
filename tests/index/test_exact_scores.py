"""DenseIndex.scores_for: the exact scores normalised fusion needs, from every index kind."""

import numpy as np
import pytest

from index.dense import DenseIndex


@pytest.fixture(scope="module")
def vectors():
    x = np.random.default_rng(0).normal(size=(2000, 16)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_and_hnsw_give_exact_inner_products(vectors):
    for kind in ("flat", "hnsw"):
        index = DenseIndex.build(vectors, kind)
        np.testing.assert_allclose(index.scores_for(vectors[0], [0, 5, 1999]), vectors[[0, 5, 1999]] @ vectors[0],
                                   atol=1e-5)
        assert index.scores_for(vectors[0], []).shape == (0,)


def test_ivf_builds_its_row_map_on_first_use(vectors):
    import faiss

    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 8, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    np.testing.assert_allclose(DenseIndex(ivf).scores_for(vectors[3], [3, 42]), vectors[[3, 42]] @ vectors[3], atol=1e-5)
