"""A collection on disk: versioned folders and a CURRENT pointer swapped atomically.

    <project>/collections/<name>/
        CURRENT               name of the live version folder (replaced with os.replace)
        v-20261123-101500-ab12/
            manifest.json     models, parameters, file hashes, counts, library versions
            chunks.jsonl      one chunk per line; line i is row i of both indexes
            dense.faiss       FAISS index (its vectors are reused on incremental builds)
            sparse/           bm25s arrays (.npy) + JSON, or rank-bm25 terms as JSON

A build writes a whole new version folder and only then points CURRENT at it, so a build
killed at any moment leaves the previous version usable. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from core.faults import fault_point
from core.files import atomic_write_text
from .names import spelled_acronyms, unsettled_characters
from .types import Chunk
from core.errors import UserError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
DENSE = "dense.faiss"
SPARSE = "sparse"
CURRENT = "CURRENT"
NAMES = "names.json"
"""What a question's names are checked against, found when the collection is built: each title
(a chunk's file path with its headings: Retriever.titled), the acronyms its capitalised words
spell out and the rows whose BM25 terms may not be a name's (Retriever.mentions). Without it (a
collection built before it) a Retriever reads every chunk for these (bench/results/scale_1m.md)."""


class StoreError(UserError):
    """A collection is missing, locked, or was written by an incompatible version."""


NAME_RULE = "1 to 64 letters (a-z, A-Z), digits, - and _, starting with a letter or a digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a collection or a run (a folder in the project), or None when it can.

    >>> name_problem("handbook-2"), name_problem("-rf") is not None, name_problem("a b") is not None
    (None, True, True)
    """
    if isinstance(name, str) and _NAME.fullmatch(name):
        return None
    return f"invalid name {name!r}: use {NAME_RULE}"


def write_chunks(path: Path, chunks: list[Chunk]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")


def titles_of(chunks: Sequence[Chunk]) -> tuple[str, ...]:
    """Each distinct title of `chunks`: its file path and its headings ('docs/k2.md Brewmaster K2 > Care')."""
    return tuple(dict.fromkeys(f"{chunk.source} {chunk.heading()}" for chunk in chunks))


def acronyms_of(chunks: Sequence[Chunk]) -> frozenset[str]:
    """The acronyms the texts and headings of `chunks` spell out (names.spelled_acronyms)."""
    found: set[str] = set()
    for chunk in chunks:
        found.update(spelled_acronyms(chunk.text), spelled_acronyms(chunk.heading()))
    return frozenset(found)


def unsettled_rows_of(chunks: Sequence[Chunk]) -> np.ndarray:
    """The rows of `chunks` whose text or heading holds a character beside which its BM25 terms may
    not be a name's (names.unsettled_characters): Retriever.mentions reads them whatever their terms."""
    unsettled = unsettled_characters()
    return np.array([row for row, chunk in enumerate(chunks)
                     if unsettled.search(chunk.text) or unsettled.search(chunk.heading())], dtype=np.int64)


@dataclass(frozen=True)
class SavedNames:
    """What a build found of the names in its chunks (NAMES)."""

    titles: tuple[str, ...]
    acronyms: frozenset[str]
    unsettled_rows: np.ndarray


def write_names(path: Path, chunks: Sequence[Chunk]) -> None:
    path.write_text(json.dumps({"titles": titles_of(chunks), "acronyms": sorted(acronyms_of(chunks)),
                                "unsettled_rows": unsettled_rows_of(chunks).tolist()}, ensure_ascii=False),
                    encoding="utf-8")


def read_names(path: Path, rows: int) -> SavedNames | None:
    """What write_names wrote for a version of `rows` chunks; None where there is no such file or
    it is not one (then a Retriever reads the chunks instead)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        titles, acronyms, unsettled = saved["titles"], saved["acronyms"], saved["unsettled_rows"]
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None
    if not (all(isinstance(value, list) and all(isinstance(item, str) for item in value) for value in (titles, acronyms))
            and isinstance(unsettled, list) and all(type(row) is int and 0 <= row < rows for row in unsettled)):
        return None
    return SavedNames(tuple(titles), frozenset(acronyms), np.array(unsettled, dtype=np.int64))


def read_chunks(path: Path) -> list[Chunk]:
    with open(path, encoding="utf-8") as handle:
        return [Chunk.from_json(json.loads(line)) for line in handle if line.strip()]


def line_starts(data: bytes | mmap.mmap, block: int = 1 << 26) -> np.ndarray:
    """Offsets where each line of `data` starts, and one past the end, scanned in 64 MB blocks.

    >>> line_starts(b'{"a": 1}\\n{"b": 2}\\n').tolist()
    [0, 9, 18]
    """
    size = len(data)
    view = np.frombuffer(data, dtype=np.uint8) if size else np.zeros(0, dtype=np.uint8)
    ends = [np.flatnonzero(view[i : i + block] == 10) + (i + 1) for i in range(0, size, block)]
    del view  # a live view of an mmap keeps it from closing
    starts = np.concatenate([[0], *ends]).astype(np.int64)
    return starts if starts[-1] == size else np.append(starts, size)


class ChunkFile(Sequence[Chunk]):
    """chunks.jsonl as a read-only list whose rows are parsed when asked for, from a map of the file.

    Holding a million chunks as objects costs gigabytes and seconds to load; this holds the file's
    line offsets (8 bytes a chunk) and lets the page cache keep the text. Same rows as read_chunks.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        starts = line_starts(self._map)
        # write_chunks never writes blank lines, but a hand-edited file may hold some: skip them as read_chunks does
        keep = np.flatnonzero(np.diff(starts) > 1)
        self._starts, self._ends = starts[keep], starts[keep + 1]

    def __len__(self) -> int:
        return len(self._starts)

    def _row(self, i: int) -> Chunk:
        return Chunk.from_json(json.loads(self._map[self._starts[i] : self._ends[i]]))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._row(j) for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"chunk row {i} out of range ({len(self)} chunks)")
        return self._row(i % len(self))

    def __iter__(self) -> Iterator[Chunk]:
        return (self._row(i) for i in range(len(self)))


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    path: Path
    manifest: CollectionManifest
    size_bytes: int


