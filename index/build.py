"""`assistant index PATH...`: load → chunk → embed → BM25 + FAISS → publish a new version.

Incremental: a file whose size and mtime (or, failing that, content hash) match the live
version keeps its chunks and vectors; only new or changed files are loaded and embedded, and
files gone from the indexed folders are dropped. When nothing changed nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import store
from .chunking import Chunker, search_text
from .config import IndexConfig
from .embedder import Embedder, load_tokenizer, resolve_embedder
from .loaders import LoaderOptions, UnsupportedFile, discover, load_file
from .store import Collection, StoreError
from .terms import Terms
from .types import Chunk, LoadError


class BuildReporter:
    """Progress hooks for a build; the CLI and TUI subclass it. The base reports nothing."""

    def start(self, stage: str, total: int) -> None:
        """stage is "files" (loading and chunking) or "embed" (chunks to embed)."""

    def advance(self, stage: str, n: int = 1) -> None: ...

    def problem(self, source: str, reason: str, failed: bool) -> None:
        """A skipped (failed=False) or unreadable (failed=True) file."""


@dataclass
class BuildReport:
    collection: str
    files: int = 0
    new_or_changed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    written: bool = False

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _FileState:
    key: str  # absolute path: identity across runs from different working directories
    source: str  # the path as shown to users
    size: int
    mtime_ns: int


def display_path(path: Path) -> str:
    """Relative to the working directory when the file is under it, else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings(config: IndexConfig, loader: LoaderOptions) -> dict:
    """What decides the content of chunks and vectors; a change means re-chunking everything."""
    return {
        "embedder": resolve_embedder(config.embedder).name,
        "chunk_tokens": config.chunk_tokens,
        "chunk_overlap": config.chunk_overlap,
        "loader": asdict(loader),
    }


