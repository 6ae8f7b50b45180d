"""Near-duplicate records: MinHash signatures and locality-sensitive hashing (the `datasketch`
package, maintained, and the standard way to do this at scale) find candidate pairs without
comparing every pair; each candidate is then checked with the exact Jaccard similarity of its
character shingles, part by part, so the hashing's false positives never reach a report.

A record is compared as parts (a chat example: its prompt and its answer): two records are near
duplicates only when every part is, so one question with two different answers is a conflict to
report, not a duplicate to drop.

    >>> pairs = near_duplicate_pairs([("How do I install Poetry?", "pipx install poetry"),
    ...                                ("How do I instal Poetry?", "pipx install poetry"),
    ...                                ("How do I install Poetry?", "use the official installer")])
    >>> [(pair.first, pair.second) for pair in pairs]
    [(0, 1)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .normalize import duplicate_key

SHINGLE = 4
"""Characters per shingle: long enough to tell words apart, short enough for Chinese text."""
PERMUTATIONS = 128
THRESHOLD = 0.7
"""Jaccard similarity of shingles from which two parts count as the same (see bench/near_duplicates.py)."""


@dataclass(frozen=True)
class NearPair:
    first: int
    """Index of the earlier record (the one kept)."""
    second: int
    similarity: float
    """The lowest part similarity of the two."""


def shingles(text: str, size: int = SHINGLE) -> frozenset[str]:
    """The character `size`-grams of text's duplicate key; a shorter text is its own one shingle.

    >>> sorted(shingles("Ab cd", 4))
    ['ab c', 'b cd']
    """
    key = duplicate_key(text)
    if len(key) <= size:
        return frozenset([key])
    return frozenset(key[i : i + size] for i in range(len(key) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicate_pairs(records: Sequence[Sequence[str]], threshold: float = THRESHOLD,
                         shingle: int = SHINGLE) -> list[NearPair]:
    """Pairs of records (each a sequence of text parts) whose every part has a shingle Jaccard
    similarity of at least `threshold`, the earlier record first, sorted."""
    from datasketch import MinHash, MinHashLSH  # lazy: numpy and scipy, which reading data needs not

    if not 0 < threshold <= 1:
        raise ValueError(f"the near-duplicate threshold must be above 0 and at most 1, not {threshold}")
    parts = [[shingles(part, shingle) for part in record] for record in records]
    joined = [[f"{n}|{gram}".encode() for n, part in enumerate(record) for gram in part] for record in parts]
    # LSH on everything at a lower bar than the check: a pair whose parts each pass can have a
    # lower joined similarity, and LSH itself misses some pairs near its threshold.
    lsh = MinHashLSH(threshold=max(0.05, threshold - 0.2), num_perm=PERMUTATIONS)
    signatures = MinHash.bulk(joined, num_perm=PERMUTATIONS, seed=1)
    pairs = []
    for index, signature in enumerate(signatures):
        for other in lsh.query(signature):
            if len(parts[other]) == len(parts[index]):
                similarity = min((jaccard(a, b) for a, b in zip(parts[other], parts[index])), default=1.0)
                if similarity >= threshold:
                    pairs.append(NearPair(other, index, round(similarity, 3)))
        lsh.insert(index, signature)
    return sorted(pairs, key=lambda pair: (pair.first, pair.second))
