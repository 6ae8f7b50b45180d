"""Text → BM25 terms, for English and CJK text alike.

    >>> Terms().split("Indexing the Docs, quickly")
    ['index', 'doc', 'quick']
    >>> Terms().split("检索增强生成")
    ['检索', '索增', '增强', '强生', '生成']

Latin-script words are lower-cased, optionally stop-worded and Snowball-stemmed. CJK text
has no spaces, so runs of Han/Kana/Hangul characters become overlapping character bigrams
(a lone character stays a unigram): the usual choice when no word segmenter is at hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")


def cjk_bigrams(run: str) -> list[str]:
    """'检索增强' → ['检索', '索增', '增强']; a single character stays as it is."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _english_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@dataclass
class Terms:
    """A BM25 tokenizer; the same settings must be used to index and to query."""

    stemming: bool = True
    stopwords: bool = True
    _stop: frozenset[str] = field(init=False, repr=False)
    _stemmer: object = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._stop = _english_stopwords() if self.stopwords else frozenset()
        if self.stemming:
            import Stemmer  # PyStemmer: C Snowball stemmers with a word cache

            self._stemmer = Stemmer.Stemmer("english")

    def split(self, text: str) -> list[str]:
        words: list[str] = []
        out: list[str] = []
        for match in _TOKEN.finditer(text.lower()):
            token = match.group()
            if _IS_CJK.match(token):
                out.extend(cjk_bigrams(token))
            elif token not in self._stop:
                words.append(token)
        if self._stemmer is not None and words:
            words = self._stemmer.stemWords(words)
        return words + out if out else words

    def split_many(self, texts: list[str]) -> list[list[str]]:
        return [self.split(t) for t in texts]
