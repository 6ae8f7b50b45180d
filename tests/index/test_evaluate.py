import math

import pytest

from index.evaluate import BeirError, documents_in_order, hit_at, load_beir, mrr_at, ndcg_at, recall_at, score_runs


def test_ndcg_matches_hand_computation():
    relevant = {"a": 1, "b": 2}
    # ranked: x, b, a → dcg = 2/log2(3) + 1/log2(4); ideal = 2/1 + 1/log2(3)
    expected = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at(["x", "b", "a"], relevant) == pytest.approx(expected)
    assert ndcg_at(["b", "a"], relevant) == pytest.approx(1.0)
    assert ndcg_at(["x"], relevant) == 0.0


def test_recall_and_mrr():
    relevant = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["a", "x", "c"], relevant) == 0.5
    assert mrr_at(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert mrr_at(["x"] * 10 + ["a"], relevant) == 0.0  # beyond @10


def test_documents_rank_at_their_best_chunk():
    assert documents_in_order(["d2", "d1", "d2", "d3"]) == ["d2", "d1", "d3"]


def test_score_runs_averages_over_judged_queries():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    scores = score_runs({"q1": ["a"], "q2": ["x"]}, qrels)
    assert scores["mrr@10"] == 0.5 and scores["recall@100"] == 0.5 and scores["hit@5"] == 0.5


def test_hit_at_k_counts_a_relevant_document_in_the_first_k():
    assert hit_at(["x", "y", "a"], {"a": 1}, k=3) == 1.0
    assert hit_at(["x", "y", "a"], {"a": 1}, k=2) == 0.0
    assert hit_at(["a"], {"a": 0}) == 0.0


def test_load_beir_reports_missing_files(tmp_path):
    with pytest.raises(BeirError, match="corpus.jsonl"):
        load_beir(tmp_path)
