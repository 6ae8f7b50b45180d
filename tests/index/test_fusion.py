import pytest

from index.fusion import rrf, weighted


def test_rrf_rewards_agreement():
    fused = rrf({"bm25": [1, 2, 3], "dense": [3, 4, 1]}, k=60)
    assert [row for row, _ in fused][:2] == [1, 3]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)


def test_rrf_handles_one_empty_list():
    assert [r for r, _ in rrf({"bm25": [], "dense": [5, 6]})] == [5, 6]


def test_weighted_uses_normalised_scores_and_weights():
    fused = weighted({"bm25": [1, 2], "dense": [2, 3]},
                     {"bm25": [10.0, 0.0], "dense": [0.9, 0.1]},
                     {"bm25": 0.3, "dense": 0.7})
    scores = dict(fused)
    assert scores[2] == pytest.approx(0.7)
    assert scores[1] == pytest.approx(0.3)
    assert scores[3] == pytest.approx(0.0)
    assert fused[0][0] == 2