@dataclass(frozen=True)
class CollectionManifest:
    """What a collection version holds and how it was built: manifest.json, read by retrieval, the
    CLI and the TUI. `files` and `problems` are keyed by each file's absolute path."""

    name: str
    created: str
    updated: str
    embedder: str
    dim: int
    settings: dict
    """What decides the chunks and vectors (embedder, chunk sizes, loader options)."""
    index_settings: dict
    """BM25 and FAISS settings: {"sparse": {...}, "dense": {...}}."""
    files: dict
    """Indexed files: {key: {source, sha256, size, mtime_ns, chunks, first_row}}."""
    problems: dict
    """Files skipped or unreadable: {key: {source, sha256, size, mtime_ns, reason, failed}}."""
    versions: dict
    chunks: int
    format_version: int = FORMAT_VERSION

    @property
    def sparse(self) -> dict:
        return self.index_settings["sparse"]

    def to_json(self) -> dict:
        return {"format_version": self.format_version, "name": self.name, "created": self.created,
                "updated": self.updated, "embedder": {"name": self.embedder, "dim": self.dim},
                "settings": self.settings, "index_settings": self.index_settings,
                "counts": {"files": len(self.files), "chunks": self.chunks}, "files": self.files,
                "problems": self.problems, "versions": self.versions}

    @classmethod
    def from_json(cls, data: dict, where: Path | str = "manifest.json") -> "CollectionManifest":
        found = data.get("format_version")
        if not isinstance(found, int) or found > FORMAT_VERSION:
            raise StoreError(
                f"{where}: index format {found} is newer than this assistant reads ({FORMAT_VERSION}); "
                "upgrade assistant or rebuild the collection with --rebuild")
        try:
            return cls(name=data["name"], created=data.get("created", ""), updated=data.get("updated", ""),
                       embedder=data["embedder"]["name"], dim=int(data["embedder"]["dim"]), settings=data["settings"],
                       index_settings=data["index_settings"], files=data["files"], problems=data.get("problems", {}),
                       versions=data.get("versions", {}), chunks=int(data["counts"]["chunks"]), format_version=found)
        except (KeyError, TypeError, ValueError) as err:
            raise StoreError(f"{where}: damaged manifest ({type(err).__name__}: {err}); rebuild with --rebuild") from None

    def write(self, version: Path) -> None:
        # ASCII escapes: file keys are paths, and a name that is not UTF-8 must come back byte for byte
        atomic_write_text(version / MANIFEST, json.dumps(self.to_json(), indent=1))


