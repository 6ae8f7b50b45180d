"""Citations: the [n] an answer writes, read, stripped, or found by content when a small model
wrote none. One pattern for all of them.

    >>> parse_citations("Port 7431 [2], see also [1, 2] and [9].", sources=3)
    [2, 1]
    >>> strip_citations("It lasts 30 months [1]. Ask us [source 2].")
    'It lasts 30 months . Ask us .'
    >>> attribute("The port is 7431.", "Which port?", ["Use port 80.", "Port 7431 is the default."])
    [2]
"""

from __future__ import annotations

import re
from typing import Sequence

from index.terms import Terms

CITATION = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:,|-|–|and)\s*\d+)*)\s*\]", re.IGNORECASE)
"""[1], [1, 2], [1-3], [1 and 2], [source 2]; group 1 holds the numbers."""


def parse_citations(text: str, sources: int) -> list[int]:
    """Source numbers cited as [n], [n, m], [n-m] or [source n], in order of first mention,
    keeping only numbers of sources that were given (1..sources)."""
    cited: list[int] = []
    for match in CITATION.finditer(text):
        numbers: list[int] = []
        for part in re.split(r"\s*(?:,|and)\s*", match.group(1)):
            if re.search(r"[-–]", part):
                low, high = (int(n) for n in re.split(r"\s*[-–]\s*", part))
                numbers += range(low, high + 1) if 0 < high - low < 20 else [low, high]
            elif part:
                numbers.append(int(part))
        for n in numbers:
            if 1 <= n <= sources and n not in cited:
                cited.append(n)
    return cited


def strip_citations(text: str) -> str:
    """The text without its [n] markers, whitespace collapsed."""
    return " ".join(CITATION.sub(" ", text).split())


def attribute(answer: str, question: str, sources: Sequence[str], share: float = 0.5) -> list[int]:
    """The sources that hold what the answer adds to the question, for answers that cite nothing.

    Small models often answer from the sources without writing [n]. The answer's terms that are
    not in the question (the new facts: '7431', 'amber-falcon') are looked up in each source; a
    source holding at least `share` of them, and nearly as many as the best source, is returned.
    """
    terms = Terms()
    said = set(terms.split(answer))
    new = said - set(terms.split(question)) or said
    if not new:
        return []
    support = [len(new & set(terms.split(text))) / len(new) for text in sources]
    best = max(support, default=0.0)
    if best < share:
        return []
    return [n for n, value in enumerate(support, start=1) if value >= share and value >= 0.8 * best]


__all__ = ["CITATION", "attribute", "parse_citations", "strip_citations"]
