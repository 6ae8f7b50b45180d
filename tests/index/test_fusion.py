import pytest

from index.fusion import FUSERS, NORMALISERS, dbsf, min_max, rrf, weighted, z_score


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


def test_normalisers_map_scores_as_documented():
    assert min_max([2, 4, 3]) == [0.0, 1.0, 0.5]
    assert z_score([1, 2, 3]) == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-4)
    # dbsf: min-max between mean ± 3σ, so no score reaches the ends unless it is an outlier
    spread = (2 / 3) ** 0.5
    assert dbsf([1, 2, 3]) == pytest.approx([0.5 - 1 / (6 * spread), 0.5, 0.5 + 1 / (6 * spread)])
    assert dbsf([0.0] * 40 + [100.0])[-1] == 1.0  # an outlier is clipped


@pytest.mark.parametrize("how", ["minmax", "zscore", "dbsf"])
def test_a_row_one_retriever_missed_gets_that_retrievers_lowest_score(how):
    rankings = {"bm25": [1, 2, 3], "dense": [3, 4]}
    scores = {"bm25": [9.0, 5.0, 1.0], "dense": [0.8, 0.2]}
    fused = dict(FUSERS[how](rankings, scores, {"bm25": 0.5, "dense": 0.5}))
    assert set(fused) == {1, 2, 3, 4}
    # row 4 (dense only, its lowest) and row 1 (bm25 only, its highest) against row 3 (both)
    assert fused[3] > fused[4]
    lowest_bm25 = fused[4] - 0.5 * NORMALISERS[how]([0.8, 0.2])[1]
    assert lowest_bm25 == pytest.approx(0.5 * min(NORMALISERS[how]([9.0, 5.0, 1.0])))
