"""Fusing ranked lists from several retrievers into one.

    >>> rrf({"bm25": [7, 3], "dense": [3, 9]}, k=60)[0]
    (3, 0.0325...)

Each function takes {retriever: rows best-first} (and scores where needed) and returns
[(row, fused score)] best first. Ties keep the order of first appearance.
"""

from __future__ import annotations

import functools
from typing import Sequence


def rrf(rankings: dict[str, Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion (Cormack et al. 2009): score = Σ 1 / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for rows in rankings.values():
        for rank, row in enumerate(rows, start=1):
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def min_max(scores: Sequence[float]) -> list[float]:
    """[2, 4, 3] → [0.0, 1.0, 0.5]; a constant list → all 1.0."""
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def _mean_and_spread(scores: Sequence[float]) -> tuple[float, float]:
    mean = sum(scores) / len(scores)
    return mean, (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5


def z_score(scores: Sequence[float]) -> list[float]:
    """[1, 2, 3] → [-1.22, 0.0, 1.22]: distance from the list's mean in standard deviations."""
    mean, spread = _mean_and_spread(scores)
    if spread == 0:
        return [0.0] * len(scores)
    return [(s - mean) / spread for s in scores]


def dbsf(scores: Sequence[float]) -> list[float]:
    """Distribution-based score fusion (as Qdrant): min-max between mean ± 3σ, clipped to [0, 1]."""
    mean, spread = _mean_and_spread(scores)
    if spread == 0:
        return [1.0] * len(scores)
    low, high = mean - 3 * spread, mean + 3 * spread
    return [min(1.0, max(0.0, (s - low) / (high - low))) for s in scores]


NORMALISERS = {"minmax": min_max, "zscore": z_score, "dbsf": dbsf}
NORMALISED = tuple(NORMALISERS)


def weighted(
    rankings: dict[str, Sequence[int]],
    scores: dict[str, Sequence[float]],
    weights: dict[str, float],
    normalise: str = "minmax",
) -> list[tuple[int, float]]:
    """Weighted sum of each retriever's normalised scores. A row one retriever did not return
    counts as that retriever's lowest normalised score (0 for min-max)."""
    norms = {name: dict(zip(map(int, rows), NORMALISERS[normalise](list(scores[name]))))
             for name, rows in rankings.items() if len(rows)}
    fused: dict[int, float] = {}
    for name, by_row in norms.items():
        for row in by_row:
            fused.setdefault(row, 0.0)
    for name, by_row in norms.items():
        floor = min(by_row.values())
        weight = weights.get(name, 0.0)
        for row in fused:
            fused[row] += weight * by_row.get(row, floor)
    return sorted(fused.items(), key=lambda item: -item[1])


FUSERS = {"rrf": rrf, **{name: functools.partial(weighted, normalise=name) for name in NORMALISED}}
