"""Writing files and folders so that a crash never leaves half of one: write beside the target,
flush to disk, then rename over it. Every writer of the project uses these.

    >>> import tempfile; project = Path(tempfile.mkdtemp())
    >>> atomic_write_json(project / "run.json", {"status": "running"})
    >>> with staged_folder(project / "adapter") as staging:   # the old adapter/ stays whole until the block ends
    ...     _ = (staging / "adapter_config.json").write_text("{}")
    >>> sorted(p.name for p in project.iterdir())
    ['adapter', 'run.json']
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from core.faults import fault_point


def atomic_write_text(path: Path, text: str, fault: str | None = None) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    if fault:
        fault_point(fault)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data, ascii_only: bool = False) -> None:
    """`data` as indented JSON, atomically; `ascii_only` escapes non-ASCII (paths that are not UTF-8)."""
    atomic_write_text(path, json.dumps(data, indent=1, ensure_ascii=ascii_only, default=str))


def write_jsonl(path: Path, records: Iterable) -> Path:
    """`records` as JSON Lines (UTF-8, one object a line), written atomically: a killed run never
    leaves half a file behind.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> write_jsonl(folder / "qa.jsonl", [{"q": "Port?"}, {"q": "端口？"}]).read_text(encoding="utf-8").splitlines()
    ['{"q": "Port?"}', '{"q": "端口？"}']
    """
    path = Path(path)
    atomic_write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return path


def replace_folder(staging: Path, target: Path) -> None:
    """Put the finished folder `staging` in the place of `target`: the old `target`, if any, is
    renamed away first and deleted after, so a reader finds the old or the new one, whole."""
    if target.exists():
        old = target.with_name(f".old-{target.name}-{secrets.token_hex(3)}")
        os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, target)


@contextlib.contextmanager
def staged_folder(target: Path, keep_existing: bool = False) -> Iterator[Path]:
    """A fresh folder beside `target` to write into; when the block ends without an error it
    replaces `target` (replace_folder), else it is removed and `target` is untouched. With
    `keep_existing`, a `target` that appeared meanwhile (another process did the same work) wins."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; outputs are not secret
    try:
        yield staging
        if not (keep_existing and target.exists()):
            replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = ["atomic_write_json", "atomic_write_text", "replace_folder", "staged_folder", "write_jsonl"]
