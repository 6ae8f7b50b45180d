"""The files under the paths to index, each entry's kind known before anything opens it.

    >>> import tempfile; docs = Path(tempfile.mkdtemp()) / "docs"; docs.mkdir()
    >>> _ = (docs / "guide.md").write_text("# Guide\\n")
    >>> (docs / "loop").symlink_to("loop")
    >>> [entry for entry in walk([docs])]                                # doctest: +NORMALIZE_WHITESPACE
    [Found(path=...Path('.../docs/guide.md'), size=8, mtime_ns=...),
     Skipped(path=...Path('.../docs/loop'), reason='symbolic link loop')]

Only regular files are read. A symbolic link is followed once, to a regular file, and by default
only when that file lies inside the folders being indexed (`symlinks`: "inside", "anywhere" or
"skip"); a link to a folder is never followed, so a loop cannot start. FIFOs, sockets and devices,
dangling links, loops and files over the size limit are skipped with a reason, from one `stat`:
nothing is read or hashed before it is known to be a regular file of a sane size.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .config import SYMLINK_POLICIES

SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages"}


@dataclass(frozen=True)
class Found:
    """A regular file (or a link to one) to index."""

    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """An entry that is not read, and why."""

    path: Path
    reason: str


def kind_of(mode: int) -> str:
    """The kind of a file by its mode, in words: 'FIFO', 'socket', 'device', 'folder', 'file'."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _link_problem(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "symbolic link loop"
    if err.errno == errno.ENOENT:
        return "dangling symbolic link (its target is missing)"
    return f"symbolic link: {err.strerror or err}"


def _inside(target: Path, roots: list[Path]) -> bool:
    return any(target == root or root in target.parents for root in roots)


def _entry(path: Path, roots: list[Path], symlinks: str, max_bytes: int) -> Found | Skipped | None:
    """One entry that is not a folder to descend into; None for a folder."""
    try:
        info = os.lstat(path)
    except OSError as err:
        return Skipped(path, f"cannot read: {err.strerror or err}")
    if stat.S_ISLNK(info.st_mode):
        if symlinks == "skip":
            return Skipped(path, 'symbolic link (not followed: [index] symlinks = "skip")')
        try:
            info = os.stat(path)  # follows the whole chain once; a loop fails here, not later
        except OSError as err:
            return Skipped(path, _link_problem(err))
        kind = kind_of(info.st_mode)
        if kind != "file":
            return Skipped(path, f"symbolic link to a {kind} (not followed)")
        if symlinks == "inside" and not _inside(Path(os.path.realpath(path)), roots):
            return Skipped(path, 'symbolic link out of the indexed folders (follow it with [index] symlinks = "anywhere")')
    elif stat.S_ISDIR(info.st_mode):
        return None
    elif not stat.S_ISREG(info.st_mode):
        return Skipped(path, f"not a regular file (a {kind_of(info.st_mode)})")
    if info.st_size > max_bytes:
        return Skipped(path, f"larger than {max_bytes / 1e6:g} MB")
    return Found(path, info.st_size, info.st_mtime_ns)


def walk(paths: Iterable[Path], symlinks: str = "inside", max_bytes: int = 50_000_000) -> Iterator[Found | Skipped]:
    """Every file under `paths` (files named directly, folders walked in sorted order, hidden
    entries and SKIP_DIRS left out), as Found or Skipped; a path named directly is followed if
    it is a link, since the user named it."""
    if symlinks not in SYMLINK_POLICIES:
        raise ValueError(f"symlinks must be one of {', '.join(SYMLINK_POLICIES)}, not {symlinks!r}")
    paths = list(paths)
    roots = [Path(os.path.realpath(p)) for p in paths]
    for path in paths:
        if not path.is_dir():  # a file named by the user: followed even if it is a link
            named = _entry(path, roots, "anywhere" if symlinks != "skip" else symlinks, max_bytes)
            if named is not None:
                yield named
            continue
        stack = [path]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as scan:
                    names = sorted(entry.name for entry in scan)
            except OSError as err:
                yield Skipped(folder, f"cannot list folder: {err.strerror or err}")
                continue
            subfolders = []
            for name in names:
                if name.startswith("."):
                    continue
                child = folder / name
                entry = _entry(child, roots, symlinks, max_bytes)
                if entry is None:
                    if name not in SKIP_DIRS:
                        subfolders.append(child)
                else:
                    yield entry
            stack.extend(reversed(subfolders))  # depth first, in sorted order


__all__ = ["Found", "SKIP_DIRS", "SYMLINK_POLICIES", "Skipped", "kind_of", "walk"]
