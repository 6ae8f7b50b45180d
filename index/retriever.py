"""Search one collection with BM25, dense vectors, or both fused (optionally reranked).

    retriever = Retriever.open(Collection(Path(".assistant"), "docs"))
    hits = retriever.search("how do I install it?", mode="hybrid", k=5)
    hits[0].chunk.source, hits[0].ranks       # ('docs/install.md', {'bm25': 1, 'dense': 2})
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import store
from .chunking import search_text
from .config import RetrievalConfig
from .dense import DenseIndex
from .embedder import Embedder, resolve_embedder
from .fusion import rrf, weighted
from .blocks import heading_text
from .names import ACRONYM_LENGTHS, carries, mention_pattern, unsettled_characters
from .readable import MIN_KNOWN, embedder_reads
from .sparse import load_sparse, top_k
from .store import Collection, CollectionManifest, StoreError
from .terms import Terms
from .types import Chunk, Hit


SEARCH_STAGES = ("query terms", "bm25 scores + top-k", "readable check", "query embedding", "dense search",
                 "exact scores + fusion", "Hit construction")
"""The stages of a hybrid search, in order, as `Retriever.search(timings=...)` names them."""
MMAP_FROM = 200_000
"""Collections of this many chunks or more open memory-mapped unless told otherwise (Retriever.open)."""


class Retriever:
    min_known = MIN_KNOWN
    """Hybrid search leaves out the dense ranking of a query the embedder knows less than this share
    of (a Chinese question to an English-only embedder: index/readable.py); 0 always fuses it."""

    def __init__(self, collection: Collection, manifest: CollectionManifest, chunks: Sequence[Chunk], sparse,
                 dense: DenseIndex, embedder: Embedder | None = None, names: store.SavedNames | None = None) -> None:
        """`names`: what the build found of the names in the chunks (store.NAMES; Retriever.open
        reads it); without it (a collection built before builds wrote it) names are looked for in
        the chunks themselves."""
        self.collection = collection
        self.manifest = manifest
        self.chunks = chunks
        self.sparse = sparse
        self.dense = dense
        sparse_settings = manifest.sparse
        # Collections built before the CJK split was a setting record none; they used bigrams.
        self.terms = Terms(stemming=sparse_settings["stemming"], stopwords=sparse_settings["stopwords"],
                           cjk=sparse_settings.get("cjk", "bigram"))
        self._embedder = embedder
        self._reranker = None
        self._reranker_name: str | None = None
        self._titled: dict[str, bool] = {}
        self._mentioned: dict[str, bool] = {}
        self._acronyms: frozenset[str] | None = None
        self._titles: tuple[str, ...] | None = None
        self.names = names
        self._rows_of_file: dict[str, list[int]] | None = None
        self._rows_of_title: dict[str, list[int]] | None = None

    @classmethod
    def open(cls, collection: Collection, embedder: str | Embedder | None = None,
             mmap: bool | None = None) -> "Retriever":
        """Load a collection; `embedder` (a name or a loaded one) must be the one it was built with.

        `mmap=True` maps the FAISS file and the BM25 arrays instead of reading them, and parses a
        chunk only when a search returns it: opening takes a second instead of a minute at a million
        chunks, and memory holds what searches touch. None (the default) maps collections of
        MMAP_FROM chunks or more; smaller ones load whole, as before.
        """
        manifest = collection.manifest()
        version = collection.version_dir()
        built_with = manifest.embedder
        loaded = embedder if isinstance(embedder, Embedder) else None
        wanted = embedder.name if loaded else (resolve_embedder(embedder).name if embedder else built_with)
        if wanted != built_with:
            raise StoreError(
                f"collection {collection.name!r} was built with embedder {built_with}, not {wanted}; "
                f"search it with --embedder {built_with}, or re-index with --rebuild"
            )
        if mmap is None:
            mmap = manifest.chunks >= MMAP_FROM
        chunks = store.ChunkFile(version / store.CHUNKS) if mmap else store.read_chunks(version / store.CHUNKS)
        sparse = load_sparse(version / store.SPARSE, manifest.sparse["backend"], mmap=mmap)
        dense = DenseIndex.load(version / store.DENSE, mmap=mmap)
        if len(chunks) != len(dense):
            raise StoreError(f"{version}: {len(chunks)} chunks but {len(dense)} vectors; re-index with --rebuild")
        names = store.read_names(version / store.NAMES, len(chunks))
        return cls(collection, manifest, chunks, sparse, dense, loaded, names)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            # Queries through the runtime that embedded the chunks (older collections: torch);
            # int8 falls back to torch where onnxruntime is missing (vectors agree to ~0.995 cosine).
            built = self.manifest.settings.get("embed_runtime", "torch")
            self._embedder = Embedder(self.manifest.embedder, runtime="auto" if built == "onnx-int8" else built)
        return self._embedder

    def embedder_reads(self, query: str) -> bool:
        """Whether the embedder can read `query` (index/readable.py): else its dense ranking is left out."""
        return self.min_known <= 0 or embedder_reads(self.embedder.tokenizer, query, self.min_known)

    def search(self, query: str, config: RetrievalConfig | None = None, *, timings: dict[str, float] | None = None,
               **overrides) -> list[Hit]:
        """The top `k` chunks for `query`; `overrides` are RetrievalConfig fields (mode="bm25", k=5).
        A `timings` dict is filled with the milliseconds each stage took (SEARCH_STAGES), for benchmarks."""
        config = config or RetrievalConfig()
        if overrides:
            config = RetrievalConfig(**{**config.__dict__, **overrides})
        lap = _Laps(timings)
        n = config.candidates
        rankings, scores = {}, {}
        bm25_all = query_vector = None
        if config.mode in ("hybrid", "bm25"):
            query_terms = self.terms.split(query)
            lap("query terms")
            bm25_all = self.sparse.scores(query_terms)
            found = top_k(bm25_all, n)
            rankings["bm25"], scores["bm25"] = found.rows.tolist(), found.scores.tolist()
            lap("bm25 scores + top-k")
        # A dense ranking of a query the embedder cannot read is noise: BM25 ranks alone, unless it found nothing.
        fuse_dense = config.mode == "hybrid" and (not rankings["bm25"] or self.embedder_reads(query))
        lap("readable check")
        if config.mode == "dense" or fuse_dense:
            query_vector = self.embedder.encode_query(query)
            lap("query embedding")
            found = self.dense.search(query_vector, n)
            rankings["dense"], scores["dense"] = found.rows.tolist(), found.scores.tolist()
            lap("dense search")

        if len(rankings) == 1:
            (name,) = rankings
            fused = list(zip(rankings[name], scores[name]))
        elif config.fusion == "rrf":
            fused = rrf(rankings, k=config.rrf_k)
        else:
            normalise = "minmax" if config.fusion == "weighted" else config.fusion
            fused = weighted(*self._exact_scores(rankings, scores, bm25_all, query_vector),
                             {"dense": config.dense_weight, "bm25": 1 - config.dense_weight}, normalise=normalise)
        lap("exact scores + fusion")
        keep = max(config.k, config.rerank_top) if config.reranker else config.k
        positions = {name: {row: i for i, row in enumerate(rows)} for name, rows in rankings.items()}
        hits = [self._hit(row, score, positions, scores) for row, score in fused[:keep]]
        lap("Hit construction")
        if config.reranker:
            hits = self._rerank(query, hits, config)
        return hits[: config.k]

    def _exact_scores(self, rankings: dict, scores: dict, bm25_all: np.ndarray, query_vector: np.ndarray):
        """Both retrievers' scores for every candidate either one found, so normalised fusion
        compares real scores rather than a floor for "not in my top n" (measured: +0.01 nDCG@10
        on SciFact, bench/results/retrieval_tuning.md). Rankings stay as found where the dense
        index cannot give vectors back."""
        union = sorted(set(rankings["bm25"]) | set(rankings["dense"]))
        dense = self.dense.scores_for(query_vector, union)
        if dense is None:
            return rankings, scores
        return ({"bm25": union, "dense": union},
                {"bm25": bm25_all[union].tolist(), "dense": dense.tolist()})

    def _hit(self, row: int, score: float, positions: dict, scores: dict) -> Hit:
        ranks, by = {}, {}
        for name, where in positions.items():
            if row in where:
                ranks[name], by[name] = where[row] + 1, float(scores[name][where[row]])
        return Hit(self.chunks[row], float(score), ranks, by, row)

    def neighbours(self, hit: Hit) -> tuple[Chunk | None, Chunk | None]:
        """The chunks before and after `hit`'s in the same document: before, the one in the same
        section (None where the section starts); after, the next of the same section, else, where
        the section ends, the first chunk of the next one (None at the document's end). Where a
        lead-in at the end of a chunk finds the code block or steps it introduces, whether a chunk
        holds its whole section, and where a section that only leads in ("## Start the server"
        then "### From the command line") or ends a step goes on (passages.passage_for)."""
        if hit.row is None:
            return None, None
        chunk = hit.chunk

        def in_document(row: int, same_section: bool) -> Chunk | None:
            if not 0 <= row < len(self.chunks):
                return None
            other = self.chunks[row]
            if (other.source, other.locator) != (chunk.source, chunk.locator):
                return None
            return other if other.title_path == chunk.title_path or not same_section else None

        return in_document(hit.row - 1, same_section=True), in_document(hit.row + 1, same_section=False)

    def mentions(self, word: str) -> bool:
        """Whether any chunk mentions `word`: a plain word by its BM25 term ('Italy' → 'itali'), an
        acronym by its letters too ('CFO': 'Chief Financial Officer'), a code or version ('3.3',
        'T-2') as written, case and separators aside (mention_pattern). Remembered: each turn of a
        chat asks again of the names of the questions before it (index/followups.py)."""
        return _remembered(self._mentioned, word, self._is_mentioned)

    def _is_mentioned(self, word: str) -> bool:
        saved = self.names
        if word.isalpha():
            if all(self.sparse.has_term(t) for t in self.terms.split(word)):
                return True
            if not (word.isupper() and len(word) in ACRONYM_LENGTHS):
                return False
            if self._acronyms is None:  # a collection built before builds found them: one pass
                self._acronyms = saved.acronyms if saved else store.acronyms_of(self.chunks)
            return word in self._acronyms
        pattern = mention_pattern(word)
        rows = self._rows_with_all(self.terms.split(word))
        if saved is None or rows is None or unsettled_characters().search(word):
            return self._any_chunk(pattern)  # no terms to narrow by, or terms that may not be the text's
        return self._any_chunk(pattern, np.union1d(rows, saved.unsettled_rows))

    def titled(self, words: str) -> bool:
        """Whether a file name or a heading of the collection carries `words` ('Brewmaster K2' in
        'brewmaster-k2.md' or '# Brewmaster K2 manual'): a subject, not a detail of one."""
        if self._titles is None:  # a collection has far fewer titles than chunks
            self._titles = self.names.titles if self.names else store.titles_of(self.chunks)
        return _remembered(self._titled, words, self._carries_title)

    def _carries_title(self, words: str) -> bool:
        return any(carries(title, words) for title in self._titles)

    def in_files_named(self, query: str, names: Sequence[str], k: int) -> list[Hit]:
        """The `k` best chunks by BM25 for `query` in the files whose path carries one of `names`
        ('Qwen3-8B' in 'Qwen3/02-Qwen3-8B-vLLM 部署调用.md'): per-model tutorials share their
        words, so the look-alike sections of other models can outrank every chunk of the one a
        question names."""
        if self._rows_of_file is None:  # one pass over the chunks; far fewer files than chunks
            self._rows_of_file = {}
            for row, chunk in enumerate(self.chunks):
                self._rows_of_file.setdefault(chunk.source, []).append(row)
        return self._best_of([row for source, file_rows in self._rows_of_file.items()
                              if any(carries(source, n) for n in names) for row in file_rows], query, k)

    def in_sections_titled(self, query: str, titles: Sequence[str], k: int) -> list[Hit]:
        """The `k` best chunks by BM25 for `query` under a heading that reads as one of `titles`
        (lower case; backticks and bold around it aside): "`poetry version`" is documented under
        "version", which the words of "which option prints only the version number" do not find
        among the 40 sections of poetry's commands that share them. The first such question
        reads every chunk's headings once."""
        if self._rows_of_title is None:
            self._rows_of_title = {}
            for row, chunk in enumerate(self.chunks):
                for heading in set(chunk.title_path):
                    self._rows_of_title.setdefault(heading_text(heading).casefold(), []).append(row)
        rows = sorted({row for title in titles for row in self._rows_of_title.get(title, [])})
        return self._best_of(rows, query, k, "titled")

    def _best_of(self, rows: list[int], query: str, k: int, found_by: str = "named") -> list[Hit]:
        if not rows or k <= 0:
            return []
        scores = self.sparse.scores(self.terms.split(query))[rows]
        best = [i for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
        return [Hit(self.chunks[rows[i]], float(scores[i]), {found_by: n}, {found_by: float(scores[i])}, rows[i])
                for n, i in enumerate(best, start=1)]

    def _any_chunk(self, pattern: re.Pattern, rows: np.ndarray | None = None) -> bool:
        """Whether a chunk's text or heading matches `pattern`: every chunk, or those of `rows`."""
        chunks = self.chunks if rows is None else (self.chunks[int(row)] for row in rows)
        return any(pattern.search(c.text) or pattern.search(c.heading()) for c in chunks)

    def _rows_with_all(self, terms: Sequence[str]) -> np.ndarray | None:
        """The rows whose BM25 terms (of heading and text, search_text) hold every one of `terms`;
        None for no terms. A name's pattern is looked for there only: its mention is written with
        the same words ('Qwen-1.8B-Chat' as 'qwen/Qwen-1_8B-Chat': qwen, 1, 8b, chat), and reading
        every chunk took 60 ms a name at 8,400 chunks (and parses every chunk of a mapped one)."""
        rows = None
        for found in sorted((self.sparse.rows_with(term) for term in dict.fromkeys(terms)), key=len):
            rows = found if rows is None else np.intersect1d(rows, found)  # the rarest term first
            if not len(rows):
                break
        return rows

    def _rerank(self, query: str, hits: list[Hit], config: RetrievalConfig) -> list[Hit]:
        if self._reranker is None or self._reranker_name != config.reranker:
            from sentence_transformers import CrossEncoder

            self._reranker = CrossEncoder(config.reranker, trust_remote_code=False)
            self._reranker_name = config.reranker
        head, tail = hits[: config.rerank_top], hits[config.rerank_top :]
        if not head:
            return hits
        pair_scores = self._reranker.predict([(query, search_text(h.chunk)) for h in head],
                                             show_progress_bar=False)
        order = sorted(range(len(head)), key=lambda i: -float(pair_scores[i]))
        reranked = []
        for rank, i in enumerate(order, start=1):
            hit = head[i]
            reranked.append(Hit(hit.chunk, float(pair_scores[i]), {**hit.ranks, "rerank": rank},
                                {**hit.scores, "rerank": float(pair_scores[i])}, hit.row))
        return reranked + tail


class _Laps:
    """Milliseconds since the last lap, added to `timings[stage]`; nothing when timings is None."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter() if timings is not None else 0.0

    def __call__(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + (now - self.last) * 1000
            self.last = now


REMEMBERED = 4096
"""The most answers a Retriever keeps of `mentions` and of `titled` each: a server asked of ever new
names forgets them all and starts again rather than grow."""


def _remembered(answers: dict[str, bool], key: str, find: Callable[[str], bool]) -> bool:
    if key not in answers:
        if len(answers) >= REMEMBERED:
            answers.clear()
        answers[key] = find(key)
    return answers[key]


def open_collection(project_dir: Path, name: str, embedder: str | Embedder | None = None) -> Retriever:
    return Retriever.open(Collection(project_dir, name), embedder)
