"""`assistant index PATH...`: load → chunk → embed → BM25 + FAISS → publish a new version.

Incremental: a file whose size and mtime (or, failing that, content hash) match the live
version keeps its chunks and vectors; only new or changed files are loaded and embedded, and
files gone from the indexed folders are dropped. When nothing changed nothing is written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import store
from .chunking import Chunker, search_text
from .config import IndexConfig
from .dense import choose_kind
from .embedder import Embedder, choose_runtime, load_tokenizer, resolve_embedder
from core.errors import InputError
from core.faults import fault_point
from .loaders import LoaderOptions, UnsupportedFile, load_file
from .store import Collection, CollectionManifest, StoreError
from .terms import Terms
from .types import Chunk, LoadError
from .walk import Skipped, walk
from .dense import DenseIndex
from .sparse import build_sparse


class BuildReporter:
    """Progress hooks for a build; the CLI and TUI subclass it. The base reports nothing."""

    def start(self, stage: str, total: int) -> None:
        """stage is "files" (loading and chunking), "model" (opening the embedder, total 1: its first
        use exports it to ONNX, several seconds) or "embed" (chunks to embed)."""

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
    """Relative to the working directory when the file is under it, else absolute; a name that
    is not valid UTF-8 shows its bad bytes escaped ('caf\\xe9.md'), so it can be printed and saved."""
    absolute = Path(os.path.abspath(path))
    try:
        shown = absolute.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = absolute
    return os.fsencode(shown).decode("utf-8", "backslashreplace")


def sha256_file(path: Path) -> str:
    """The content hash of a regular file. Opened without blocking and checked again, so a file
    swapped for a FIFO or a device since the walk fails here instead of hanging the build."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file any more")
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_settings(config: IndexConfig, loader: LoaderOptions) -> dict:
    """What decides the content of chunks and vectors; a change means re-chunking everything."""
    return {
        "embedder": resolve_embedder(config.embedder).name,
        # int8 and float vectors differ slightly; a collection is embedded by one runtime
        "embed_runtime": choose_runtime(config.embedder, config.device, config.embed_runtime),
        "chunk_tokens": config.chunk_tokens,
        "chunk_overlap": config.chunk_overlap,
        "chunk_by": config.chunk_by,
        "loader": asdict(loader),
    }


def sparse_settings(config: IndexConfig) -> dict:
    return {"backend": config.sparse_backend, "variant": config.bm25_variant, "k1": config.bm25_k1,
            "b": config.bm25_b, "stemming": config.stemming, "stopwords": config.stopwords, "cjk": config.cjk}


def index_settings(config: IndexConfig, dense: dict | None = None) -> dict:
    """The manifest's index_settings; `dense` is DenseIndex.params() of the index built, so "kind"
    is what was built ("flat", "ivf", "hnsw") and "requested" what was asked for ("auto")."""
    built = dense or {"kind": config.dense_index}
    return {"dense": {**built, "requested": config.dense_index, "hnsw_m": config.hnsw_m},
            "sparse": sparse_settings(config)}


def _same_indexes(previous: CollectionManifest, config: IndexConfig) -> bool:
    """Whether the live version holds the indexes `config` would build for its chunks: "auto"
    that chose flat is the same as "flat", and a manifest from before "auto" compares by its kind."""
    dense = previous.index_settings.get("dense", {})
    wanted = choose_kind(config.dense_index, previous.chunks)
    return (previous.sparse == sparse_settings(config) and dense.get("kind") == wanted
            and (wanted != "hnsw" or dense.get("hnsw_m") == config.hnsw_m))


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


@dataclass
class _Plan:
    """What a build does with each file; keys are absolute paths."""

    walked: list[_FileState]
    kept: dict[str, dict]  # key → previous file record: chunks and vectors are reused
    to_load: list[tuple[_FileState, str]]  # new or changed files, with their content hash
    problems: dict[str, dict]  # unchanged files that were skipped or unreadable last time
    removed: list[str]
    skipped: dict[str, dict]  # entries never read (links, FIFOs, too big, unreadable), by source


def _unchanged(old: dict | None, state: _FileState) -> str | None:
    """'same' when size and mtime match, 'hash' when only a content hash can tell, else None."""
    if not old:
        return None
    return "same" if (old["size"], old["mtime_ns"]) == (state.size, state.mtime_ns) else "hash"