class Collection:
    """One named collection folder; `version_dir()` is the live version, if any."""

    def __init__(self, root: Path, name: str) -> None:
        problem = name_problem(name)
        if problem:
            raise StoreError(f"collection: {problem}")
        self.name = name
        self.path = root / "collections" / name

    def exists(self) -> bool:
        return (self.path / CURRENT).is_file()

    def published(self) -> tuple[str, int] | None:
        """Which version is live, cheaply (the pointer's text and mtime): a long-running reader (a
        server, a chat) compares it before each question and reopens a rebuilt collection."""
        pointer = self.path / CURRENT
        try:
            return pointer.read_text(encoding="utf-8").strip(), pointer.stat().st_mtime_ns
        except OSError:
            return None

    def version_dir(self) -> Path:
        pointer = self.path / CURRENT
        if not pointer.is_file():
            raise StoreError(
                f"no collection named {self.name!r} under {self.path.parent}; "
                f"build it with: assistant index PATH --collection {self.name}"
            )
        version = self.path / pointer.read_text(encoding="utf-8").strip()
        if not (version / MANIFEST).is_file():
            raise StoreError(f"{version}: manifest missing; rebuild with: assistant index PATH --rebuild")
        return version

    def manifest(self) -> CollectionManifest:
        path = self.version_dir() / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise StoreError(f"{path}: unreadable manifest ({err}); rebuild with --rebuild") from None
        return CollectionManifest.from_json(data, path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Only one build of a collection at a time (a second one fails at once, not later)."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as err:
                raise StoreError(f"collection {self.name!r} is being built by another process") from err
            yield

    def new_version_dir(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        version = self.path / f"v-{stamp}-{secrets.token_hex(3)}"
        version.mkdir(parents=True)
        return version

    def publish(self, version: Path) -> None:
        """Make `version` live, then remove every other version folder (old or abandoned)."""
        _fsync_tree(version)
        fault_point("publish:fsynced")
        atomic_write_text(self.path / CURRENT, version.name + "\n", fault="publish:current-temp-written")
        fault_point("publish:current-swapped")
        self.remove_stale()

    def remove_stale(self) -> None:
        """Remove every version folder but the live one, and pointer files left half-written: what a
        build killed before or while cleaning up leaves behind."""
        live = self.version_dir().name
        for other in self.path.glob("v-*"):
            if other.name != live and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
                fault_point("publish:cleaning")
        for stale in self.path.glob(f".{CURRENT}.*.tmp"):
            stale.unlink(missing_ok=True)

    def remove(self) -> None:
        if not self.path.exists():
            raise StoreError(f"no collection named {self.name!r}")
        shutil.rmtree(self.path)


def list_collections(root: Path) -> list[CollectionInfo]:
    """The collections under `root` that can be opened, sorted by name (broken ones left out)."""
    out = []
    for folder in sorted((root / "collections").glob("*")):
        if name_problem(folder.name):
            continue  # not made by assistant
        collection = Collection(root, folder.name)
        if not collection.exists():
            continue
        try:
            manifest = collection.manifest()
            version = collection.version_dir()
        except StoreError:
            continue
        size = sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
        out.append(CollectionInfo(folder.name, folder, manifest, size))
    return out


def built_at(info: CollectionInfo) -> tuple[float, int]:
    """When `info`'s index was last built or updated, as a sort key: the manifest's "updated"
    timestamp in seconds, then the CURRENT pointer's mtime (the manifest only counts whole seconds).

    A manifest without a readable "updated" (or "created") sorts before every dated one.
    """
    stamp = info.manifest.updated or info.manifest.created
    try:
        seconds = datetime.fromisoformat(stamp).timestamp()
    except (TypeError, ValueError):
        seconds = float("-inf")
    try:
        published = (info.path / CURRENT).stat().st_mtime_ns
    except OSError:
        published = 0
    return seconds, published


def pick_collection(collections: Sequence[CollectionInfo], wanted: str | None = None) -> str | None:
    """The collection to open: `wanted` when it is among `collections`, else the one built or
    updated most recently; None when there are none.

    >>> from types import SimpleNamespace
    >>> def info(name, updated):  # only what is read here: the name and the manifest's dates
    ...     return CollectionInfo(name, Path(name), SimpleNamespace(updated=updated, created=""), 0)
    >>> infos = [info("handbook", "2026-01-05T10:00:00"), info("notes", "2026-02-01T09:00:00")]
    >>> pick_collection(infos, "handbook"), pick_collection(infos, "default"), pick_collection([])
    ('handbook', 'notes', None)
    """
    names = [info.name for info in collections]
    if wanted is not None and wanted in names:
        return wanted
    return max(collections, key=built_at).name if collections else None
