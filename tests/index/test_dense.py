"""FAISS index kinds: `auto` by collection size, IVF and HNSW against exact search, mmap loading."""

import json

import numpy as np
import pytest

import index.dense
import index.retriever
from index import store
from index.build import build_collection
from index.config import IndexConfig
from index.dense import DenseIndex, choose_kind, ivf_lists, ivf_probes
from index.retriever import Retriever
from index.store import ChunkFile, Collection
from index.types import Chunk


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """n unit vectors around 40 centres: neighbours exist, as with real embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    out = centres[rng.integers(0, 40, n)] + rng.normal(0, 0.3, size=(n, dim))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_auto_is_flat_up_to_the_threshold_and_ivf_above():
    limit = index.dense.AUTO_FLAT_MAX
    assert choose_kind("auto", limit) == "flat"
    assert choose_kind("auto", limit + 1) == "ivf"
    assert choose_kind("auto", 50, flat_max=10) == "ivf"
    assert choose_kind("hnsw", 5) == choose_kind("hnsw", 10**7) == "hnsw"
    assert ivf_lists(100_000) == 1264 and ivf_lists(10) == 1
    assert ivf_probes(10) == 10 and ivf_probes(300) == 64 and ivf_probes(ivf_lists(10**6)) == 190


def test_auto_builds_the_kind_for_the_size(monkeypatch):
    vectors = clustered(600)
    assert DenseIndex.build(vectors, "auto").kind == "flat"
    monkeypatch.setattr(index.dense, "AUTO_FLAT_MAX", 500)
    built = DenseIndex.build(vectors, "auto")
    assert built.kind == "ivf" and built.params() == {"kind": "ivf", "ivf_lists": 15, "ivf_probes": 15}
    assert DenseIndex.build(vectors[:500], "auto").kind == "flat"
    assert DenseIndex.build(vectors[:0], "ivf").kind == "flat"  # nothing to train on


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_kinds_find_what_flat_finds(kind):
    vectors, queries = clustered(3000), clustered(30, seed=1)
    exact = DenseIndex.build(vectors, "flat")
    approximate = DenseIndex.build(vectors, kind, hnsw_m=16)
    overlap, same_first = [], []
    for query in queries:
        want, got = exact.search(query, 10), approximate.search(query, 10)
        np.testing.assert_allclose(got.scores, vectors[got.rows] @ query, atol=1e-5)
        overlap.append(len(set(want.rows) & set(got.rows)) / 10)
        same_first.append(got.rows[0] == want.rows[0])
    # Approximate: HNSW missed one top-1 of 30 here (recall@10 0.99); IVF found them all.
    assert np.mean(overlap) >= 0.95 and np.mean(same_first) >= 0.9


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_vectors_come_back_and_mmap_loading_searches_the_same(tmp_path, kind):
    vectors = clustered(1000)
    built = DenseIndex.build(vectors, kind, hnsw_m=16)
    np.testing.assert_array_equal(built.vectors(), vectors)  # incremental builds reuse these
    built.save(tmp_path / "dense.faiss")
    loaded, mapped = DenseIndex.load(tmp_path / "dense.faiss"), DenseIndex.load(tmp_path / "dense.faiss", mmap=True)
    assert loaded.kind == mapped.kind == kind
    for query in clustered(5, seed=2):
        want = built.search(query, 10)
        for other in (loaded, mapped):
            got = other.search(query, 10)
            np.testing.assert_array_equal(got.rows, want.rows)


def test_chunk_file_reads_the_rows_read_chunks_reads(tmp_path):
    chunks = [Chunk(id=f"c{i}", source="a.md", title_path=("Guide", "Ünïcode"), start=i, end=i + 1,
                    text=f"line {i}\nwith \"quotes\" and 检索 {i}") for i in range(5)]
    path = tmp_path / "chunks.jsonl"
    store.write_chunks(path, chunks)
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a stray blank line
    lazy = ChunkFile(path)
    assert len(lazy) == 5 and list(lazy) == store.read_chunks(path) == chunks
    assert lazy[-1] == chunks[4] and lazy[1:3] == chunks[1:3]
    with pytest.raises(IndexError):
        lazy[5]
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert len(ChunkFile(tmp_path / "empty.jsonl")) == 0


DOCS = {
    "install.md": "# Install\n\nRun the installer. The Zorblax daemon listens on port 7431.\n",
    "security.md": "# Security\n\nFirmware is signed with the key named amber-falcon.\n",
    "faq.txt": "Frequently asked questions.\nThe blue light means the controller is pairing.\n",
}


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_the_manifest_records_the_kind_built_and_old_manifests_still_match(docs, tmp_path, monkeypatch):
    collection = Collection(tmp_path / "project", "docs")
    build_collection([docs], collection)
    dense = collection.manifest().index_settings["dense"]
    assert dense["kind"] == "flat" and dense["requested"] == "auto"

    # A manifest written before "auto" ({"kind": "flat", "hnsw_m": 32}) is what auto builds: nothing to do.
    path = collection.version_dir() / store.MANIFEST
    data = json.loads(path.read_text())
    data["index_settings"]["dense"] = {"kind": "flat", "hnsw_m": 32}
    path.write_text(json.dumps(data))
    assert not build_collection([docs], collection).written
    assert not build_collection([docs], collection, IndexConfig(dense_index="flat")).written

    monkeypatch.setattr(index.dense, "AUTO_FLAT_MAX", 1)  # the collection is now "big"
    assert build_collection([docs], collection).written
    dense = collection.manifest().index_settings["dense"]
    assert dense["kind"] == "ivf" and dense["requested"] == "auto" and dense["ivf_lists"] >= 1
    retriever = Retriever.open(collection)
    assert retriever.dense.kind == "ivf"
    assert retriever.search("pairing blue light", mode="dense", k=1)[0].chunk.source.endswith("faq.txt")


def test_mmap_opening_gives_the_same_hits(docs, tmp_path, monkeypatch):
    collection = Collection(tmp_path / "project", "docs")
    build_collection([docs], collection)
    whole, mapped = Retriever.open(collection), Retriever.open(collection, mmap=True)
    assert isinstance(whole.chunks, list) and isinstance(mapped.chunks, ChunkFile)
    monkeypatch.setattr(index.retriever, "MMAP_FROM", 2)  # big collections are mapped unless told otherwise
    assert isinstance(Retriever.open(collection).chunks, ChunkFile)
    assert isinstance(Retriever.open(collection, mmap=False).chunks, list)
    for query in ("which port does the daemon listen on", "amber-falcon signing key", "blue light"):
        for mode in ("hybrid", "bm25", "dense"):
            assert whole.search(query, mode=mode) == mapped.search(query, mode=mode)
    assert mapped.mentions("Zorblax") and not mapped.mentions("Quuxly")
