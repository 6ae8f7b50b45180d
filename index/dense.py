"""FAISS inner-product index over normalised vectors: exact (flat), IVF or HNSW, chosen by size.

    >>> choose_kind("auto", 5_000), choose_kind("auto", 500_000), choose_kind("hnsw", 10)
    ('flat', 'ivf', 'hnsw')

Vectors are kept only inside the FAISS file; an incremental rebuild reads them back with
`vectors()` instead of re-embedding unchanged chunks. The thresholds and search widths below
come from bench/dense_index.py (results in bench/results/dense_index.md).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

AUTO_FLAT_MAX = 20_000
"""`auto` builds an exact flat index up to this many vectors and IVF above: one query scans every
vector of a flat index (0.7-1.2 ms per 10k MiniLM vectors on one core), IVF a few percent of them,
and 3 ms is the dense index's share of a 20 ms hybrid search."""
HNSW_EF_SEARCH = 512  # candidates explored per HNSW query: recall@10 ≥ 0.98 of flat at 100k (bench/dense_index.py)
HNSW_EF_CONSTRUCTION = 80
IVF_TRAIN_PER_LIST = 32  # k-means trains on this many sampled vectors per list (faiss's default 256 is 8× the work)
IVF_KMEANS_ITERATIONS = 10
IVF_SEED = 1234


class DenseHits(NamedTuple):
    rows: np.ndarray
    scores: np.ndarray


def choose_kind(requested: str, n_vectors: int, flat_max: int | None = None) -> str:
    """The index kind to build: `requested` itself, or for "auto" flat up to `flat_max` vectors
    (default AUTO_FLAT_MAX) and IVF above. choose_kind("auto", 20_001) → 'ivf'."""
    if requested != "auto":
        return requested
    return "flat" if n_vectors <= (AUTO_FLAT_MAX if flat_max is None else flat_max) else "ivf"


def ivf_lists(n_vectors: int) -> int:
    """IVF cells for n vectors: 4·√n, at most one per 39 vectors. ivf_lists(100_000) → 1264."""
    return max(1, min(int(4 * math.sqrt(n_vectors)), n_vectors // 39))


def ivf_probes(n_lists: int) -> int:
    """Cells visited per query: 3·√lists, at least 64 (all of them when there are fewer).
    ivf_probes(1264) → 107: recall@10 ≥ 0.98 of flat from 20k to 300k vectors in bench/dense_index.py."""
    return min(n_lists, max(64, round(3 * math.sqrt(n_lists))))


def _kind_of(index) -> str:
    if hasattr(index, "hnsw"):
        return "hnsw"
    if hasattr(index, "nprobe"):
        return "ivf"
    return "flat"


def _build_ivf(vectors: np.ndarray):
    import faiss

    n, dim = vectors.shape
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, ivf_lists(n), faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_KMEANS_ITERATIONS
    index.cp.seed = IVF_SEED
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST  # faiss samples (seeded) down to this
    index.cp.min_points_per_centroid = 1
    index.train(vectors)
    return index


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """One query runs on one OpenMP thread: on a busy machine a 2-thread flat scan took 5-10× as
    long, waiting at the thread barrier (bench/results/dense_index.md). The setting is per thread,
    and restored, so builds keep all cores."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


class DenseIndex:
    def __init__(self, faiss_index) -> None:
        self.index = faiss_index

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "flat", hnsw_m: int = 32) -> "DenseIndex":
        """vectors (n, dim) → an index of `kind` ("flat", "ivf", "hnsw", or "auto": by n)."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = choose_kind(kind, n)
        if kind == "ivf" and n == 0:
            kind = "flat"  # nothing to train on
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        elif kind == "ivf":
            index = _build_ivf(vectors)
        else:
            index = faiss.IndexFlatIP(dim)
        if n:
            index.add(vectors)
        return cls(index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def kind(self) -> str:
        """What was built: "flat", "ivf" or "hnsw"."""
        return _kind_of(self.index)

    def params(self) -> dict:
        """The kind and its search-relevant sizes, as the manifest records them."""
        if self.kind == "ivf":
            return {"kind": "ivf", "ivf_lists": int(self.index.nlist), "ivf_probes": ivf_probes(self.index.nlist)}
        if self.kind == "hnsw":
            return {"kind": "hnsw", "hnsw_ef_search": HNSW_EF_SEARCH}
        return {"kind": "flat"}

    def vectors(self) -> np.ndarray:
        if len(self) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.kind == "ivf":
            self.index.make_direct_map()  # IVF finds a vector by its row only through this map
        return self.index.reconstruct_n(0, len(self))

    def search(self, query: np.ndarray, k: int) -> DenseHits:
        if len(self) == 0:
            return DenseHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        kind = self.kind
        if kind == "hnsw":
            self.index.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
        elif kind == "ivf":
            self.index.nprobe = ivf_probes(self.index.nlist)
        with _one_thread():
            scores, rows = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, len(self)))
        keep = rows[0] >= 0
        return DenseHits(rows[0][keep], scores[0][keep])

    def scores_for(self, query: np.ndarray, rows: list[int]) -> np.ndarray | None:
        """Exact inner products of `query` with the stored vectors of `rows` (None when this
        kind of index cannot give its vectors back)."""
        if not rows:
            return np.zeros(0, dtype=np.float32)
        ids = np.asarray(rows, dtype=np.int64)
        try:
            vectors = self.index.reconstruct_batch(ids)
        except RuntimeError:
            if not hasattr(self.index, "make_direct_map"):
                return None
            self.index.make_direct_map()  # IVF keeps no row → list map until one is asked for
            vectors = self.index.reconstruct_batch(ids)
        return vectors @ query.astype(np.float32)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> "DenseIndex":
        """Read an index; `mmap` maps the file instead of copying it into memory, so opening is
        instant and only the pages a search touches are read (IVF: the visited cells; flat: all)."""
        import faiss

        if not mmap:
            return cls(faiss.read_index(str(path)))
        return cls(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY))
