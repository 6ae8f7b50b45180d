"""The answer-quality bench's scoring: a key shown, and where a miss lost it."""

from bench.answer_quality import Question, _misses, score, shows_keys

DEFAULTS = {"min_relevance": 0.3, "min_term_relevance": 0.15}


def row(id_, shown=True, right_file=True, retrieved=True, offered=True, relevance=0.5, answerable=True, anyway=False,
        reads=True):
    return {"id": id_, "group": "realdocs en dev", "answerable": answerable, "key_in_text": shown,
            "key_retrieved": retrieved if answerable else None, "key_offered": offered if answerable else None,
            "right_file": right_file, "abstained_anyway": anyway,
            "relevance": relevance, "reads": reads, "lines": 5, "seconds": 0.01}


def test_a_key_is_shown_case_aside_and_a_question_asking_two_things_needs_both():
    asks_one = Question("q1", "How?", ("poetry env use",), ("cli.md",), "realdocs en dev")
    asks_two = asks_one._replace(keys_also=("--all",))
    assert shows_keys(asks_one, "Run `Poetry env use 3.11`.")
    assert not shows_keys(asks_two, "Run `poetry env use 3.11`.") and shows_keys(asks_two, "poetry env use; --all")
    assert not shows_keys(asks_one._replace(keys=()), "poetry env use")  # unanswerable: nothing to show


def test_each_miss_is_put_down_to_the_first_place_its_key_was_lost():
    rows = [row("ok"), row("low", relevance=0.1), row("named", anyway=True), row("unretrieved", shown=False, retrieved=False),
            row("unoffered", shown=False, offered=False), row("unchosen", shown=False), row("elsewhere", right_file=False),
            row("u1", answerable=False, relevance=0.1), row("zh", relevance=0.2, reads=False),
            row("read-on", retrieved=False, right_file=False)]  # shown from a chunk it read on into
    table = "\n".join(_misses(rows, DEFAULTS))
    assert ("| realdocs en dev | 7 | 2 (low named) | 1 (unretrieved) | 1 (unoffered) | 1 (unchosen) "
            "| 2 (elsewhere read-on) |") in table  # "zh": a question MiniLM cannot read, held to 0.15
    assert score(rows, 0.3, 0.15)["useful"] == 2 / 9 and score(rows, 0.3, 0.15)["abstention"] == 1.0
    assert _misses([row("u1", answerable=False)], DEFAULTS) == []  # no diagnosed rows: no table
