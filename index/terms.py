"""Text → BM25 terms, for English and CJK text alike.

    >>> Terms().split("Indexing the Docs, quickly")
    ['index', 'doc', 'quick']
    >>> Terms(cjk="bigram").split("检索增强")
    ['检索', '索增', '增强']
    >>> Terms(cjk="unigram+bigram").split("用ＰＩＰ安装")
    ['pip', '用', '安', '装', '安装']

Text is NFKC-normalised first, so full-width Latin letters and digits (ＰＩＰ３) match their
ASCII forms and compatibility ideographs match the unified ones. Latin-script words are
lower-cased, optionally stop-worded and Snowball-stemmed. CJK text has no spaces, so a run of
Han/Kana/Hangul characters becomes overlapping character bigrams, with or without the single
characters too (`cjk`); bench/zh_retrieval.py measured both against the jieba segmenter.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable
from dataclasses import dataclass, field

# Kana, Han (with 々〆〇 and the rare-character planes), Hangul syllables.
_CJK = ("\u3005-\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
        "\U00020000-\U0003134f")
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
CJK_CHARACTER = re.compile(rf"[{_CJK}]")
"""One Han, Kana or Hangul character: `CJK_CHARACTER.match(text)` tells whether text starts with one."""


def cjk_bigrams(run: str) -> list[str]:
    """'检索增强' → ['检索', '索增', '增强']; a single character stays as it is."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def cjk_unigrams_and_bigrams(run: str) -> list[str]:
    """'检索增强' → ['检', '索', '增', '强', '检索', '索增', '增强']: a word that a query writes
    differently still shares its characters; the bigrams keep word order."""
    return list(run) + cjk_bigrams(run) if len(run) > 1 else [run]


CJK_SPLITS = {"bigram": cjk_bigrams, "unigram+bigram": cjk_unigrams_and_bigrams}
"""How a run of CJK characters becomes terms, by the name `[index] cjk` uses."""


def _english_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@dataclass
class Terms:
    """A BM25 tokenizer; the same settings must be used to index and to query."""

    stemming: bool = True
    stopwords: bool = True
    cjk: str | Callable[[str], list[str]] = "bigram"
    """A key of CJK_SPLITS, or a function from a run of CJK characters to its terms (a segmenter
    such as jieba, which bench/zh_retrieval.py measures; `[index] cjk` takes the names only)."""
    _stop: frozenset[str] = field(init=False, repr=False)
    _stemmer: object = field(init=False, repr=False, default=None)
    _split_cjk: object = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if callable(self.cjk):
            self._split_cjk = self.cjk
        elif self.cjk in CJK_SPLITS:
            self._split_cjk = CJK_SPLITS[self.cjk]
        else:
            raise ValueError(f"cjk must be one of {', '.join(CJK_SPLITS)}; got {self.cjk!r}")
        self._stop = _english_stopwords() if self.stopwords else frozenset()
        if self.stemming:
            import Stemmer  # PyStemmer: C Snowball stemmers with a word cache

            self._stemmer = Stemmer.Stemmer("english")

    def split(self, text: str) -> list[str]:
        words: list[str] = []
        out: list[str] = []
        if not text.isascii():  # ASCII is already in NFKC form
            text = unicodedata.normalize("NFKC", text)
        for match in _TOKEN.finditer(text.lower()):
            token = match.group()
            if CJK_CHARACTER.match(token):
                out.extend(self._split_cjk(token))
            elif token not in self._stop:
                words.append(token)
        if self._stemmer is not None and words:
            words = self._stemmer.stemWords(words)
        return words + out if out else words

    def split_many(self, texts: list[str]) -> list[list[str]]:
        return [self.split(t) for t in texts]