def _plan(paths: list[Path], previous: CollectionManifest | None, reusable: bool, config: IndexConfig,
          max_bytes: int) -> _Plan:
    old_files = previous.files if reusable else {}
    old_problems = previous.problems if reusable else {}
    roots = [p.resolve() for p in paths]
    walked, skipped, seen = [], {}, {}
    for entry in walk(paths, config.symlinks, max_bytes):
        source = display_path(entry.path)
        if isinstance(entry, Skipped):
            skipped[source] = {"source": source, "reason": entry.reason, "failed": False}
            continue
        key = str(entry.path.resolve())
        if key in seen:  # two links (or a link and the file) to one file: index it once
            skipped[source] = {"source": source, "reason": f"the same file as {seen[key]}", "failed": False}
            continue
        seen[key] = source
        walked.append(_FileState(key, source, entry.size, entry.mtime_ns))

    plan = _Plan(walked, {}, [], {}, [], skipped)
    for state in walked:
        # A file that failed last time is compared with its failing content, not its last good one.
        reference = old_problems.get(state.key) or old_files.get(state.key)
        check = _unchanged(reference, state)
        try:
            digest = reference["sha256"] if check == "same" else sha256_file(Path(state.key))
        except OSError as err:  # unreadable (permissions), or replaced by something else since the walk
            skipped[state.source] = {"source": state.source, "reason": f"cannot read: {err.strerror or err}",
                                     "failed": True}
            continue
        if check is None or reference["sha256"] != digest:
            plan.to_load.append((state, digest))
            continue
        if state.key in old_problems:
            plan.problems[state.key] = {**old_problems[state.key], "mtime_ns": state.mtime_ns}
        if state.key in old_files:
            old = old_files[state.key]
            plan.kept[state.key] = old if state.key in old_problems else {**old, "mtime_ns": state.mtime_ns}
    walked_keys = {s.key for s in walked}
    for key, old in old_files.items():
        if key in walked_keys:
            continue
        # Files indexed earlier from other folders stay, unless they are gone from disk.
        if not _under(key, roots) and Path(key).exists():
            plan.kept[key] = old
        else:
            plan.removed.append(key)
    return plan


def _load_and_chunk(plan: _Plan, previous: CollectionManifest | None, chunker: Chunker, loader: LoaderOptions,
                    reporter: BuildReporter) -> tuple[dict[str, list[Chunk]], dict]:
    """Load and chunk the new or changed files → ({key: chunks}, {key: file record})."""
    old_files = previous.files if previous else {}
    chunks: dict[str, list[Chunk]] = {}
    records: dict[str, dict] = {}
    reporter.start("files", len(plan.to_load))
    for state, digest in plan.to_load:
        record = {"source": state.source, "sha256": digest, "size": state.size, "mtime_ns": state.mtime_ns}
        try:
            documents = load_file(Path(state.key), state.source, loader)
            chunks[state.key] = [c for doc in documents for c in chunker.chunk(doc)]
            records[state.key] = record
        except Exception as err:  # noqa: BLE001 - one bad file never stops a build: it is reported
            failed = not isinstance(err, UnsupportedFile)
            plan.problems[state.key] = {**record, "reason": problem_text(err, state.source), "failed": failed}
            if failed and state.key in old_files:
                plan.kept[state.key] = old_files[state.key]  # keep what was indexed before
        reporter.advance("files")
    return chunks, records


def problem_text(err: BaseException, source: str) -> str:
    """One line on why a file could not be indexed, without the file's name (the report has it).

    >>> problem_text(RecursionError("maximum recursion depth exceeded"), "a.html")
    'nested too deeply to parse (RecursionError)'
    """
    if isinstance(err, (UnsupportedFile, LoadError)):
        text = str(err)
    elif isinstance(err, RecursionError):
        text = "nested too deeply to parse (RecursionError)"
    elif isinstance(err, MemoryError):
        text = "too large to parse in memory (MemoryError)"
    else:
        text = f"{type(err).__name__}: {err}"
    text = text.removeprefix(f"{source}: ")
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:299] + "…"


def _assemble(collection: Collection, plan: _Plan, new_chunks: dict, records: dict):
    """All chunks in file order, and for each the row of its reusable vector (-1: embed it)."""
    old_chunks, old_vectors = [], None
    if plan.kept:
        version = collection.version_dir()
        old_chunks = store.read_chunks(version / store.CHUNKS)
        old_vectors = DenseIndex.load(version / store.DENSE).vectors()
    chunks: list[Chunk] = []
    vector_rows: list[int] = []
    for key in sorted(set(plan.kept) | set(new_chunks)):
        first = len(chunks)
        if key in new_chunks:
            chunks.extend(new_chunks[key])
            vector_rows.extend([-1] * len(new_chunks[key]))
            records[key]["chunks"] = len(new_chunks[key])
        else:
            old = plan.kept[key]
            rows = range(old["first_row"], old["first_row"] + old["chunks"])
            chunks.extend(old_chunks[r] for r in rows)
            vector_rows.extend(rows)
            records[key] = dict(old)
        records[key]["first_row"] = first
    return chunks, vector_rows, old_vectors