def _index_settings(config: IndexConfig) -> dict:
    return {
        "dense": {"kind": config.dense_index, "hnsw_m": config.hnsw_m},
        "sparse": {"backend": config.sparse_backend, "variant": config.bm25_variant,
                   "k1": config.bm25_k1, "b": config.bm25_b,
                   "stemming": config.stemming, "stopwords": config.stopwords},
    }


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("assistant", "faiss-cpu", "bm25s", "rank-bm25", "sentence-transformers", "transformers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _under(key: str, roots: list[Path]) -> bool:
    path = Path(key)
    return any(path == root or root in path.parents for root in roots)


def build_collection(
    paths: list[Path],
    collection: Collection,
    config: IndexConfig | None = None,
    reporter: BuildReporter | None = None,
    rebuild: bool = False,
    loader: LoaderOptions | None = None,
) -> BuildReport:
    """Index `paths` (files or folders) into `collection`, reusing what has not changed.

    `loader` overrides how JSON/JSONL records are read (default: config.text_field).
    """
    config = config or IndexConfig()
    reporter = reporter or BuildReporter()
    loader = loader or LoaderOptions(text_field=config.text_field)
    began = time.perf_counter()
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    roots = [p.resolve() for p in paths]
    report = BuildReport(collection.name)

    with collection.lock():
        previous = None if rebuild or not collection.exists() else collection.manifest()
        settings = _settings(config, loader)
        if previous is not None and previous["embedder"]["name"] != settings["embedder"]:
            raise StoreError(
                f"collection {collection.name!r} was built with embedder {previous['embedder']['name']}, "
                f"not {settings['embedder']}; add --rebuild to re-embed it, or use another --collection"
            )
        reusable = previous is not None and previous["settings"] == settings
        old_files: dict = previous["files"] if previous else {}

        walked = []
        for path in discover(paths):
            stat = path.stat()
            walked.append(_FileState(str(path.resolve()), display_path(path), stat.st_size, stat.st_mtime_ns))
        walked_keys = {f.key for f in walked}

        kept: dict[str, dict] = {}  # key → old manifest record (chunks reused)
        to_load: list[tuple[_FileState, str]] = []
        for state in walked:
            old = old_files.get(state.key) if reusable else None
            if old and old["size"] == state.size and old["mtime_ns"] == state.mtime_ns:
                kept[state.key] = old
                continue
            digest = sha256_file(Path(state.key))
            if old and old["sha256"] == digest:
                kept[state.key] = {**old, "mtime_ns": state.mtime_ns}
            else:
                to_load.append((state, digest))
        # Files indexed earlier from other folders stay, unless they are gone from disk.
        for key, old in old_files.items():
            if reusable and key not in walked_keys and not _under(key, roots) and Path(key).exists():
                kept[key] = old
        removed = [k for k in old_files if k not in kept and k not in {s.key for s, _ in to_load}]
        report.unchanged = len([k for k in kept if k in walked_keys])
        report.files = len(walked)

        if (previous is not None and reusable and not to_load and not removed
                and previous["index_settings"] == _index_settings(config)):
            report.chunks = previous["counts"]["chunks"]
            report.seconds = time.perf_counter() - began
            return report

        new_chunks: dict[str, list[Chunk]] = {}
        records: dict[str, dict] = {}
        chunker = Chunker(load_tokenizer(config.embedder), config.chunk_tokens, config.chunk_overlap)
        reporter.start("files", len(to_load))
        for state, digest in to_load:
            try:
                documents = load_file(Path(state.key), state.source, loader)
            except UnsupportedFile as err:
                report.skipped.append((state.source, str(err)))
                reporter.problem(state.source, str(err), failed=False)
                documents = None
            except LoadError as err:
                report.failed.append((state.source, str(err)))
                reporter.problem(state.source, str(err), failed=True)
                documents = None
                if state.key in old_files and reusable:
                    kept[state.key] = old_files[state.key]  # keep what was indexed before
            if documents is not None:
                chunks = [c for doc in documents for c in chunker.chunk(doc)]
                new_chunks[state.key] = chunks
                records[state.key] = {"source": state.source, "sha256": digest, "size": state.size,
                                      "mtime_ns": state.mtime_ns}
            reporter.advance("files")
        removed = [k for k in old_files if k not in kept and k not in new_chunks]
        report.removed = len(removed)
        report.new_or_changed = len(new_chunks)

        old_chunks: list[Chunk] = []
        old_vectors = None
        if kept:
            version = collection.version_dir()
            old_chunks = store.read_chunks(version / store.CHUNKS)
            from .dense import DenseIndex

            old_vectors = DenseIndex.load(version / store.DENSE).vectors()

        all_chunks: list[Chunk] = []
        vector_rows: list[int] = []  # row in old_vectors, or -1 for a chunk to embed
        for key in sorted(set(kept) | set(new_chunks)):
            first = len(all_chunks)
            if key in new_chunks:
                all_chunks.extend(new_chunks[key])
                vector_rows.extend([-1] * len(new_chunks[key]))
                records[key]["chunks"] = len(new_chunks[key])
            else:
                old = kept[key]
                rows = range(old["first_row"], old["first_row"] + old["chunks"])
                all_chunks.extend(old_chunks[r] for r in rows)
                vector_rows.extend(rows)
                records[key] = dict(old)
            records[key]["first_row"] = first
        if not all_chunks:
            raise StoreError(
                f"no text found to index in {', '.join(map(str, paths))} "
                f"({len(report.skipped)} skipped, {len(report.failed)} unreadable)"
            )

        to_embed = [i for i, r in enumerate(vector_rows) if r < 0]
        dim = old_vectors.shape[1] if old_vectors is not None else None
        new_vectors = None
        if to_embed:
            embedder = Embedder(config.embedder, device=config.device)
            dim = embedder.dim
            reporter.start("embed", len(to_embed))
            embed_began = time.perf_counter()
            new_vectors = embedder.encode([search_text(all_chunks[i]) for i in to_embed],
                                          batch_size=config.batch_size,
                                          on_progress=lambda n: reporter.advance("embed", n))
            report.embed_seconds = time.perf_counter() - embed_began
        vectors = np.zeros((len(all_chunks), dim), dtype=np.float32)
        reused = [i for i, r in enumerate(vector_rows) if r >= 0]
        if reused:
            vectors[reused] = old_vectors[[vector_rows[i] for i in reused]]
        if to_embed:
            vectors[to_embed] = new_vectors

        _write_version(collection, config, settings, records, all_chunks, vectors, previous)
        report.chunks = len(all_chunks)
        report.chunks_embedded = len(to_embed)
        report.written = True
        report.seconds = time.perf_counter() - began
        return report


def _write_version(collection: Collection, config: IndexConfig, settings: dict, records: dict,
                   chunks: list[Chunk], vectors: np.ndarray, previous: dict | None) -> None:
    from .dense import DenseIndex
    from .sparse import build_sparse

    terms = Terms(stemming=config.stemming, stopwords=config.stopwords)
    sparse = build_sparse(terms.split_many([search_text(c) for c in chunks]), config.sparse_backend,
                          config.bm25_variant, config.bm25_k1, config.bm25_b)
    dense = DenseIndex.build(vectors, config.dense_index, config.hnsw_m)

    version = collection.new_version_dir()
    store.write_chunks(version / store.CHUNKS, chunks)
    dense.save(version / store.DENSE)
    sparse.save(version / store.SPARSE)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest = {
        "format_version": store.FORMAT_VERSION,
        "name": collection.name,
        "created": previous["created"] if previous else now,
        "updated": now,
        "embedder": {"name": settings["embedder"], "dim": int(vectors.shape[1])},
        "settings": settings,
        "index_settings": _index_settings(config),
        "counts": {"files": len(records), "chunks": len(chunks)},
        "files": records,
        "versions": _versions(),
    }
    (version / store.MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    collection.publish(version)
