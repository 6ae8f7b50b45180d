"""The bm25s engine against the rank_bm25 reference, and save/load round trips."""

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index.sparse import build_sparse, load_sparse, okapi_csc, top_k
from index.terms import Terms

CORPUS = [
    "The quick brown fox jumps over the lazy dog",
    "A fast brown fox leaps across a sleeping hound",
    "Foxes are omnivorous mammals belonging to several genera of the family Canidae",
    "Dogs were domesticated from wolves thousands of years ago",
    "The lazy cat sleeps all day in the warm sun",
    "Hybrid search fuses keyword scores with dense vector similarity",
    "BM25 ranks documents by term frequency and inverse document frequency",
    "Dense retrievers embed queries and documents into the same vector space",
    "The brown bear eats berries and fish in the forest",
    "Search engines index documents so that queries run fast",
    "检索增强生成结合了检索和生成",
    "向量数据库支持混合检索",
]
QUERIES = ["brown fox", "lazy dog sleeping", "document frequency search", "dense vector search",
           "混合检索", "wolves and dogs", "bear fish forest", "nothing matches zzz"]


def _terms():
    t = Terms()
    return [t.split(d) for d in CORPUS], [t.split(q) for q in QUERIES]


def test_okapi_scores_equal_rank_bm25_on_fixture_corpus():
    corpus, queries = _terms()
    reference = BM25Okapi(corpus)
    engine = build_sparse(corpus, backend="bm25s", variant="okapi")
    for query in queries:
        np.testing.assert_allclose(engine.scores(query), reference.get_scores(query), rtol=1e-5, atol=1e-6)


def test_okapi_ranks_equal_rank_bm25_on_random_corpus_with_common_terms():
    # Terms in more than half the documents get rank_bm25's epsilon floor; the engine must match.
    rng = random.Random(7)
    vocab = [f"t{i}" for i in range(40)]
    corpus = [[rng.choice(vocab[: rng.randint(2, 40)]) for _ in range(rng.randint(1, 25))] for _ in range(200)]
    reference = BM25Okapi(corpus)
    engine = build_sparse(corpus)
    for _ in range(30):
        query = rng.sample(vocab, 3)
        expected = reference.get_scores(query)
        got = engine.scores(query)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        ours = engine.search(query, 10).rows
        best = np.sort(expected[expected > 0])[::-1][:10]
        # Same ranking up to float32 ties: the reference scores of our top 10 are its top 10.
        np.testing.assert_allclose(expected[ours], best, rtol=1e-5)


def test_rank_bm25_backend_gives_the_same_top_results():
    corpus, queries = _terms()
    fast, slow = build_sparse(corpus, "bm25s"), build_sparse(corpus, "rank-bm25")
    for query in queries:
        assert fast.search(query, 5).rows.tolist() == slow.search(query, 5).rows.tolist()


@pytest.mark.parametrize("variant", ["lucene", "robertson", "atire", "bm25+"])
def test_bm25s_variants_find_the_obvious_document(variant):
    corpus, _ = _terms()
    engine = build_sparse(corpus, variant=variant)
    assert engine.search(Terms().split("omnivorous mammals Canidae"), 3).rows[0] == 2


@pytest.mark.parametrize("backend", ["bm25s", "rank-bm25"])
def test_save_and_load_round_trip_without_pickle(tmp_path, backend):
    corpus, queries = _terms()
    engine = build_sparse(corpus, backend)
    engine.save(tmp_path / "sparse")
    for path in (tmp_path / "sparse").iterdir():
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises if anything was pickled
    loaded = load_sparse(tmp_path / "sparse", backend)
    for query in queries:
        np.testing.assert_allclose(loaded.scores(query), engine.scores(query), rtol=1e-6)


def test_unknown_query_terms_return_nothing():
    corpus, _ = _terms()
    assert build_sparse(corpus).search(["zzzunknown"], 5).rows.size == 0


def test_top_k_orders_by_score_then_row():
    hits = top_k(np.array([0.0, 2.0, 1.0, 2.0, -1.0]), 3)
    assert hits.rows.tolist() == [1, 3, 2]


def test_okapi_csc_layout_is_term_major():
    data, indices, indptr = okapi_csc([[0, 1], [1, 1]], n_vocab=2, k1=1.5, b=0.75)
    assert indptr.tolist() == [0, 1, 3]  # term 0 in doc 0; term 1 in docs 0 and 1
    assert indices.tolist() == [0, 0, 1]


@pytest.mark.parametrize("backend, variant", [("bm25s", "okapi"), ("bm25s", "lucene"), ("bm25s", "robertson"),
                                              ("bm25s", "bm25+"), ("rank-bm25", "okapi")])
def test_rows_with_a_term_are_exactly_the_rows_holding_it_also_when_its_idf_is_zero_or_negative(tmp_path, backend,
                                                                                                 variant):
    rng = random.Random(7)
    # "half" is in exactly half of the rows (Robertson's idf is 0 there), "most" in nearly all (negative idf)
    corpus = [[f"w{rng.randrange(30)}" for _ in range(rng.randrange(1, 9))] + ["half"] * (row % 2)
              + ["most"] * (row % 10 != 0) for row in range(40)]
    engine = build_sparse(corpus, backend, variant)
    engine.save(tmp_path / "sparse")
    for index in (engine, load_sparse(tmp_path / "sparse", backend, mmap=True)):
        for term in ["half", "most", "w3", "w29", "absent"]:
            assert index.rows_with(term).tolist() == [row for row, terms in enumerate(corpus) if term in terms]