def _vectors(chunks: list[Chunk], vector_rows: list[int], old_vectors, config: IndexConfig, runtime: str,
             reporter: BuildReporter, report: BuildReport) -> np.ndarray:
    """Reused vectors where a chunk is unchanged; the embedder's for the rest, on `runtime` (the one
    the manifest records)."""
    to_embed = [i for i, r in enumerate(vector_rows) if r < 0]
    reused = [i for i, r in enumerate(vector_rows) if r >= 0]
    if not to_embed:
        return old_vectors[[vector_rows[i] for i in reused]]
    reporter.start("model", 1)
    embedder = Embedder(config.embedder, device=config.device, runtime=runtime)
    reporter.advance("model")
    reporter.start("embed", len(to_embed))  # after the model is open: chunks/s counts embedding alone
    began = time.perf_counter()
    fresh = embedder.encode([search_text(chunks[i]) for i in to_embed], batch_size=config.batch_size,
                            on_progress=lambda n: reporter.advance("embed", n))
    report.embed_seconds = time.perf_counter() - began
    report.chunks_embedded = len(to_embed)
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    vectors[to_embed] = fresh
    if reused:
        vectors[reused] = old_vectors[[vector_rows[i] for i in reused]]
    return vectors


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
            raise InputError(f"{path}: no such file or folder")
    report = BuildReport(collection.name)

    with collection.lock():
        previous = None if rebuild or not collection.exists() else collection.manifest()
        settings = content_settings(config, loader)
        if previous is not None and previous.embedder != settings["embedder"]:
            raise StoreError(
                f"collection {collection.name!r} was built with embedder {previous.embedder}, "
                f"not {settings['embedder']}; add --rebuild to re-embed it, or use another --collection"
            )
        reusable = previous is not None and previous.settings == settings
        plan = _plan(paths, previous, reusable, config, loader.max_file_bytes)
        report.files, report.removed = len(plan.walked), len(plan.removed)
        report.unchanged = sum(1 for s in plan.walked if s.key in plan.kept or s.key in plan.problems)

        if reusable and not plan.to_load and not plan.removed and _same_indexes(previous, config):
            collection.remove_stale()  # a build killed after publishing may have left the old version
            _report_problems({**plan.problems, **plan.skipped}, report, reporter)
            report.chunks = previous.chunks
            report.seconds = time.perf_counter() - began
            return report

        chunker = Chunker(load_tokenizer(config.embedder), config.chunk_tokens, config.chunk_overlap, config.chunk_by)
        new_chunks, records = _load_and_chunk(plan, previous if reusable else None, chunker, loader, reporter)
        _report_problems({**plan.problems, **plan.skipped}, report, reporter)
        report.new_or_changed = len(new_chunks)
        chunks, vector_rows, old_vectors = _assemble(collection, plan, new_chunks, records)
        if not chunks:
            raise StoreError(
                f"no text found to index in {', '.join(map(str, paths))} "
                f"({len(report.skipped)} skipped, {len(report.failed)} unreadable)"
            )
        vectors = _vectors(chunks, vector_rows, old_vectors, config, settings["embed_runtime"], reporter, report)
        _write_version(collection, config, settings, records, plan.problems, chunks, vectors, previous)
        report.chunks = len(chunks)
        report.written = True
        report.seconds = time.perf_counter() - began
        return report


def _report_problems(problems: dict[str, dict], report: BuildReport, reporter: BuildReporter) -> None:
    for record in sorted(problems.values(), key=lambda r: r["source"]):
        (report.failed if record["failed"] else report.skipped).append((record["source"], record["reason"]))
        reporter.problem(record["source"], record["reason"], failed=record["failed"])


def _write_version(collection: Collection, config: IndexConfig, settings: dict, records: dict, problems: dict,
                   chunks: list[Chunk], vectors: np.ndarray, previous: CollectionManifest | None) -> None:
    terms = Terms(stemming=config.stemming, stopwords=config.stopwords, cjk=config.cjk)
    sparse = build_sparse(terms.split_many([search_text(c) for c in chunks]), config.sparse_backend,
                          config.bm25_variant, config.bm25_k1, config.bm25_b)
    dense = DenseIndex.build(vectors, config.dense_index, config.hnsw_m)

    version = collection.new_version_dir()
    store.write_chunks(version / store.CHUNKS, chunks)
    store.write_names(version / store.NAMES, chunks)
    fault_point("index:chunks-written")
    dense.save(version / store.DENSE)
    fault_point("index:dense-written")
    sparse.save(version / store.SPARSE)
    fault_point("index:sparse-written")
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    CollectionManifest(name=collection.name, created=previous.created if previous else now, updated=now,
                       embedder=settings["embedder"], dim=int(vectors.shape[1]), settings=settings,
                       index_settings=index_settings(config, dense.params()), files=records, problems=problems,
                       versions=_versions(),
                       chunks=len(chunks)).write(version)
    fault_point("index:manifest-written")
    collection.publish(version)
