"""Answer metrics against hand-checked cases and against the official SQuAD v2.0 evaluation logic."""

import collections
import json
import re
import string
from pathlib import Path

import pytest

from assistant.evaluation.metrics import (bootstrap_ci, content_tokens, exact_match, faithfulness, lcs_length, normalize_answer,
                               rouge_l, token_f1)
from assistant.answering.citations import strip_citations

# Gold answers and a context excerpt for 240 questions of the first two articles of SQuAD 2.0 dev
# (CC BY-SA 4.0), shipped so the test needs nothing outside the repository.
SQUAD_ANSWERS = Path(__file__).resolve().parents[1] / "fixtures" / "compare" / "squad_answers.jsonl"


# The official script (evaluate-v2.0.py), transcribed as the reference: normalise in the order
# lower → punctuation → articles → whitespace; F1 over bags of tokens; best over gold answers,
# which are those that normalise to something, or [""] when none do.
def official_normalize(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", s)
    return " ".join(s.split())


def official_tokens(s):
    return official_normalize(s).split() if s else []


def official_f1(gold, pred):
    gold_toks, pred_toks = official_tokens(gold), official_tokens(pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision, recall = num_same / len(pred_toks), num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def official_scores(golds, pred):
    golds = [a for a in golds if official_normalize(a)] or [""]
    return (max(int(official_normalize(a) == official_normalize(pred)) for a in golds),
            max(official_f1(a, pred) for a in golds))


@pytest.mark.parametrize("text, expected", [
    ("The Eiffel Tower!", "eiffel tower"),
    ("  An apple a day  ", "apple day"),
    ("Theatre of the Absurd", "theatre of absurd"),      # articles only as whole words
    ("U.S.A.", "usa"),                                   # punctuation dropped, not turned into spaces
    ("state-of-the-art", "stateoftheart"),               # so "the" inside a hyphenated word survives as part of it
    ("don't", "dont"),
    ("1990–1991", "1990–1991"),                           # the en dash is not in string.punctuation
    ("", ""),
])
def test_normalize_answer_follows_the_official_rules(text, expected):
    assert normalize_answer(text) == expected == official_normalize(text)


def test_exact_match_hand_checked():
    assert exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert exact_match("Eiffel", "eiffel tower") == 0.0
    assert exact_match("the broncos", ["Denver Broncos", "The Broncos"]) == 1.0  # best of several answers
    assert exact_match("", ["", "  "]) == 1.0  # no usable gold answer: only the empty answer is right
    assert exact_match("France", []) == 0.0


def test_token_f1_hand_checked():
    assert token_f1("Denver Broncos", "Broncos") == pytest.approx(2 / 3)  # P 1/2, R 1
    assert token_f1("the Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)  # P 2/3, R 1
    assert token_f1("cat cat", "cat") == pytest.approx(2 / 3)  # a repeated token counts once per match
    assert token_f1("in the north of France", ["France", "northern France"]) == pytest.approx(0.4)  # max(2/5, 1/3)
    assert token_f1("Paris", "London") == 0.0
    assert token_f1("", "France") == 0.0
    assert token_f1("", []) == 1.0 and token_f1("France", []) == 0.0


def test_exact_match_and_f1_equal_the_official_script_on_squad_answers():
    checked = 0
    for line in SQUAD_ANSWERS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        golds, context = record["golds"], record["context"]
        # Predictions of every kind: a gold answer, one padded with context, a context excerpt,
        # a bare article, nothing.
        first = golds[0] if golds else ""
        for pred in (first, f"It was {first}, as said.", context, "the", ""):
            em, f1 = official_scores(golds, pred)
            assert exact_match(pred, golds) == em
            assert token_f1(pred, golds) == pytest.approx(f1)
            checked += 1
    assert checked > 1000


def test_lcs_and_rouge_l_hand_checked():
    assert lcs_length("a b c d".split(), "a c d".split()) == 3
    assert lcs_length([], ["a"]) == 0
    # [police, shot, gunman] vs [police, killed, gunman]: LCS 2, P = R = 2/3
    assert rouge_l("The police shot the gunman", "police killed the gunman") == pytest.approx(2 / 3)
    # order matters, unlike F1: [gunman, killed, police] vs [police, killed, gunman] → LCS 1
    assert rouge_l("gunman killed police", "police killed gunman") == pytest.approx(1 / 3)
    assert token_f1("gunman killed police", "police killed gunman") == 1.0
    assert rouge_l("Denver Broncos", ["Carolina Panthers", "the Denver Broncos"]) == 1.0
    assert rouge_l("", "France") == 0.0


def test_strip_citations_keeps_the_answer():
    assert strip_citations("Port 7431 [2].") == "Port 7431 ."
    assert strip_citations("France [1, 3] and Italy [source 2]") == "France and Italy"
    assert exact_match(strip_citations("France [2]"), "France") == 1.0
    assert strip_citations("an array [i] stays") == "an array [i] stays"


def test_faithfulness_is_the_share_of_content_tokens_in_the_context():
    contexts = ["The Eiffel Tower is 330 metres tall.", "It was built in 1889."]
    assert faithfulness("The tower is 330 metres tall [1].", contexts) == 1.0
    # content tokens: tower, 324, metres → 2 of 3 supported
    assert faithfulness("The tower is 324 metres.", contexts) == pytest.approx(2 / 3)
    assert faithfulness("anything", None) is None and faithfulness("anything", []) is None  # base and sft modes
    assert faithfulness("It is the one.", contexts) is None  # nothing checkable
    assert content_tokens("It was built in 1889.") == ["built", "1889"]


def test_bootstrap_ci_brackets_the_mean_and_repeats_with_its_seed():
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.5]
    ci = bootstrap_ci(values)
    assert ci.mean == pytest.approx(0.6875) and ci.n == 8
    assert 0.0 <= ci.low <= ci.mean <= ci.high <= 1.0 and ci.low < ci.high
    assert bootstrap_ci(values) == ci
    spread = [i / 37 for i in range(37)]
    assert bootstrap_ci(spread, seed=1) != bootstrap_ci(spread, seed=0)
    assert bootstrap_ci(values * 25).high - bootstrap_ci(values * 25).low < ci.high - ci.low  # more data, narrower
    assert bootstrap_ci(values, confidence=0.5).high <= ci.high
    assert bootstrap_ci([0.4, 0.4]) == (0.4, 0.4, 0.4, 2)
    assert bootstrap_ci([0.7]) == (0.7, 0.7, 0.7, 1)
    assert bootstrap_ci([]) is None and bootstrap_ci([None, None]) is None
    assert bootstrap_ci([1.0, None, 0.0]).n == 2
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(values, confidence=95)
