"""Fusing ranked lists from several retrievers into one.

    >>> rrf({"bm25": [7, 3], "dense": [3, 9]}, k=60)[0]
    (3, 0.0325...)

Each function takes {retriever: rows best-first} (and scores where needed) and returns
[(row, fused score)] best first. Ties keep the order of first appearance.
"""

from __future__ import annotations

from typing import Sequence


def rrf(rankings: dict[str, Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion (Cormack et al. 2009): score = Σ 1 / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for rows in rankings.values():
        for rank, row in enumerate(rows, start=1):
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def _min_max(scores: Sequence[float]) -> list[float]:
    """[2, 4, 3] → [0.0, 1.0, 0.5]; a constant list → all 1.0."""
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def weighted(
    rankings: dict[str, Sequence[int]],
    scores: dict[str, Sequence[float]],
    weights: dict[str, float],
) -> list[tuple[int, float]]:
    """Weighted sum of each retriever's min-max normalised scores; a missing row counts as 0."""
    fused: dict[int, float] = {}
    for name, rows in rankings.items():
        if not len(rows):
            continue
        for row, norm in zip(rows, _min_max(list(scores[name]))):
            fused[int(row)] = fused.get(int(row), 0.0) + weights.get(name, 0.0) * norm
    return sorted(fused.items(), key=lambda item: -item[1])


FUSERS = {"rrf": rrf, "weighted": weighted}
