"""Answer-quality metrics: pure functions over strings, plus a bootstrap confidence interval.

Exact match and token F1 follow the official SQuAD v1.1/v2.0 evaluation script: both texts are
normalised (lower case, punctuation and the articles a/an/the removed, whitespace collapsed) and
the best score over the acceptable answers is kept.

    >>> exact_match("The Eiffel Tower!", ["eiffel tower"])
    1.0
    >>> token_f1("in the north of France", ["France", "northern France"])   # 1 of 4 tokens, all of "France"
    0.4
    >>> bootstrap_ci([1.0, 0.0, 1.0, 1.0]).mean
    0.75
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import NamedTuple, Sequence

# The citation markers a RAG answer carries ("7431 [2]", "[1, 3]", "[source 2]") are not part
# of the answer; scored as text they would cost a right answer its exact match.
from ..answering.citations import strip_citations

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)

# Words that carry no claim: an answer made only of them has nothing to check against the sources.
STOPWORDS = frozenset("""
i me my we our you your he him his she her it its they them their what which who whom this that these
those am is are was were be been being have has had having do does did doing and but if or because as
until while of at by for with about against between into through during before after above below to
from up down in out on off over under again further then once here there when where why how all any
both each few more most other some such no nor not only own same so than too very s t can will just
don should now also would could may might must shall one answer question source sources based
""".split())


class CI(NamedTuple):
    """A mean with the low and high ends of its bootstrap confidence interval, and how many values."""

    mean: float
    low: float
    high: float
    n: int


class Metric(NamedTuple):
    """A column of `assistant compare`: its key in a row's metrics, its label, and whether it is a
    share in [0, 1] (shown as 0-100)."""

    key: str
    label: str
    percent: bool


METRICS = (
    Metric("exact_match", "exact match", True), Metric("f1", "F1", True), Metric("rouge_l", "ROUGE-L", True),
    Metric("contained", "answer contained", True),
    Metric("hit_rate", "retrieval hit rate", True), Metric("citation_accuracy", "citation accuracy", True),
    Metric("faithfulness", "faithfulness", True), Metric("supported", "supported by evidence", True),
    Metric("abstention", "abstained (unanswerable)", True),
    Metric("false_abstention", "abstained (answerable)", True), Metric("length", "answer words", False),
    Metric("latency", "latency (s)", False), Metric("tokens_per_second", "tokens/s", False),
)
METRIC = {m.key: m for m in METRICS}


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower, drop punctuation, drop articles, collapse whitespace.

    >>> normalize_answer("  The  Normans' land, an ARMY!")
    'normans land army'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    """Normalised tokens: "The Eiffel Tower!" → ["eiffel", "tower"]."""
    return normalize_answer(text).split() if text else []


def _references(answers: str | Sequence[str]) -> list[str]:
    # As in the v2.0 script: answers that normalise to nothing are dropped, and a question left
    # with none is scored against the empty answer.
    answers = [answers] if isinstance(answers, str) else list(answers)
    kept = [a for a in answers if normalize_answer(a)]
    return kept or [""]


def _f1(prediction: list[str], reference: list[str]) -> float:
    if not prediction or not reference:
        return float(prediction == reference)
    same = sum((Counter(prediction) & Counter(reference)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction), same / len(reference)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, answers: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised answer, else 0.0.

    >>> exact_match("Denver Broncos", ["Denver Broncos", "The Broncos"]), exact_match("Broncos", "Denver Broncos")
    (1.0, 0.0)
    """
    said = normalize_answer(prediction)
    return max(float(said == normalize_answer(a)) for a in _references(answers))


def token_f1(prediction: str, answers: str | Sequence[str]) -> float:
    """Harmonic mean of token precision and recall (bag of normalised tokens), best over answers.

    >>> token_f1("the Denver Broncos won", "Denver Broncos")   # P = 2/3, R = 1
    0.8
    """
    said = answer_tokens(prediction)
    return max(_f1(said, answer_tokens(a)) for a in _references(answers))


def contains_answer(prediction: str, answers: str | Sequence[str]) -> float:
    """1.0 when a normalised answer appears, as whole words, in the normalised prediction.

    >>> contains_answer("The warranty lasts 30 months [1].", ["30 months"]), contains_answer("It lasts 300 months", "30 months")
    (1.0, 0.0)
    """
    said = f" {normalize_answer(prediction)} "
    return max(float(bool(a) and f" {a} " in said) for a in map(normalize_answer, _references(answers)))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence: ("a","b","c","d"), ("a","c","d") → 3."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, answers: str | Sequence[str]) -> float:
    """ROUGE-L F-measure (β = 1) on normalised tokens, best over answers.

    It equals token F1 whenever the shared words come in the same order in both, which is nearly
    always the case for SQuAD's short answer spans; it differs on order:

    >>> round(rouge_l("The police shot the gunman", "police killed the gunman"), 3)   # LCS 2, P 2/3, R 2/3
    0.667
    >>> round(rouge_l("gunman shot police", "police shot gunman"), 3), token_f1("gunman shot police", "police shot gunman")
    (0.333, 1.0)
    """
    said = answer_tokens(prediction)
    best = 0.0
    for answer in _references(answers):
        reference = answer_tokens(answer)
        if not said or not reference:
            best = max(best, float(said == reference))
            continue
        common = lcs_length(said, reference)
        if common:
            precision, recall = common / len(said), common / len(reference)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def content_tokens(text: str) -> list[str]:
    """Normalised tokens that are not stopwords: "It was built in 1889." → ["built", "1889"]."""
    return [t for t in answer_tokens(text) if t not in STOPWORDS]


def faithfulness(answer: str, contexts: Sequence[str] | None) -> float | None:
    """Share of the answer's content tokens found in the retrieved context (citations ignored).

    None when there is no context to check against (base and sft modes) or the answer says
    nothing checkable.

    >>> faithfulness("The tower is 330 metres tall [1].", ["The Eiffel Tower is 330 metres tall."])
    1.0
    >>> faithfulness("Built by Gustave Eiffel", ["Gustave Eiffel's company built it."]), faithfulness("x", None)
    (0.6666666666666666, None)
    """
    if not contexts:
        return None
    said = content_tokens(strip_citations(answer))
    if not said:
        return None
    known = {token for context in contexts for token in answer_tokens(context)}
    return sum(token in known for token in said) / len(said)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, resamples: int = 1000,
                 seed: int = 0) -> CI | None:
    """The mean and its percentile-bootstrap interval; None for no values.

    Resamples the values with replacement `resamples` times (seeded: the same input gives the
    same interval) and takes the (1 ± confidence) / 2 quantiles of the resampled means.

    >>> bootstrap_ci([0.5, 0.5, 0.5])
    CI(mean=0.5, low=0.5, high=0.5, n=3)
    """
    import numpy as np

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return None
    mean = float(data.mean())
    if data.size == 1 or resamples < 1:
        return CI(mean, mean, mean, int(data.size))
    picks = np.random.default_rng(seed).integers(0, data.size, size=(resamples, data.size))
    means = data[picks].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    # Quantiles of resampled means can miss the sample mean by a rounding error; keep low ≤ mean ≤ high.
    return CI(mean, min(float(low), mean), max(float(high), mean), int(data.size))


__all__ = ["CI", "METRIC", "METRICS", "Metric", "STOPWORDS", "answer_tokens", "bootstrap_ci", "content_tokens",
           "exact_match", "faithfulness", "lcs_length", "normalize_answer", "rouge_l", "token_f1"]
